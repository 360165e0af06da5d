"""Learning quality: the expert, BC on N expert steps, DAgger, and BC on as many labels as DAgger.

    python bench/learning.py --game pacman --out /tmp/learning-pacman.json

1. The planning expert records `--demos` episodes (at most `--demo-frames` frames each).
2. BC trains on them ("BC, N demonstration decisions").
3. DAgger runs `--rounds` rounds from that policy with the planner labelling (`--rollouts`
   rollouts of at most `--rollout-frames` frames a round). Each round retrains as `--retrain`
   says: `warm`, `--round-epochs` more epochs from the last round's weights, or `scratch`,
   fresh weights for `--round-epochs` epochs on everything (classic DAgger; give it BC's
   --epochs, or as many as reach BC's lowest validation loss with --keep best).
4. In a second store the expert records more episodes until it holds at least as many
   labelled decisions as DAgger's final training set; BC trains on those ("BC, same labels").
   With `--scratch`, BC also trains from scratch on DAgger's own final data set (demonstrations
   and every round): DAgger's labels with BC's training, to tell the labels from the rounds'
   short warm-started retraining. `--no-same-labels` stops before this step (and step 5): a trial
   of a DAgger setting in half the time, with no fair comparison.
5. With `--trainings K` (rounds retrained from scratch), DAgger's final data set and BC's on as
   many labels are each trained K times, training seeds --seed, --seed + 100, ...: the first is
   DAgger's last round and BC's same-labels training above, the others train the same way (the
   DAgger data set with BC's train/validation split, as its rounds did). On 8 Ms. Pac-Man
   demonstrations one more training seed moved a policy by up to 700 points on the same data, so
   one training per data set cannot rank them; the mean of K trainings narrows that spread. Each
   data set gets a row with the mean of its K trainings, and DAgger's less BC's is printed.
6. Every policy is scored with the `eval` protocol (`--eval-episodes`, sticky actions 0.25, up
   to 30 no-op starts, the frame cap printed), side by side in this one run. Policies act at
   sampling temperature `--temperature` (rollouts too) and each training keeps the weights
   `--keep` says, as `mimic demo` runs them.

`--dagger-seed S` gives DAgger a seed of its own (its rollouts, the planner's ties, the rounds'
trainings and 4-game scores; by default `--seed`), so that one BC, kept in `--data`, can start
several DAgger runs, each in its own `--root`; BC's training and the 100 evaluation games keep
`--seed`'s. A root whose rounds another DAgger seed played is refused.

A re-run with the same `--root` goes on from what the last one finished: the demonstrations
and BC when trained before (same episodes, same settings), DAgger's finished rounds, and
BC-equal's recordings and training; each policy is scored again.

The expert's own score is that of its recorded demonstrations (recording settings: no sticky
actions; episodes cut at `--demo-frames` when that cap is hit, which the table says).

With `--data DIR` the demonstrations are those the planner benches keep in DIR (seeds 100 and
up, bench/planner_demos.py; only the seeds DIR lacks are recorded), and BC trains into
DIR/<game>/models/<demos>-<seed>/, where bench/label_scaling.py keeps its models: a model
already there, trained on the same demonstrations with the same settings, is taken as step 2's
policy instead of training again (96,000 Pac-Man decisions are 17 minutes of training on 2 cores):

    python bench/label_scaling.py --game pacman --data runs/scaling --episodes 128 --sizes 128 --seeds 1
    python bench/learning.py --game pacman --data runs/scaling --demos 128 --demo-frames 3000 --epochs 20 --seed 1

`--ensemble N`, `--member-batches`, `--average H` and `--mirror` train BC as `mimic train` does
with them (N networks side by side voting, weights averaged over the last H epochs, `--keep avg`
playing those; decisions mirrored left to right half the time); with `--vote` BC and DAgger
are also scored acting on the vote of the screen and its mirror image (`PolicyConfig.mirror`).
DAgger's rounds train as the policy they start from, and BC on as many labels trains
with the same settings, so all three policies are alike but for their data. With `--data`, BC
lives in the folder bench/ensemble.py trains the same settings into (DIR/<game>/models/
32-1-ens3-shuffled-avg5 for 32 demonstrations, seed 1), so an ensemble that bench trained is
DAgger's start, not trained again:

    python bench/ensemble.py --game mspacman --budget 2000 --episodes 32 --frames 3000 --seeds 1 \\
        --members 3 --member-batches shuffled --average 5 --data runs/ms2000
    python bench/learning.py --game mspacman --budget 2000 --data runs/ms2000 --demos 32 --demo-frames 3000 \\
        --epochs 20 --ensemble 3 --member-batches shuffled --average 5 --keep avg --round-epochs 5 --seed 1
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.dagger import RETRAIN, DaggerConfig, DaggerRunner, PlannerCollector, count_labels  # noqa: E402
from agent.evaluate import REFERENCES, EvalConfig, Scores, evaluate_checkpoint, human_normalized  # noqa: E402
from agent.planner import Expert, ExpertConfig, ExpertPool, default_workers, play_episodes  # noqa: E402
from agent.train import KEEPS, MEMBER_BATCHES, TrainConfig, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.recording import rollout_seed  # noqa: E402
from recorder.store import GameStore, read_info  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--demos", type=int, default=2)
    parser.add_argument("--demo-frames", type=int, default=4500)
    parser.add_argument("--budget", type=int, default=600, help="planner frames per decision")
    parser.add_argument("--epochs", type=int, default=10, help="BC epochs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rollouts", type=int, default=1)
    parser.add_argument("--rollout-frames", type=int, default=4500)
    parser.add_argument("--round-epochs", type=int, default=4)
    parser.add_argument("--retrain", choices=RETRAIN, default="warm",
                        help="rounds train from the last round's weights or from fresh ones")
    parser.add_argument("--round-eval-episodes", type=int, default=4)
    parser.add_argument("--eval-episodes", type=int, default=30)
    parser.add_argument("--eval-max-frames", type=int, default=108_000)
    parser.add_argument("--temperature", type=float, default=0.25, help="policy sampling temperature")
    parser.add_argument("--keep", choices=KEEPS, default="last", help="weights each training keeps (avg: with --average)")
    parser.add_argument("--ensemble", type=int, default=1, help="networks BC trains side by side (mimic train --ensemble)")
    parser.add_argument("--member-batches", choices=MEMBER_BATCHES, default="shared",
                        help="what the ensemble's networks train on (mimic train --member-batches)")
    parser.add_argument("--average", type=float, default=0.0,
                        help="also keep weights averaged over this many epochs (mimic train --average)")
    parser.add_argument("--mirror", action="store_true",
                        help="train on decisions mirrored left to right half the time too (mimic train --mirror)")
    parser.add_argument("--vote", action="store_true",
                        help="also score BC and DAgger acting on the vote of the screen and its mirror image")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dagger-seed", type=int, default=None,
                        help="DAgger's own seed (rollouts, planner, round trainings; default --seed): another "
                             "DAgger run from the same BC and demonstrations, in another --root")
    parser.add_argument("--root", type=Path, default=None, help="keep the data here (default: a temporary folder)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--scratch", action="store_true",
                        help="also train BC from scratch on DAgger's final data set (demonstrations and rounds)")
    parser.add_argument("--data", type=Path, default=None,
                        help="take the demonstrations, and BC's model when it was trained there, from this folder")
    parser.add_argument("--no-same-labels", action="store_true",
                        help="stop after DAgger's evaluation: no BC on as many labels (steps 4-5), for trying a "
                             "DAgger setting in half the time")
    parser.add_argument("--trainings", type=int, default=1,
                        help="train DAgger's and BC-equal's final data sets this many times each (seeds --seed + 100 k)")
    args = parser.parse_args()
    if args.trainings < 1:
        parser.error(f"--trainings must be 1 or more, got {args.trainings}")
    if args.trainings > 1 and args.retrain != "scratch":
        parser.error("--trainings above 1 needs --retrain scratch: only then is DAgger's policy one from-scratch "
                     "training of its data set, which the other trainings repeat with other seeds")
    if args.trainings > 1 and args.no_same_labels:
        parser.error("--trainings above 1 trains BC on as many labels again: drop --no-same-labels")

    try:
        train_config = TrainConfig(epochs=args.epochs, seed=args.seed, average=args.average, ensemble=args.ensemble,
                                   member_batches=args.member_batches, mirror=args.mirror)
    except ValueError as error:
        parser.error(str(error))
    if args.keep == "avg" and not args.average:
        parser.error("--keep avg plays the averaged weights: give --average EPOCHS too")

    game = resolve_game(args.game)
    root = args.root or Path(tempfile.mkdtemp(prefix="mimic-learning-"))
    dagger_store = GameStore(root / "dagger-run", game.name)
    equal_store = GameStore(root / "bc-same-labels", game.name)
    dagger_seed = args.seed if args.dagger_seed is None else args.dagger_seed
    check_dagger_seed(dagger_store, dagger_seed, parser)
    expert_config = ExpertConfig(budget=args.budget)
    eval_config = EvalConfig(episodes=args.eval_episodes, max_frames=args.eval_max_frames, seed=args.seed + 7,
                             temperature=args.temperature, random_baseline=True)
    seconds: dict[str, float] = {}
    rows: list[dict] = []
    print(f"{game.name}: data in {root}; {platform.processor() or platform.machine()}, {default_workers()} cores")

    def expert_demos(store: GameStore, seeds: list[int]) -> None:
        play_episodes(game, expert_config, seeds, directory=store.demos, max_frames=args.demo_frames,
                      workers=min(args.workers, len(seeds)))

    def score(name: str, checkpoint: Path, labels: int, baseline: bool = False, keep_row: bool = True) -> dict:
        """Scores the checkpoint on the run's evaluation games; its row (kept in the table unless told)."""
        start = time.perf_counter()
        config = eval_config if baseline else EvalConfig(**{**eval_config.__dict__, "random_baseline": False})
        report, _ = evaluate_checkpoint(checkpoint, game, config, store=dagger_store, save=False)
        seconds[f"eval {name}"] = time.perf_counter() - start
        row = {"method": name, "labels": labels, **report.agent.summary(),
               "normalized": human_normalized(game.name, report.agent.mean)}
        if keep_row:
            rows.append(row)
        if baseline and report.random is not None:
            rows.append({"method": "random agent", "labels": 0, **report.random.summary(),
                         "normalized": human_normalized(game.name, report.random.mean)})
        print(f"  {name}: {report.agent.mean:,.1f} ± {report.agent.ci95:,.1f} ({report.protocol})", flush=True)
        return row

    def trained(name: str, paths: list[Path], out_dir: Path, timing: str) -> Path:
        """The checkpoint BC keeps after training on paths into out_dir, or after an earlier run did."""
        if planner_demos.trained_before(out_dir, paths, train_config):
            print(f"  {name}: the model trained before in {out_dir}", flush=True)
            return out_dir / f"{args.keep}.pt"
        done = planner_demos.cut_short(out_dir, paths, train_config)
        if done:
            print(f"  {name}: continuing the training in {out_dir} cut after epoch {done}", flush=True)
            timing += f" (epochs {done + 1}-{train_config.epochs}, resumed)"
        start = time.perf_counter()
        checkpoint = train(game, paths, out_dir, train_config, resume=bool(done)).checkpoint(args.keep)
        seconds[timing] = time.perf_counter() - start
        return checkpoint

    # 1-2: expert demonstrations, BC on them (a re-run keeps what the last one finished: docstring)
    start = time.perf_counter()
    if args.data is None:
        first_seed, bc_dir = args.seed, dagger_store.models / "bc"
        have = dagger_store.episode_paths(dagger=False)
        if not have:
            expert_demos(dagger_store, [first_seed + i for i in range(args.demos)])
        elif len(have) != args.demos:
            parser.error(f"{dagger_store.demos} holds {len(have)} demonstrations from an earlier run, not "
                         f"--demos {args.demos}: give that run's --demos, or another --root")
    else:
        first_seed = planner_demos.FIRST_SEED
        wanted = argparse.Namespace(episodes=args.demos, frames=args.demo_frames, budget=args.budget,
                                    workers=args.workers, data=args.data)
        with planner_demos.demonstrations(game, wanted) as (data_store, paths):
            dagger_store.demos.mkdir(parents=True, exist_ok=True)
            for path in paths:
                shutil.copy2(path, dagger_store.demos / path.name)
        bc_dir = data_store.models / planner_demos.model_folder(args.demos, train_config)
    seconds["expert demonstrations"] = time.perf_counter() - start
    # the demonstrations only: on a re-run the store holds DAgger's finished rounds too
    demo_paths = dagger_store.episode_paths(dagger=False)
    demo_infos = [read_info(p) for p in demo_paths]
    expert_scores = [i.score for i in demo_infos]
    cut = sum(i.ended == "frame_cap" for i in demo_infos)
    bc_checkpoint = trained("BC", demo_paths, bc_dir, "BC training")
    bc_labels = count_labels(demo_paths, train_config.frameskip)
    score(f"BC, {bc_labels:,} demonstration decisions", bc_checkpoint, bc_labels, baseline=True)
    if args.vote:
        score("BC, voting with its mirror image", planner_demos.mirror_voting(bc_checkpoint, game), bc_labels)

    # 3: DAgger
    start = time.perf_counter()
    with ExpertPool(game, expert_config, seed=dagger_seed, workers=args.workers) as pool:
        collector = PlannerCollector(game, Expert(game, expert_config, seed=dagger_seed), args.rollout_frames,
                                     relabel=pool, temperature=args.temperature, seed=dagger_seed)
        config = DaggerConfig(rounds=args.rounds, episodes=args.rollouts, max_frames=args.rollout_frames,
                              epochs=args.round_epochs, eval_episodes=args.round_eval_episodes,
                              eval_max_frames=args.eval_max_frames, temperature=args.temperature, keep=args.keep,
                              retrain=args.retrain, seed=dagger_seed)
        runner = DaggerRunner(game, dagger_store, bc_checkpoint, collector, config, on_event=print_round)
        rounds = runner.run()
    seconds["DAgger rounds"] = time.perf_counter() - start
    dagger_labels = rounds[-1].total_labels
    dagger_row = score(f"DAgger, {args.rounds} rounds ({dagger_labels:,} labels)", Path(rounds[-1].checkpoint),
                       dagger_labels)
    if args.vote:
        score("DAgger, voting with its mirror image",
              planner_demos.mirror_voting(Path(rounds[-1].checkpoint), game), dagger_labels)
    if args.scratch:
        start = time.perf_counter()
        scratch = train(game, dagger_store.episode_paths(), dagger_store.models / "scratch", train_config)
        seconds["BC training on DAgger's data"] = time.perf_counter() - start
        score("BC from scratch on DAgger's data", scratch.checkpoint(args.keep), dagger_labels)

    if not args.no_same_labels:
        # 4: BC on as many expert labels as DAgger used
        start = time.perf_counter()
        equal_store.demos.mkdir(parents=True, exist_ok=True)
        for path in demo_paths:
            if not (equal_store.demos / path.name).exists():
                shutil.copy2(path, equal_store.demos / path.name)
        # the seeds after the demonstrations' and after any an earlier run recorded here (no game twice)
        seed = max([first_seed + args.demos - 1] + [read_info(p).seed for p in equal_store.episode_paths()]) + 1
        while (have := count_labels(equal_store.episode_paths(), train_config.frameskip)) < dagger_labels:
            # The last batch is cut so that the total lands on DAgger's label count (give or take a decision).
            per_episode = -(-(dagger_labels - have) // args.workers)
            frames = min(args.demo_frames, per_episode * train_config.frameskip)
            play_episodes(game, expert_config, [seed + i for i in range(args.workers)], directory=equal_store.demos,
                          max_frames=frames, workers=args.workers)
            seed += args.workers
        seconds["more expert demonstrations"] = time.perf_counter() - start
        equal_paths = equal_store.episode_paths()
        equal_labels = count_labels(equal_paths, train_config.frameskip)
        equal_checkpoint = trained("BC, same labels", equal_paths, equal_store.models, "BC training (same labels)")
        equal_row = score(f"BC, same labels ({equal_labels:,})", equal_checkpoint, equal_labels)

        # 5: each final data set trained again with other seeds; the first training of each is the one above
        if args.trainings > 1:
            again = {"DAgger's data": (dagger_store, runner.train_config, bc_checkpoint, [dagger_row]),
                     "BC-equal's data": (equal_store, train_config, None, [equal_row])}
            for k in range(1, args.trainings):
                seed = args.seed + 100 * k
                for data, (store, config, split_from, trained) in again.items():
                    start = time.perf_counter()
                    result = train(game, store.episode_paths(), store.models / f"training-seed-{seed}",
                                   replace(config, seed=seed), split_from=split_from)
                    seconds[f"{data} training, seed {seed}"] = time.perf_counter() - start
                    trained.append(score(f"{data}, training seed {seed}", result.checkpoint(args.keep),
                                         trained[0]["labels"], keep_row=False))
            means = []
            for data, (_, _, _, trained) in again.items():
                rows.append(over_trainings(f"{data}, mean of {args.trainings} trainings", trained, game.name))
                means.append(rows[-1]["mean"])
            print(f"  DAgger's data less BC-equal's, mean of {args.trainings} trainings each: {means[0] - means[1]:+,.1f}",
                  flush=True)

    expert_mean = sum(expert_scores) / len(expert_scores)
    result = {
        "game": game.name, "date": time.strftime("%Y-%m-%d"), "args": {k: str(v) for k, v in vars(args).items()},
        "expert": {"scores": expert_scores, "mean": expert_mean, "episodes_cut_at_cap": cut,
                   "normalized": human_normalized(game.name, expert_mean)},
        "rounds": [r.__dict__ for r in rounds], "rows": rows, "seconds": seconds,
        "reference": REFERENCES.get(game.name, (None, None, None))[2],
    }
    print_markdown(result, args)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


def check_dagger_seed(store: GameStore, seed: int, parser: argparse.ArgumentParser) -> None:
    """Refuses to continue rounds an earlier run played with another DAgger seed, read off the
    emulator seeds of round 1's rollouts (`rollout_seed` derives rollout i's from it)."""
    mine = rollout_seed(seed, 1, 0)
    for path in sorted(store.dagger_round(1).glob("*.npz")):
        if not 0 <= (played := read_info(path).seed) - mine < 1_000:
            parser.error(f"{store.dagger} holds rounds played with another DAgger seed (round 1 has a rollout of "
                         f"emulator seed {played}, this run's start at {mine}): give that run's --seed and "
                         "--dagger-seed, or another --root")


def print_round(event) -> None:
    """A line as each DAgger round finishes (print_markdown tables them at the end)."""
    if event.kind == "round":
        r = event.detail
        print(f"  round {r.round}: beta {r.beta:g}, +{r.new_labels:,} labels ({r.total_labels:,}), "
              f"val acc {r.val_accuracy:.1%}, {_score(r.score_mean, r.score_ci95)} over {r.episodes} games, "
              f"{r.seconds:.0f} s", flush=True)


def _score(mean: float, ci95: float | None) -> str:
    """A round's score: its mean and 95% interval (none over one game)."""
    return f"{mean:,.1f}" + ("" if ci95 is None else f" ± {ci95:,.1f}")


def over_trainings(name: str, trained: list[dict], game: str) -> dict:
    """One data set's row over its trainings: the mean of their means with its 95% interval over
    the trainings (Student's t), each training's mean in order, and the games pooled."""
    means = [row["mean"] for row in trained]
    pooled = Scores(name, [s for row in trained for s in row["scores"]], [n for row in trained for n in row["lengths"]])
    mean = float(np.mean(means))
    return {**pooled.summary(), "method": name, "labels": trained[0]["labels"], "mean": mean,
            "ci95": Scores(name, means, []).ci95, "trainings": means, "normalized": human_normalized(game, mean)}


def print_markdown(result: dict, args) -> None:
    expert = result["expert"]
    norm = lambda x: "" if x is None else f"{x:.1f}%"  # noqa: E731
    print(f"\n| {result['game']} | labels | mean ± 95% | median | min | max | human-normalized | vs expert |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    cut = f", {expert['episodes_cut_at_cap']} cut at {args.demo_frames:,} frames" if expert["episodes_cut_at_cap"] else ""
    print(f"| expert (budget {args.budget}, {len(expert['scores'])} recorded episodes{cut}) | | "
          f"{expert['mean']:,.1f} | | {min(expert['scores']):,.0f} | {max(expert['scores']):,.0f} | "
          f"{norm(expert['normalized'])} | 1.00 |")
    for row in result["rows"]:
        ratio = row["mean"] / expert["mean"] if expert["mean"] else float("nan")
        print(f"| {row['method']} | {row['labels']:,} | {row['mean']:,.1f} ± {row['ci95']:,.1f} | {row['median']:,.1f} | "
              f"{row['min']:,.0f} | {row['max']:,.0f} | {norm(row['normalized'])} | {ratio:.2f} |")
    for row in result["rows"]:
        if "trainings" in row:
            print(f"\n{row['method']}, each: " + " / ".join(f"{m:,.1f}" for m in row["trainings"])
                  + " (± over the trainings; median, min and max over all their games)")
    print("\n| round | beta | +labels | total labels | val acc | score over the round's games | round s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in result["rounds"]:
        print(f"| {r['round']} | {r['beta']:g} | {r['new_labels']:,} | {r['total_labels']:,} | {r['val_accuracy']:.1%} | "
              f"{_score(r['score_mean'], r['score_ci95'])} ({r['episodes']}) | {r['seconds']:.0f} |")
    print("\ntime: " + ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items()))


if __name__ == "__main__":
    main()
