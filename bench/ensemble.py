"""Does an ensemble of networks (`mimic train --ensemble N`) clone a better player than one network?

    python bench/ensemble.py --game mspacman --budget 2000 --episodes 8 --seeds 1,2,3 --members 3 \\
        --average 5 --eval-episodes 100 --data /tmp/ms2000 --member-batches shared,shuffled,bootstrap

Behavioural cloning on the planner's demonstrations (bench/planner_demos.py: `--episodes` of
`--frames` frames at `--budget`, seeds 100 and up) with `mimic demo`'s training (20 epochs at
2.5e-4), once per training seed as one network and once as an ensemble of `--members` for each
of `--member-batches` (`TrainConfig.member_batches`: shared, every network the same batches;
shuffled, each its own order; bootstrap, each its own resample). A seed fixes the split, the
initial weights and the order of the batches, so with shared batches a seed's trainings see the
same decisions in the same order and differ in the networks alone. With `--average H` all also
keep the weights averaged over the last H epochs (`TrainConfig.average`), and those are scored
too. Each policy plays the same `--eval-episodes` games under the eval protocol at temperature
0.25: the comparison is paired, seed by seed. A single network's training of a `--data` folder
made by bench/label_scaling.py or bench/weight_average.py with the same settings is reused, not
repeated, as is any training this bench left there.

With `--apart` the seeds' single networks are also joined into one ensemble, as `mimic ensemble`
joins trainings of other seeds (each network held out its own demonstrations and started from,
and saw the batches in, an order of its own), and that vote is scored on the same games; with
`--member-batches ""` no ensemble is trained, so one network a seed and their vote are all that
run:

    python bench/ensemble.py --game mspacman --budget 2000 --episodes 32 --seeds 1,2,3 \
        --average 5 --score avg --eval-episodes 100 --data /tmp/ms2000 --member-batches "" --apart

Prints a table a seed a row (scores, validation loss, training seconds), then each policy over
the seeds (mean with its 95% interval, the standard deviation over seeds) and each ensemble less
the single network over the seeds.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.ensemble import join  # noqa: E402
from agent.policy import MAX_ENSEMBLE  # noqa: E402
from agent.train import AVG_NAME, LAST_NAME, MEMBER_BATCHES, TrainConfig, load_data, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.store import read_info  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    parser.add_argument("--members", type=int, default=3, help="networks in the ensemble")
    parser.add_argument("--average", type=float, default=0.0, help="also keep and score weights averaged over this many epochs")
    parser.add_argument("--member-batches", default="shared",
                        help=f"comma-separated, of {', '.join(MEMBER_BATCHES)}; empty: one network alone")
    parser.add_argument("--apart", action="store_true",
                        help="also join the seeds' single networks into one ensemble (`mimic ensemble`) and score it")
    parser.add_argument("--score", default="last,avg", help="which weights to score: last, avg (with --average), or both")
    parser.set_defaults(eval_episodes=100)
    args = parser.parse_args()
    if not 2 <= args.members <= MAX_ENSEMBLE:
        parser.error(f"--members is the ensemble's size, 2 to {MAX_ENSEMBLE}; got {args.members}")
    batchings = [batches for batches in args.member_batches.split(",") if batches]
    if not set(batchings) <= set(MEMBER_BATCHES):
        parser.error(f"--member-batches takes {', '.join(MEMBER_BATCHES)}, comma-separated; got {args.member_batches}")
    game = resolve_game(args.game)
    seeds = planner_demos.training_seeds(args)
    if args.apart and len(seeds) < 2:
        parser.error(f"--apart joins the single networks of two or more --seeds; got {args.seeds}")
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{args.epochs} epochs at lr {args.lr:g}; {args.eval_episodes} eval episodes "
          f"at T={planner_demos.TEMPERATURE:g}", flush=True)

    # each policy: (networks, what they train on)
    sizes = {"one": (1, "shared"), **{f"{args.members} {batches}": (args.members, batches) for batches in batchings}}
    scored = args.score.split(",")
    if not set(scored) <= {"last", "avg"} or (scored == ["avg"] and not args.average):
        parser.error(f"--score takes last, avg (with --average) or both, comma-separated; got {args.score}")
    weights = {**({"last": LAST_NAME} if "last" in scored else {}),
               **({f"avg {args.average:g}": AVG_NAME} if args.average and "avg" in scored else {})}
    kinds = [f"{size}, {kind}" for kind in weights for size in sizes]
    scores: dict[str, list[float]] = {kind: [] for kind in kinds}
    with planner_demos.demonstrations(game, args) as (store, paths):
        expert = float(np.mean([read_info(p).score for p in paths]))
        data = None
        rows = []
        for seed in seeds:
            row: dict = {"seed": seed}
            for size, (members, batches) in sizes.items():
                config = TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed, average=args.average, ensemble=members,
                                     member_batches=batches)
                out_dir = store.models / planner_demos.model_folder(len(paths), config)
                final = planner_demos.trained_before(out_dir, paths, config)
                start = time.perf_counter()
                if final is None:
                    data = data if data is not None else load_data(paths, game, config.obs)
                    final = train(game, data.paths, out_dir, config, data=data).final
                    row[f"{size} s"] = time.perf_counter() - start
                    print(f"  seed {seed}, {size}: trained in {row[f'{size} s']:.0f} s", flush=True)
                for kind, file in weights.items():
                    key = f"{size}, {kind}"
                    row[key] = planner_demos.score(game, out_dir / file, args)
                    row[f"val {key}"] = final.val_loss if kind == "last" else final.avg_val_loss
                    scores[key].append(row[key].mean)
            print(planner_demos.seed_line(seed, row, kinds), flush=True)
            rows.append(row)

        planner_demos.print_seed_table(
            rows, kinds, f"train s: {' / '.join(sizes)}", lambda row: planner_demos.train_seconds(row, sizes))

        planner_demos.print_over_seeds(scores, expert, "policy")
        print()
        for ensemble in list(sizes)[1:]:
            for kind in weights:
                planner_demos.print_gaps(f"{kind} weights, {ensemble} less one", scores[f"{ensemble}, {kind}"],
                                         scores[f"one, {kind}"])
        if args.apart:
            _score_apart(game, store, paths, seeds, weights, scores, expert, args)
        planner_demos.print_random(game, out_dir / LAST_NAME, args)


def _score_apart(game, store, paths, seeds, weights, scores, expert, args) -> None:
    """The vote of the seeds' single networks, trained apart (each its own split, initial weights
    and batch order), joined as `mimic ensemble` joins them; set beside its members' scores."""
    for kind, file in weights.items():
        members = [store.models / planner_demos.model_folder(len(paths), TrainConfig(seed=seed, average=args.average))
                   / file for seed in seeds]
        out = store.models / f"{len(paths)}-apart-{'-'.join(map(str, seeds))}" / file
        join(members, out, game)
        apart = planner_demos.score(game, out, args)
        alone = scores[f"one, {kind}"]
        print(f"{kind} weights, the {len(seeds)} single networks of seeds {', '.join(map(str, seeds))} voting as one: "
              f"{apart.mean:.1f} ± {apart.ci95:.1f} ({apart.mean / expert:.2f} of the expert's {expert:,.0f}); "
              f"less their mean {apart.mean - np.mean(alone):+.1f}, less the best of them {apart.mean - max(alone):+.1f}",
              flush=True)


if __name__ == "__main__":
    main()
