"""Does training on mirrored frames too (`mimic train --mirror`) clone a better player?

    python bench/mirror.py --game mspacman --budget 2000 --episodes 32 --seeds 1,2 --average 5 \\
        --eval-episodes 100 --data /tmp/ms2000

Behavioural cloning on the planner's demonstrations (bench/planner_demos.py: `--episodes` of
`--frames` frames at `--budget`, seeds 100 and up) with `mimic demo`'s training (20 epochs at
2.5e-4), once per training seed as it is and once with `TrainConfig.mirror`: every training
decision, with probability 1/2 each time a batch draws it, flipped left to right with LEFT and
RIGHT swapped in its label. The two trainings of a seed share everything else (split, initial
weights, batch order), with `--average`, `--ensemble` and `--member-batches` as `mimic train`
takes them. The mirrored training is scored twice: as it is, and voting (`PolicyConfig.mirror`:
it acts on the mean of its log-probabilities for the screen and for the screen's mirror image,
read back through the action map). Each policy plays the same `--eval-episodes` games under the
eval protocol at temperature 0.25 with the weights `--score` names (avg.pt with `--average`,
else last.pt): the comparison is paired, seed by seed. A training this bench, bench/ensemble.py or
bench/weight_average.py left in a `--data` folder with the same settings is reused.

Prints a table a seed a row (scores, validation loss, training seconds), then each kind over
the seeds (mean with its 95% interval, the standard deviation, the lowest and highest) and each
mirrored kind less the plain, seed by seed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.train import AVG_NAME, LAST_NAME, MEMBER_BATCHES, TrainConfig, load_data, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.store import read_info  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)

KINDS = {"plain": False, "mirrored": True}  # the trainings
VOTING = "mirrored, voting"  # the mirrored training's weights acting on both views


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    parser.add_argument("--average", type=float, default=0.0, help="also keep weights averaged over this many epochs")
    parser.add_argument("--ensemble", type=int, default=1, help="networks side by side in each training")
    parser.add_argument("--member-batches", default="shared", choices=MEMBER_BATCHES)
    parser.add_argument("--score", choices=("last", "avg"), help="weights to score (default: avg with --average)")
    parser.set_defaults(eval_episodes=100)
    args = parser.parse_args()
    score = args.score or ("avg" if args.average else "last")
    if score == "avg" and not args.average:
        parser.error("--score avg scores the averaged weights: pass --average EPOCHS too")
    try:
        TrainConfig(average=args.average, ensemble=args.ensemble, member_batches=args.member_batches)
    except ValueError as exc:
        parser.error(str(exc))
    game = resolve_game(args.game)
    if game.mirror_actions is None:
        parser.error(f"{game.name}'s actions have no mirror image each: nothing to compare")
    weights = AVG_NAME if score == "avg" else LAST_NAME
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{args.epochs} epochs at lr {args.lr:g}; {args.eval_episodes} eval episodes "
          f"at T={planner_demos.TEMPERATURE:g}; scoring {weights}", flush=True)

    kinds = [*KINDS, VOTING]
    scores: dict[str, list[float]] = {kind: [] for kind in kinds}
    with planner_demos.demonstrations(game, args) as (store, paths):
        expert = float(np.mean([read_info(p).score for p in paths]))
        data = None
        rows = []
        for seed in planner_demos.training_seeds(args):
            row: dict = {"seed": seed}
            for kind, mirror in KINDS.items():
                config = TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed, average=args.average,
                                     ensemble=args.ensemble, member_batches=args.member_batches, mirror=mirror)
                out_dir = store.models / planner_demos.model_folder(len(paths), config)
                final = planner_demos.trained_before(out_dir, paths, config)
                if final is None:
                    start = time.perf_counter()
                    data = data if data is not None else load_data(paths, game, config.obs)
                    final = train(game, data.paths, out_dir, config, data=data).final
                    row[f"{kind} s"] = time.perf_counter() - start
                    print(f"  seed {seed}, {kind}: trained in {row[f'{kind} s']:.0f} s", flush=True)
                row[kind] = planner_demos.score(game, out_dir / weights, args)
                row[f"val {kind}"] = final.avg_val_loss if score == "avg" else final.val_loss
                scores[kind].append(row[kind].mean)
            row[VOTING] = planner_demos.score(game, planner_demos.mirror_voting(out_dir / weights, game), args)
            row[f"val {VOTING}"] = row["val mirrored"]  # (the validation loss of the weights, without the vote)
            scores[VOTING].append(row[VOTING].mean)
            print(planner_demos.seed_line(seed, row, kinds), flush=True)
            rows.append(row)

        planner_demos.print_seed_table(
            rows, kinds, f"train s: {' / '.join(KINDS)}", lambda row: planner_demos.train_seconds(row, KINDS))
        planner_demos.print_over_seeds(scores, expert, "policy")
        print()
        for kind in kinds[1:]:
            planner_demos.print_gaps(f"{kind} less plain", scores[kind], scores["plain"])
        planner_demos.print_random(game, out_dir / LAST_NAME, args)


if __name__ == "__main__":
    main()
