"""Does averaging the weights over the last epochs clone a better player than the last epoch's weights?

    python bench/weight_average.py --game mspacman --budget 2000 --episodes 8 --seeds 1,2,3,4,5 \\
        --horizons 2,5 --eval-episodes 100 --data /tmp/ms2000

Behavioural cloning on the planner's demonstrations (bench/planner_demos.py: `--episodes` of
`--frames` frames at `--budget`, seeds 100 and up) with `mimic demo`'s training (20 epochs at
2.5e-4), once per training seed and averaging horizon in `--horizons` (epochs,
`TrainConfig.average`). Averaging only reads the weights, so every horizon of a seed takes the
same steps to the same last weights (checked, and said when not). Each seed's last weights
(last.pt) and each horizon's averaged weights (avg.pt) are scored with the eval protocol on the
same `--eval-episodes` games at temperature 0.25 (with `--best`, the lowest-validation-loss
weights, best.pt, too): the comparison is paired, seed by seed.

Prints a table a seed a row, then each kind of weights over the seeds (mean with its 95%
interval, the standard deviation over seeds, the lowest and highest) and, per horizon, the
averaged weights less the last over the seeds. On 8 Ms. Pac-Man demonstrations one training
seed against another moved a policy by 90 to 700 points on the same data (BENCHMARKS.md): the
standard deviation over seeds is the spread a user meets.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.policy import read_checkpoint  # noqa: E402
from agent.train import AVG_NAME, BEST_NAME, LAST_NAME, TrainConfig, load_data, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.store import read_info  # noqa: E402

import checkpoints  # noqa: E402  (bench/, beside this script)
import planner_demos  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    parser.add_argument("--horizons", default="2,5", help="averaging horizons to try, in epochs")
    parser.add_argument("--best", action="store_true", help="also score the lowest-validation-loss weights (best.pt)")
    parser.set_defaults(eval_episodes=100)
    args = parser.parse_args()
    game = resolve_game(args.game)
    seeds = planner_demos.training_seeds(args)
    horizons = [float(h) for h in args.horizons.split(",")]
    if any(not 0 < h <= args.epochs for h in horizons):
        parser.error(f"--horizons must be above 0 and at most --epochs ({args.epochs}), got {args.horizons}")
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{args.epochs} epochs at lr {args.lr:g}; {args.eval_episodes} eval episodes "
          f"at T={planner_demos.TEMPERATURE:g}", flush=True)

    kinds = ["last", *(["best"] if args.best else []), *(f"avg {h:g}" for h in horizons)]
    scores: dict[str, list[float]] = {kind: [] for kind in kinds}
    with planner_demos.demonstrations(game, args) as (store, paths):
        expert = float(np.mean([read_info(p).score for p in paths]))
        data = None
        rows = []
        for seed in seeds:
            row = {"seed": seed}
            lasts = []
            for horizon in horizons:
                config = TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed, average=horizon)
                out_dir = store.models / f"{len(paths)}-{seed}-avg{horizon:g}"
                final = planner_demos.trained_before(out_dir, paths, config)
                start = time.perf_counter()
                if final is None:
                    data = data if data is not None else load_data(paths, game, config.obs)
                    final = train(game, data.paths, out_dir, config, data=data).final
                    print(f"  seed {seed}, horizon {horizon:g}: trained in {time.perf_counter() - start:.0f} s; "
                          f"val loss last {final.val_loss:.3f}, averaged {final.avg_val_loss:.3f}", flush=True)
                lasts.append(out_dir / LAST_NAME)
                row[f"avg {horizon:g}"] = planner_demos.score(game, out_dir / AVG_NAME, args)
                row[f"val avg {horizon:g}"] = final.avg_val_loss
            row["val last"] = final.val_loss
            if args.best:
                best = read_checkpoint(lasts[0].with_name(BEST_NAME))["meta"]
                row["val best"], row["best epoch"] = best["best_score"], best["best_epoch"]
                row["best"] = planner_demos.score(game, lasts[0].with_name(BEST_NAME), args)
            row["same last"] = all(checkpoints.same_weights(lasts[0], other) for other in lasts[1:])
            row["last"] = planner_demos.score(game, lasts[0], args)
            for kind in kinds:
                scores[kind].append(row[kind].mean)
            print(planner_demos.seed_line(seed, row, kinds), flush=True)
            rows.append(row)

        planner_demos.print_seed_table(rows, kinds, "same last weights", lambda row: "yes" if row["same last"] else "NO")

        planner_demos.print_over_seeds(scores, expert, "weights")
        for kind in kinds[1:]:
            if kind == "best":
                print("\nbest: the epoch of the lowest validation loss, seed by seed: "
                      + " / ".join(str(row["best epoch"]) for row in rows))
            gaps = np.subtract(scores[kind], scores["last"])
            print(f"\n{kind} less last, seed by seed: " + " / ".join(f"{g:+.1f}" for g in gaps)
                  + f"; over seeds {planner_demos.over_seeds(list(gaps))}, ahead in {int((gaps > 0).sum())} of {len(gaps)}")
        planner_demos.print_random(game, lasts[0], args)


if __name__ == "__main__":
    main()
