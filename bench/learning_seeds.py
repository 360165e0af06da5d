"""The learning benchmark over training seeds: several `bench/learning.py --out` files, one table.

    python bench/learning.py --game mspacman ... --seed 1 --out /tmp/learning-1.json   # and 2, 3
    python bench/learning_seeds.py /tmp/learning-1.json /tmp/learning-2.json /tmp/learning-3.json

Each row is one method (BC on the demonstrations, DAgger, BC on as many labels, ...): its mean
score in every run, their mean with a 95% interval over the runs, the pooled median of all their
games, the mean human-normalized where the game has published references (Ms. Pac-Man), and the
mean's ratio to the expert's (the mean of the runs' expert means). Then DAgger's rounds, run
beside run (the rounds' own few evaluation games, so rough), and each run's time (training and
labelling parts; evaluations make up the rest). Last, DAgger less BC on as many labels, run by
run (each run scores both on the same evaluation games), with its mean and interval over the
runs: the issue's "DAgger above BC at the same label count". Runs made with `--trainings K`
add a row for each final data set's mean over its K trainings, and the same difference of those
means, which the training seed's spread does not swamp as it does a single training's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.evaluate import Scores, human_normalized  # noqa: E402

# learning.py names its rows with their label counts; these prefixes name the method.
METHODS = (
    ("random agent", "random agent"),
    ("BC on the demonstrations", "BC, "),
    ("DAgger", "DAgger, "),
    ("BC from scratch on DAgger's data", "BC from scratch on DAgger's data"),
    ("BC, same labels", "BC, same labels"),
    # learning.py --trainings K: each final data set's mean over K trainings
    ("DAgger's data, mean of its trainings", "DAgger's data, mean of"),
    ("BC-equal's data, mean of its trainings", "BC-equal's data, mean of"),
)


def method_of(row_name: str) -> str:
    for method, prefix in reversed(METHODS):  # "BC, same labels" before the shorter "BC, "
        if row_name.startswith(prefix):
            return method
    raise ValueError(f"unknown row {row_name!r}")


def interval(values: list[float]) -> float:
    """Half-width of the 95% interval of the values' mean (Student's t, as every score here)."""
    return Scores("runs", list(values), []).ci95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="bench/learning.py --out files, one per training seed")
    args = parser.parse_args()
    runs = []
    for path in args.runs:
        try:
            runs.append(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:
            parser.error(f"{path}: not a bench/learning.py --out file ({exc})")
    games = {run["game"] for run in runs}
    if len(games) != 1:
        parser.error(f"the runs are of different games ({', '.join(sorted(games))}); give one game's runs")
    by_method: dict[str, list[dict]] = {}
    for run in runs:
        for row in run["rows"]:
            by_method.setdefault(method_of(row["method"]), []).append(row)
    expert = float(np.mean([run["expert"]["mean"] for run in runs]))
    seeds = ", ".join(run["args"].get("seed", "?") for run in runs)

    game = games.pop()
    referenced = human_normalized(game, 0.0) is not None  # a human-normalized column only where it means something
    cell = lambda score: f" {human_normalized(game, score):.1f}% |" if referenced else ""  # noqa: E731
    print(f"| {game}, seeds {seeds} | labels | mean of each run | mean ± 95% over runs | median, all games |"
          + (" human-normalized |" if referenced else "") + " vs expert |")
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if referenced else "") + " ---: |")
    experts = " / ".join(f"{run['expert']['mean']:,.1f}" for run in runs)
    print(f"| expert's demonstrations | | {experts} | {expert:,.1f} | |{cell(expert)} 1.00 |")
    for method, _ in METHODS:
        rows = by_method.get(method)
        if not rows:
            continue
        means = [row["mean"] for row in rows]
        mean = float(np.mean(means))
        labels = " / ".join(f"{row['labels']:,}" for row in rows) if any(row["labels"] for row in rows) else "0"
        pooled = float(np.median([s for row in rows for s in row["scores"]]))
        print(f"| {method} | {labels} | {' / '.join(f'{m:,.1f}' for m in means)} | **{mean:,.1f}** ± "
              f"{interval(means):,.1f} | {pooled:,.1f} |{cell(mean)} {mean / expert:.2f} |")

    if all(run["rounds"] for run in runs):
        print(f"\n| round | beta | +labels, each run | val acc, each run | score over {runs[0]['rounds'][0]['episodes']} "
              "evaluation games, each run |")
        print("| ---: | ---: | ---: | ---: | ---: |")
        for index in range(min(len(run["rounds"]) for run in runs)):
            rounds = [run["rounds"][index] for run in runs]
            each = lambda key, form: " / ".join(format(r[key], form) for r in rounds)  # noqa: E731
            print(f"| {rounds[0]['round']} | {rounds[0]['beta']:.3g} | {each('new_labels', ',')} | "
                  f"{each('val_accuracy', '.1%')} | {each('score_mean', ',.1f')} |")

    print("\ntime, each run: " + "; ".join(
        f"seed {run['args'].get('seed', '?')} {sum(run['seconds'].values()) / 60:.0f} min ("
        + ", ".join(f"{part} {seconds:.0f} s" for part, seconds in run["seconds"].items() if not part.startswith("eval "))
        + ")" for run in runs))

    for what, (first, second) in {
        "DAgger less BC on as many labels": ("DAgger", "BC, same labels"),
        "DAgger's data less BC-equal's, each the mean of its trainings": (
            "DAgger's data, mean of its trainings", "BC-equal's data, mean of its trainings"),
    }.items():
        dagger, equal = by_method.get(first, []), by_method.get(second, [])
        if dagger and len(dagger) == len(equal) == len(runs):
            gaps = [d["mean"] - e["mean"] for d, e in zip(dagger, equal)]
            print(f"\n{what}, run by run: {' / '.join(f'{g:+,.1f}' for g in gaps)}; "
                  f"mean {np.mean(gaps):+,.1f} ± {interval(gaps):,.1f} over {len(gaps)} run{'s' * (len(gaps) > 1)}")


if __name__ == "__main__":
    main()
