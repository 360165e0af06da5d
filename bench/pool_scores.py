"""Pool evaluations of one policy on separate games into one mean and 95% interval.

    python bench/pool_scores.py --reference 3574 "DAgger=1765.9,160.0,100" "DAgger=1855.9,111.9,200"

Each `NAME=MEAN,CI95,N` is one evaluation as a bench prints it (mean, half-width of its 95%
interval, episodes). Rows with the same NAME are pooled: the pooled mean, and the interval from
the pooled variance (each row's standard deviation recovered from its interval with the same
Student's t the evaluator uses). Exact for the mean; for the interval, up to the rounding of the
printed numbers. Use it only for evaluations on games apart from each other (different seeds
at least eight apart: eight environments start from consecutive seeds).

    python bench/pool_scores.py "DAgger=239.7,30.8,100" "BC=202.8,27.4,100" --difference DAgger BC

`--difference A B` also prints A's pooled mean less B's with the 95% interval of that difference
(Welch's: the two policies played different games, each with its own spread). An interval that
excludes 0 says A is above (or below) B, where two overlapping intervals of the means say little.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.evaluate import t95  # noqa: E402


def standard_error(ci: float, n: int) -> float:
    """The standard error of a mean over n games, from the half-width of its 95% interval."""
    return ci / t95(n - 1)


def pool(rows: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """(mean, ci95, n) of the games of all `rows` together."""
    n = sum(count for _, _, count in rows)
    mean = sum(m * count for m, _, count in rows) / n
    squares = sum((count - 1) * count * standard_error(ci, count) ** 2 + count * (m - mean) ** 2
                  for m, ci, count in rows)
    return mean, t95(n - 1) * math.sqrt(squares / (n - 1)) / math.sqrt(n), n


def difference(a: tuple[float, float, int], b: tuple[float, float, int]) -> tuple[float, float]:
    """(mean of a less mean of b, half-width of its 95% interval) for two pooled (mean, ci95, n),
    by Welch's t: unequal variances, degrees of freedom by Welch-Satterthwaite."""
    (mean_a, ci_a, n_a), (mean_b, ci_b, n_b) = a, b
    var_a, var_b = standard_error(ci_a, n_a) ** 2, standard_error(ci_b, n_b) ** 2
    df = (var_a + var_b) ** 2 / (var_a ** 2 / (n_a - 1) + var_b ** 2 / (n_b - 1))
    return mean_a - mean_b, t95(max(1, math.floor(df))) * math.sqrt(var_a + var_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rows", nargs="+", metavar="NAME=MEAN,CI95,N")
    parser.add_argument("--reference", type=float, default=None, help="the expert's score, for the share column")
    parser.add_argument("--difference", nargs=2, action="append", default=[], metavar=("A", "B"),
                        help="also print A's mean less B's with its 95%% interval (repeatable)")
    args = parser.parse_args()
    named: dict[str, list[tuple[float, float, int]]] = {}
    for row in args.rows:
        try:
            name, values = row.split("=", 1)
            mean, ci, count = values.split(",")
            named.setdefault(name, []).append((float(mean), float(ci), int(count)))
        except ValueError:
            parser.error(f"{row!r} is not NAME=MEAN,CI95,N (as in 'DAgger=1765.9,160.0,100')")
        if int(count) < 2:
            parser.error(f"{row!r}: an interval needs at least 2 episodes")
    for pair in args.difference:
        if unknown := [name for name in pair if name not in named]:
            parser.error(f"--difference {' '.join(pair)}: no rows named {', '.join(unknown)}; "
                         f"the rows name {', '.join(named)}")
    print("| policy | episodes | mean ± 95% | low | high |" + (" share |" if args.reference else ""))
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if args.reference else ""))
    for name, rows in named.items():
        mean, ci, n = pool(rows)
        share = f" {mean / args.reference:.3f} |" if args.reference else ""
        print(f"| {name} | {n} | {mean:,.1f} ± {ci:,.1f} | {mean - ci:,.1f} | {mean + ci:,.1f} |{share}")
    for a, b in args.difference:
        diff, ci = difference(pool(named[a]), pool(named[b]))
        print(f"\n{a} less {b}: {diff:+,.1f} ± {ci:,.1f} (95% interval {diff - ci:+,.1f} to {diff + ci:+,.1f})")


if __name__ == "__main__":
    main()
