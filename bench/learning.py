"""Learning quality: the planning expert, BC on its demonstrations, DAgger from BC, and BC on as
many labels as DAgger ended with, every policy scored on the same games.

    python -m bench.learning --game mspacman --budget 2000 --data runs/ms2000 --demos 64 --seed 1 \\
        --root runs/ms64-s1 --out runs/ms64-s1.json

1. The planner (`--budget` frames of look-ahead a decision) records `--demos` demonstrations of
   at most `--demo-frames` frames. With `--data DIR` they are kept in DIR (seeds 100 and up;
   only the seeds DIR lacks are recorded, so several runs share them) and BC's model too.
2. BC trains on them for `--epochs` with `mimic train`'s defaults (the measured recipe) and
   plays its averaged weights (avg.pt).
3. DAgger runs `--rounds` rounds from BC: `--rollouts` rollouts of at most `--rollout-frames`
   frames a round, the planner labelling every decision, `--round-epochs` warm epochs a round.
4. In a second store the planner records more demonstrations until it holds as many labelled
   decisions as DAgger's final data set; BC trains on those ("BC, same labels").
   `--no-same-labels` stops before this step.
5. Every policy is scored with the eval protocol over `--eval-episodes` games (evaluation seed
   `--seed` + 7), sampling at `--temperature` (the rollouts too), beside the random agent.

`--dagger-seed S` gives DAgger a seed of its own (rollouts, the planner's ties, the rounds'
training and 4-game scores), so one BC kept in `--data` can start several DAgger runs, each in
its own `--root`. A re-run with the same `--root` goes on from what the last one finished: the
demonstrations, the trainings (resumed where they were cut), DAgger's finished rounds and
BC-equal's recordings; each policy is scored again.

The expert's score is that of its recorded demonstrations (recording settings: no sticky
actions; episodes cut at `--demo-frames`, which the table says).
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from agent.dagger import DaggerConfig, DaggerRunner, count_labels
from agent.dagger.planner import PlannerCollector
from agent.evaluate import REFERENCES, EvalConfig, evaluate_checkpoint, human_normalized
from agent.planner import Expert, ExpertConfig, ExpertPool, default_workers, play_episodes
from agent.policy import read_checkpoint
from agent.train import AVG_NAME, LAST_NAME, TrainConfig, train
from recorder.games import Game, resolve_game
from recorder.recording import rollout_seed
from recorder.store import GameStore, read_info

FIRST_SEED = 100  # the demonstrations kept in --data are the planner's games from this seed on


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.learning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--budget", type=int, default=600, help="planner frames of look-ahead per decision")
    parser.add_argument("--demos", type=int, default=8, help="planner demonstrations BC trains on")
    parser.add_argument("--demo-frames", type=int, default=3000, help="frames per demonstration at most")
    parser.add_argument("--epochs", type=int, default=20, help="BC epochs")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rollouts", type=int, default=2, help="DAgger rollouts a round")
    parser.add_argument("--rollout-frames", type=int, default=3000)
    parser.add_argument("--round-epochs", type=int, default=5, help="warm epochs a DAgger round")
    parser.add_argument("--round-eval-episodes", type=int, default=4)
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--eval-max-frames", type=int, default=108_000)
    parser.add_argument("--temperature", type=float, default=0.25, help="policy sampling temperature")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dagger-seed", type=int, default=None,
                        help="DAgger's own seed (default --seed): another DAgger run from the same BC, in another --root")
    parser.add_argument("--root", type=Path, default=None, help="keep the run here (default: a temporary folder)")
    parser.add_argument("--data", type=Path, default=None,
                        help="keep the demonstrations and BC's model in this folder, shared by runs that name it")
    parser.add_argument("--no-same-labels", action="store_true", help="stop after DAgger's evaluation (no step 4)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    args = parser.parse_args()

    # TrainConfig's defaults are the recipe this bench measures (`mimic train` with no flags).
    try:
        train_config = TrainConfig(epochs=args.epochs, seed=args.seed)
    except ValueError as error:
        parser.error(str(error))
    frameskip = train_config.obs.frameskip
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
    print(f"{game.name}: run in {root}; {platform.processor() or platform.machine()}, {default_workers()} cores")

    def record(store: GameStore, seeds: list[int], frames: int) -> None:
        play_episodes(game, expert_config, seeds, directory=store.demos, max_frames=frames,
                      workers=min(args.workers, len(seeds)))

    def score(name: str, checkpoint: Path, labels: int, baseline: bool = False) -> None:
        start = time.perf_counter()
        config = eval_config if baseline else EvalConfig(**{**eval_config.__dict__, "random_baseline": False})
        report, _ = evaluate_checkpoint(checkpoint, game, config, store=dagger_store, save=False)
        seconds[f"eval {name}"] = time.perf_counter() - start
        for method, scores, count in [(name, report.agent, labels)] + (
                [("random agent", report.random, 0)] if baseline and report.random is not None else []):
            rows.append({"method": method, "labels": count, **scores.summary(),
                         "normalized": human_normalized(game.name, scores.mean)})
        print(f"  {name}: {report.agent.mean:,.1f} ± {report.agent.ci95:,.1f} ({report.protocol})", flush=True)

    def trained(name: str, paths: list[Path], out_dir: Path) -> Path:
        """BC's averaged weights after training on paths into out_dir (resumed, or taken as it is,
        where an earlier run of the bench trained there)."""
        resume = (out_dir / LAST_NAME).is_file()
        if resume and sorted(trained_on(out_dir / LAST_NAME)) != sorted(p.name for p in paths):
            parser.error(f"{out_dir} holds a training on other episodes: give another --root or --data")
        start = time.perf_counter()
        train(game, paths, out_dir, train_config, resume=resume)
        seconds[f"{name} training"] = time.perf_counter() - start
        return out_dir / AVG_NAME

    # 1-2: demonstrations, BC
    start = time.perf_counter()
    if args.data is None:
        first_seed, bc_dir = args.seed, dagger_store.models / "bc"
        have = dagger_store.episode_paths(dagger=False)
        if not have:
            record(dagger_store, [first_seed + i for i in range(args.demos)], args.demo_frames)
        elif len(have) != args.demos:
            parser.error(f"{dagger_store.demos} holds {len(have)} demonstrations from an earlier run, not "
                         f"--demos {args.demos}: give that run's --demos, or another --root")
    else:
        first_seed = FIRST_SEED
        data_store = GameStore(args.data, game.name)
        dagger_store.demos.mkdir(parents=True, exist_ok=True)
        for path in kept_demonstrations(game, data_store, args, parser):
            if not (dagger_store.demos / path.name).exists():
                shutil.copy2(path, dagger_store.demos / path.name)
        bc_dir = data_store.models / f"{args.demos}-{args.seed}"
    seconds["expert demonstrations"] = time.perf_counter() - start
    demo_paths = dagger_store.episode_paths(dagger=False)  # a re-run's store holds DAgger's rounds too
    demo_infos = [read_info(p) for p in demo_paths]
    bc_checkpoint = trained("BC", demo_paths, bc_dir)
    bc_labels = count_labels(demo_paths, frameskip)
    score(f"BC, {args.demos} demonstrations", bc_checkpoint, bc_labels, baseline=True)

    # 3: DAgger
    start = time.perf_counter()
    with ExpertPool(game, expert_config, seed=dagger_seed, workers=args.workers) as pool:
        collector = PlannerCollector(game, Expert(game, expert_config, seed=dagger_seed), args.rollout_frames,
                                     relabel=pool, temperature=args.temperature, seed=dagger_seed)
        config = DaggerConfig(rounds=args.rounds, episodes=args.rollouts, max_frames=args.rollout_frames,
                              epochs=args.round_epochs, eval_episodes=args.round_eval_episodes,
                              eval_max_frames=args.eval_max_frames, temperature=args.temperature, seed=dagger_seed)
        rounds = DaggerRunner(game, dagger_store, bc_checkpoint, collector, config, on_event=print_round).run()
    seconds["DAgger rounds"] = time.perf_counter() - start
    dagger_labels = rounds[-1].total_labels
    score(f"DAgger, {args.rounds} rounds", Path(rounds[-1].checkpoint), dagger_labels)

    # 4: BC on as many planner labels as DAgger's
    if not args.no_same_labels:
        start = time.perf_counter()
        equal_store.demos.mkdir(parents=True, exist_ok=True)
        for path in demo_paths:
            if not (equal_store.demos / path.name).exists():
                shutil.copy2(path, equal_store.demos / path.name)
        # the seeds after the demonstrations' and after any an earlier run recorded here (no game twice)
        seed = max([first_seed + args.demos - 1] + [read_info(p).seed for p in equal_store.episode_paths()]) + 1
        while (have := count_labels(equal_store.episode_paths(), frameskip)) < dagger_labels:
            # the last batch is cut so that the total lands on DAgger's label count (give or take a decision)
            per_episode = -(-(dagger_labels - have) // args.workers)
            record(equal_store, [seed + i for i in range(args.workers)],
                   min(args.demo_frames, per_episode * frameskip))
            seed += args.workers
        seconds["more expert demonstrations"] = time.perf_counter() - start
        equal_paths = equal_store.episode_paths()
        equal_labels = count_labels(equal_paths, frameskip)
        score("BC, same labels", trained("BC, same labels", equal_paths, equal_store.models), equal_labels)

    expert_scores = [i.score for i in demo_infos]
    expert_mean = float(np.mean(expert_scores))
    result = {
        "game": game.name, "date": time.strftime("%Y-%m-%d"), "args": {k: str(v) for k, v in vars(args).items()},
        "expert": {"scores": expert_scores, "mean": expert_mean,
                   "episodes_cut_at_cap": sum(i.ended == "frame_cap" for i in demo_infos),
                   "normalized": human_normalized(game.name, expert_mean)},
        "rounds": [r.__dict__ for r in rounds], "rows": rows, "seconds": seconds,
        "reference": REFERENCES.get(game.name, (None, None, None))[2],
    }
    print_markdown(result, args)
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))


def kept_demonstrations(game: Game, store: GameStore, args: argparse.Namespace,
                        parser: argparse.ArgumentParser) -> list[Path]:
    """The `--demos` demonstrations of seeds FIRST_SEED and up in the store, recording those it
    lacks; a usage error for one recorded with other settings."""
    wanted = [FIRST_SEED + i for i in range(args.demos)]

    def found() -> dict[int, Path]:
        paths = {}
        for path in store.episode_paths(dagger=False):
            info = read_info(path)
            if info.seed not in wanted:
                continue
            budget = info.extra.get("expert", {}).get("budget")
            if info.source != "expert" or budget != args.budget or info.length > args.demo_frames or (
                    info.length < args.demo_frames and info.truncated):
                parser.error(f"{path}: not a demonstration at --budget {args.budget} of --demo-frames "
                             f"{args.demo_frames}; give another --data folder, or the settings it was recorded with")
            paths[info.seed] = path
        return paths

    if missing := [seed for seed in wanted if seed not in found()]:
        play_episodes(game, ExpertConfig(budget=args.budget), missing, directory=store.demos,
                      max_frames=args.demo_frames, workers=min(args.workers, len(missing)))
    paths = found()
    return [paths[seed] for seed in wanted]


def trained_on(checkpoint: Path) -> list[str]:
    """The episode file names a checkpoint's training split into training and validation."""
    meta = read_checkpoint(checkpoint)["meta"]
    return meta.get("train_episodes", []) + meta.get("val_episodes", [])


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


def print_markdown(result: dict, args: argparse.Namespace) -> None:
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
    print("\n| round | beta | +labels | total labels | val acc | score over the round's games | round s |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in result["rounds"]:
        print(f"| {r['round']} | {r['beta']:g} | {r['new_labels']:,} | {r['total_labels']:,} | {r['val_accuracy']:.1%} | "
              f"{_score(r['score_mean'], r['score_ci95'])} ({r['episodes']}) | {r['seconds']:.0f} |")
    print("\ntime: " + ", ".join(f"{k} {v:.0f} s" for k, v in result["seconds"].items()))


if __name__ == "__main__":
    main()
