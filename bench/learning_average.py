"""A bench/learning.py run's final data sets trained again with averaged weights: last against averaged.

    python bench/learning_average.py --average 5 /tmp/msK-s1.json /tmp/msK-s2.json /tmp/msK-s3.json

Each argument is the `--out` JSON of a bench/learning.py run whose data is still in its
`--root` (rounds retrained from scratch, each training keeping its last epoch). For DAgger's
final data set (demonstrations and every round) and BC's on as many demonstration labels, the
run's own training (DAgger's last round, BC-equal's training; with `--trainings K`, up to K of
each) is trained again with exactly its settings, split and seed, now also averaging the weights
over about the last `--average` epochs (`TrainConfig.average`). Averaging only reads the
weights, so the retraining ends on the run's last weights (checked, and said when not). Both
the last weights and the averaged ones are scored on the run's own evaluation games (its
`--eval-episodes`, evaluation seed, frame cap and temperature) side by side here.

Prints one row per run and data set, then over the runs: each kind of weights' mean, the
averaged less the last, and DAgger's data less BC-equal's under each.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.evaluate import EvalConfig, evaluate_checkpoint  # noqa: E402
from agent.policy import read_checkpoint  # noqa: E402
from agent.train import AVG_NAME, LAST_NAME, TrainConfig, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.store import GameStore  # noqa: E402

import checkpoints  # noqa: E402  (bench/, beside this script)
import planner_demos  # noqa: E402


def trainings(run: dict, root: Path, game: str, count: int) -> dict[str, list[tuple[GameStore, Path]]]:
    """Per data set, (its store, the last.pt of each of its first `count` trainings) in the run."""
    dagger, equal = GameStore(root / "dagger-run", game), GameStore(root / "bc-same-labels", game)
    seed, kept = int(run["args"]["seed"]), int(run["args"].get("trainings", 1))
    first_dagger = Path(run["rounds"][-1]["checkpoint"])
    if first_dagger.name != LAST_NAME or run["args"]["retrain"] != "scratch":
        raise SystemExit(f"{root}: its rounds must be retrained from scratch and keep their last epoch "
                         f"(--retrain scratch --keep last), to be trained again here")
    sets = {"DAgger's data": (dagger, [first_dagger]), "BC-equal's data": (equal, [equal.models / LAST_NAME])}
    for k in range(1, min(count, kept)):
        for store, paths in sets.values():
            paths.append(store.models / f"training-seed-{seed + 100 * k}" / LAST_NAME)
    return {name: [(store, path) for path in paths[:count]] for name, (store, paths) in sets.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, metavar="RUN.json")
    parser.add_argument("--average", type=float, default=5.0, help="averaging horizon, in epochs")
    parser.add_argument("--trainings", type=int, default=1, help="trainings of each data set to take, at most")
    args = parser.parse_args()
    runs = [json.loads(path.read_text()) for path in args.runs]
    print(f"{len(runs)} runs; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"weights averaged over ~{args.average:g} epochs", flush=True)

    table = []
    for path, run in zip(args.runs, runs, strict=True):
        game = resolve_game(run["game"])
        run_args = run["args"]
        root = Path(run_args["root"])
        eval_config = EvalConfig(episodes=int(run_args["eval_episodes"]), max_frames=int(run_args["eval_max_frames"]),
                                 seed=int(run_args["seed"]) + 7, temperature=float(run_args["temperature"]),
                                 random_baseline=False)
        for name, kept in trainings(run, root, game.name, args.trainings).items():
            for store, last in kept:
                config = replace(TrainConfig(**read_checkpoint(last)["meta"]["train"]), average=args.average)
                out_dir = last.parent / f"avg{args.average:g}"
                start = time.perf_counter()
                train(game, store.episode_paths(), out_dir, config, split_from=last)
                trained_s = time.perf_counter() - start
                scores = {kind: evaluate_checkpoint(checkpoint, game, eval_config, save=False)[0].agent
                          for kind, checkpoint in (("last", last), ("avg", out_dir / AVG_NAME))}
                same = checkpoints.same_weights(last, out_dir / LAST_NAME)
                table.append({"run": path.stem, "data": name, "seed": config.seed, "same": same,
                              **{kind: s.mean for kind, s in scores.items()},
                              **{f"{kind} ci": s.ci95 for kind, s in scores.items()}})
                print(f"  {path.stem}, {name}, training seed {config.seed} ({trained_s:.0f} s): "
                      f"last {scores['last'].mean:.1f} ± {scores['last'].ci95:.1f}, "
                      f"averaged {scores['avg'].mean:.1f} ± {scores['avg'].ci95:.1f}", flush=True)

    print("\n| run | data set | training seed | last | averaged | averaged less last | same last weights |")
    print("| --- | --- | ---: | ---: | ---: | ---: | :---: |")
    for row in table:
        print(f"| {row['run']} | {row['data']} | {row['seed']} | {row['last']:.1f} ± {row['last ci']:.1f} | "
              f"{row['avg']:.1f} ± {row['avg ci']:.1f} | {row['avg'] - row['last']:+.1f} | {'yes' if row['same'] else 'NO'} |")

    print("\n| data set | weights | mean over runs (± 95%) |")
    print("| --- | --- | ---: |")
    names = list(dict.fromkeys(row["data"] for row in table))
    per_run: dict[tuple[str, str], dict[str, list[float]]] = {}  # (data set, kind) -> run -> its trainings' scores
    for row in table:
        for kind in ("last", "avg"):
            per_run.setdefault((row["data"], kind), {}).setdefault(row["run"], []).append(row[kind])
    for name in names:
        for kind in ("last", "avg"):
            values = [float(np.mean(v)) for v in per_run[(name, kind)].values()]
            print(f"| {name} | {'last' if kind == 'last' else 'averaged'} | {planner_demos.over_seeds(values)} |")
    for name in names:
        gaps = [row["avg"] - row["last"] for row in table if row["data"] == name]
        print(f"\n{name}, averaged less last, training by training: " + " / ".join(f"{g:+.1f}" for g in gaps)
              + f"; mean {planner_demos.over_seeds(gaps)}, ahead in {sum(g > 0 for g in gaps)} of {len(gaps)}")
    if len(names) == 2:
        print()
        for kind in ("last", "avg"):
            a, b = per_run[(names[0], kind)], per_run[(names[1], kind)]
            gaps = [float(np.mean(a[run]) - np.mean(b[run])) for run in a if run in b]
            print(f"{names[0]} less {names[1]}, {'last' if kind == 'last' else 'averaged'} weights, run by run: "
                  + " / ".join(f"{g:+.1f}" for g in gaps) + f"; over runs {planner_demos.over_seeds(gaps)}")


if __name__ == "__main__":
    main()
