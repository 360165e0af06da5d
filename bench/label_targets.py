"""What should behavioural cloning learn from the planner: its label, or the set of actions as good?

    python bench/label_targets.py --game pacman --episodes 8 --seeds 1,2,3

The planning expert records `--episodes` demonstrations (budget 600, 3,000 frames each, the
sizes `mimic demo` uses). On the same data the policy is trained once per seed with each
target: the single label (cross-entropy) and the label set (-log of the probability of every
action the expert found as good). Each policy is scored with the eval protocol at sampling
temperatures 1 and 0.25 (the last epoch's weights). Prints a markdown table: one row per target and seed, then the means.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.train import TrainConfig, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)

TEMPERATURES = (1.0, 0.25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    args = parser.parse_args()
    game = resolve_game(args.game)
    seeds = planner_demos.training_seeds(args)

    with planner_demos.demonstrations(game, args) as (store, paths):
        header = " | ".join(f"score at T={t:g}" for t in TEMPERATURES)
        print(f"\n| target | seed | train acc | val acc | {header} | train s |")
        print("| --- | ---: | ---: | ---: |" + " ---: |" * len(TEMPERATURES) + " ---: |")
        means: dict[str, list[list[float]]] = {}
        for target in ("label", "set"):
            for seed in seeds:
                config = TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed, label_sets=target == "set")
                start = time.perf_counter()
                result = train(game, paths, store.models / f"{target}-{seed}", config)
                seconds = time.perf_counter() - start
                scores = [planner_demos.score(game, result.last_checkpoint, args, t) for t in TEMPERATURES]
                means.setdefault(target, []).append([s.mean for s in scores])
                final = result.final
                cells = " | ".join(f"{s.mean:.1f} ± {s.ci95:.1f}" for s in scores)
                print(f"| {target} | {seed} | {final.train_accuracy:.0%} | {final.val_accuracy:.0%} | {cells} | "
                      f"{seconds:.0f} |", flush=True)
        for target, rows in means.items():
            cells = " | ".join(f"**{m:.1f}**" for m in np.mean(rows, axis=0))
            print(f"| {target}: mean of {len(rows)} seeds | | | | {cells} | |")
        planner_demos.print_random(game, result.last_checkpoint, args)


if __name__ == "__main__":
    main()
