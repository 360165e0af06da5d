"""Scores of trained policies: more games on the same evaluation seed, and evaluations pooled.

    python -m bench.scores compare --game mspacman --episodes 200 --seed 1008 --reference 3574 \\
        "BC=runs/ms2000/mspacman/models/64-1/avg.pt" "DAgger=runs/ms64-s1/dagger-run/mspacman/models/dagger-round-005/avg.pt"
    python -m bench.scores pool --reference 3574 "DAgger=1765.9,160.0,100" "DAgger=1855.9,111.9,200" \\
        "BC=1571.5,130.4,100" "BC=1603.2,102.3,200" --difference DAgger BC

`compare` scores each `NAME=CHECKPOINT` with the eval protocol (sticky actions 0.25, up to 30
no-op starts, full games) over `--episodes` games from one evaluation seed, sampling at
`--temperature`, then the random agent on the same games, and prints a markdown table;
`--reference` (the expert's score) adds each policy's share of it. Eight environments start from
consecutive seeds, so games apart from a run's need a seed at least eight away from its seed.

`pool` pools evaluations of one policy on separate games: each `NAME=MEAN,CI95,N` is one
evaluation as printed (mean, half-width of its 95% interval, games); rows with the same NAME
give the pooled mean and the interval from the pooled variance (each row's standard deviation
recovered from its interval with the evaluator's Student's t): exact for the mean, up to the
printed rounding for the interval. `--difference A B` prints A's pooled mean less B's with the
95% interval of the difference by Welch's t (the two played different games, each with its own
spread): an interval that excludes 0 says A is above (or below) B.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from pathlib import Path

from agent.evaluate import EvalConfig, Scores, evaluate_checkpoint, random_scores, t95
from agent.policy import load_checkpoint
from recorder.games import resolve_game


def standard_error(ci: float, n: int) -> float:
    """The standard error of a mean over n games, from the half-width of its 95% interval."""
    return ci / t95(n - 1)


def pool(rows: list[tuple[float, float, int]]) -> tuple[float, float, int]:
    """(mean, ci95, n) of the games of all `rows` (mean, ci95, n) together."""
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


def compare(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    named = []
    for item in args.policies:
        name, sep, path = item.partition("=")
        if not sep or not Path(path).is_file():
            parser.error(f"{item!r}: expected NAME=CHECKPOINT naming an existing checkpoint file")
        named.append((name, Path(path)))
    game = resolve_game(args.game)
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{args.episodes} eval episodes from seed {args.seed} at T={args.temperature:g}", flush=True)
    rows: list[tuple[str, Scores, float]] = []
    config = EvalConfig(episodes=args.episodes, temperature=args.temperature, seed=args.seed, random_baseline=False)
    for name, path in named:
        start = time.perf_counter()
        scores = evaluate_checkpoint(path, game, config, save=False)[0].agent
        rows.append((name, scores, time.perf_counter() - start))
        print(f"  {name}: {scores.mean:.1f} ± {scores.ci95:.1f} ({rows[-1][2]:.0f} s)", flush=True)
    start = time.perf_counter()
    random = random_scores(game, load_checkpoint(named[0][1], game).obs, config, seed=args.seed)
    rows.append(("random agent", random, time.perf_counter() - start))

    share = "" if args.reference is None else f" of {args.reference:g} |"
    print(f"\n| policy | mean ± 95% | median | min | max |{share} eval s |")
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if share else "") + " ---: |")
    for name, scores, seconds in rows:
        ratio = "" if args.reference is None else f" {scores.mean / args.reference:.2f} |"
        print(f"| {name} | {scores.mean:.1f} ± {scores.ci95:.1f} | {scores.median:.1f} | {scores.min:.0f} | "
              f"{scores.max:.0f} |{ratio} {seconds:.0f} |")


def pooled(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.scores", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    one = commands.add_parser("compare", help="score checkpoints side by side on the same games")
    one.add_argument("policies", nargs="+", metavar="NAME=CHECKPOINT")
    one.add_argument("--game", default="pacman")
    one.add_argument("--episodes", type=int, default=100)
    one.add_argument("--temperature", type=float, default=0.25, help="policy sampling temperature")
    one.add_argument("--seed", type=int, default=7, help="evaluation seed")
    one.add_argument("--reference", type=float, default=None, help="the expert's score, for the share column")
    two = commands.add_parser("pool", help="pool evaluations of one policy on separate games")
    two.add_argument("rows", nargs="+", metavar="NAME=MEAN,CI95,N")
    two.add_argument("--reference", type=float, default=None, help="the expert's score, for the share column")
    two.add_argument("--difference", nargs=2, action="append", default=[], metavar=("A", "B"),
                     help="also print A's mean less B's with its 95%% interval (repeatable)")
    args = parser.parse_args()
    (compare if args.command == "compare" else pooled)(commands.choices[args.command], args)


if __name__ == "__main__":
    main()
