"""Does behavioural cloning get better with more of the planner's labels, and how fast?

    python bench/label_scaling.py --game pacman --episodes 64 --sizes 8,16,32,64 --seeds 1,2,3

The planning expert records `--episodes` demonstrations (budget 600, 3,000 frames each: the
sizes `mimic demo` uses; seeds 100 and up, so the first 8 are bench/label_targets.py's). For
each size in `--sizes` the policy is trained on that many demonstrations (the first by seed,
so every size holds the smaller ones) once per training seed, with `mimic demo`'s settings (20
epochs at learning rate 2.5e-4, the last epoch's weights), and scored with the eval protocol
at sampling temperature 0.25. Prints a markdown table: one row per size and seed, then each
size's mean over the seeds with its 95% interval and its share of the expert's demo score.
With `--data DIR` the demonstrations and the models stay in DIR for the next run: a larger
size records only the seeds DIR lacks, and a model DIR already holds, trained on the same
demonstrations with the same settings, is scored again without training (to score it on more
episodes, say):

    python bench/label_scaling.py --game pacman --data runs/scaling --episodes 128 --sizes 128 --seeds 1,2,3
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.dagger import count_labels  # noqa: E402
from agent.train import LAST_NAME, TrainConfig, load_data, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.store import read_info  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    parser.add_argument("--sizes", default="8,16,32,64", help="numbers of demonstrations to train on")
    parser.set_defaults(episodes=64, eval_episodes=20)
    args = parser.parse_args()
    game = resolve_game(args.game)
    seeds = planner_demos.training_seeds(args)
    sizes = [int(s) for s in args.sizes.split(",")]
    if max(sizes) > args.episodes:
        parser.error(f"--sizes goes up to {max(sizes)} demonstrations but --episodes records {args.episodes}")
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{args.epochs} epochs at lr {args.lr:g}; {args.eval_episodes} eval episodes "
          f"at T={planner_demos.TEMPERATURE:g}")

    with planner_demos.demonstrations(game, args) as (store, paths):
        expert = float(np.mean([read_info(p).score for p in paths]))

        print("\n| demos | decisions | seed | train acc | val acc | score | train s |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        means: dict[int, list[float]] = {}
        decisions: dict[int, int] = {}
        config = TrainConfig(epochs=args.epochs, lr=args.lr)
        for size in sizes:
            decisions[size] = count_labels(paths[:size], config.frameskip)
            data = None  # loaded when a seed needs training
            for seed in seeds:
                out_dir = store.models / f"{size}-{seed}"
                final = planner_demos.trained_before(out_dir, paths[:size], replace(config, seed=seed))
                seconds = "before"  # trained by an earlier run into --data
                if final is None:
                    start = time.perf_counter()
                    if data is None:
                        data = load_data(paths[:size], game, config.obs)
                    final = train(game, data.paths, out_dir, replace(config, seed=seed), data=data).final
                    seconds = f"{time.perf_counter() - start:.0f}"
                checkpoint = out_dir / LAST_NAME
                agent = planner_demos.score(game, checkpoint, args)
                means.setdefault(size, []).append(agent.mean)
                val = "-" if final.val_accuracy is None else f"{final.val_accuracy:.0%}"  # one demo: nothing held out
                print(f"| {size} | {decisions[size]:,} | {seed} | {final.train_accuracy:.0%} | {val} | "
                      f"{agent.mean:.1f} ± {agent.ci95:.1f} | {seconds} |", flush=True)
            del data

        print(f"\n| demos | decisions | mean of {len(seeds)} seeds (± 95% over seeds) | of the expert's {expert:.0f} |")
        print("| ---: | ---: | ---: | ---: |")
        for size, scores in means.items():
            print(f"| {size} | {decisions[size]:,} | {planner_demos.over_seeds(scores)} | {np.mean(scores) / expert:.2f} |")
        planner_demos.print_random(game, checkpoint, args)


if __name__ == "__main__":
    main()
