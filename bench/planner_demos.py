"""What the benches that train on the planner's demonstrations share (label_targets, value_targets,
label_scaling, previous_action; learning with `--data`).

Each trains on the same data: `--episodes` demonstrations of `--frames` frames at `--budget`,
seeds 100 and up (so the scripts record the same games), trained once per `--seeds` entry
(`--epochs` at `--lr`) and scored over `--eval-episodes`. The demonstrations are recorded into
a temporary folder, or with `--data DIR` kept in DIR and reused by the next run that names it
(only the seeds it lacks are recorded: 128 Pac-Man demonstrations are 40 minutes on 2 cores).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from agent.evaluate import EvalConfig, Scores, evaluate_checkpoint, random_scores
from agent.planner import ExpertConfig, default_workers, play_episodes
from agent.policy import Policy, load_checkpoint, read_checkpoint, save_checkpoint
from agent.train import LAST_NAME, EpochMetrics, TrainConfig
from recorder.games import Game
from recorder.store import EpisodeInfo, GameStore, read_info

FIRST_SEED = 100
EVAL_SEED = 7  # every policy, and the random agent, plays the same evaluation games
TEMPERATURE = 0.25  # policies play sharpened, as `mimic demo` runs them (BENCHMARKS.md, label targets)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--episodes", type=int, default=8, help="expert demonstrations")
    parser.add_argument("--frames", type=int, default=3000, help="frames per demonstration")
    parser.add_argument("--budget", type=int, default=600)
    parser.add_argument("--seeds", default="1,2,3", help="training seeds")
    # `mimic demo`'s behavioural cloning. (8 epochs at 5e-4, the first runs' setting, trains too little:
    # on the same data three training seeds of six ended below the random agent; BENCHMARKS.md, value targets.)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--eval-episodes", type=int, default=10)
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--data", type=Path, help="keep the demonstrations in this folder and reuse those already there")


def training_seeds(args: argparse.Namespace) -> list[int]:
    return [int(s) for s in args.seeds.split(",")]


@contextlib.contextmanager
def demonstrations(game: Game, args: argparse.Namespace) -> Iterator[tuple[GameStore, list[Path]]]:
    """(store, the `--episodes` demonstrations by seed): recorded now, or found in `--data`.

    Models trained on them go under the store too (so, with `--data`, they are kept as well).
    """
    if args.data is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield _demonstrations(game, args, GameStore(Path(tmp), game.name))
    else:
        yield _demonstrations(game, args, GameStore(args.data, game.name))


def _demonstrations(game: Game, args: argparse.Namespace, store: GameStore) -> tuple[GameStore, list[Path]]:
    wanted = [FIRST_SEED + i for i in range(args.episodes)]
    found = _found(store, wanted, args)
    missing = [seed for seed in wanted if seed not in found]
    start = time.perf_counter()
    if missing:
        play_episodes(game, ExpertConfig(budget=args.budget), missing, directory=store.demos,
                      max_frames=args.frames, workers=args.workers)
        found = _found(store, wanted, args)
    print(f"expert: {len(wanted)} demonstrations ({len(missing)} recorded now in {time.perf_counter() - start:.0f} s), "
          f"mean score {np.mean([found[seed][1].score for seed in wanted]):,.0f} in {args.frames:,} frames", flush=True)
    return store, [found[seed][0] for seed in wanted]


def _found(store: GameStore, wanted: list[int], args: argparse.Namespace) -> dict[int, tuple[Path, EpisodeInfo]]:
    """The store's demonstrations of the wanted seeds; exits on one recorded with other settings."""
    found = {}
    for path in store.episode_paths(dagger=False):
        info = read_info(path)
        if info.seed not in wanted:
            continue
        budget = info.extra.get("expert", {}).get("budget")
        if info.source != "expert" or budget != args.budget or info.length > args.frames or (
                info.length < args.frames and info.truncated):
            raise SystemExit(f"{path}: not a demonstration at --budget {args.budget} of --frames "
                             f"{args.frames}; pass another --data folder, or the settings it was recorded with")
        found[info.seed] = (path, info)
    return found


def model_folder(demos: int, config: TrainConfig) -> str:
    """The folder under the store's models/ where a bench keeps a training of the first `demos`
    demonstrations with `config`'s seed, ensemble and averaging (the others at `mimic demo`'s):
    "32-1", "32-1-avg5", "32-1-ens3-shuffled-avg5", "32-1-mirror-avg5". A bench that trains the same
    way finds it there (trained_before)."""
    return f"{demos}-{config.seed}" + (f"-ens{config.ensemble}" if config.ensemble > 1 else "") + (
        f"-{config.member_batches}" if config.member_batches != "shared" else "") + (
        "-mirror" if config.mirror else "") + (f"-avg{config.average:g}" if config.average else "")


def trained_before(out_dir: Path, paths: Sequence[Path], config: TrainConfig) -> EpochMetrics | None:
    """The last epoch's metrics of a finished training in out_dir on exactly these episodes with
    exactly these settings (read from its last.pt), or None: a bench may take that model rather
    than train again.

    The same settings train the same weights on the same machine and torch thread count
    (BENCHMARKS.md); a folder brought from another machine holds an equally valid training, not
    the identical one.
    """
    meta = _same_training(out_dir, paths, config)
    if meta is None or meta.get("epoch") != config.epochs:
        return None
    return EpochMetrics(**meta["metrics"])


def cut_short(out_dir: Path, paths: Sequence[Path], config: TrainConfig) -> int:
    """The epochs a training in out_dir on exactly these episodes with these settings finished
    before it was cut (killed, or a session's end) short of `config.epochs`; 0 where there is no
    such training. A bench resumes it (`train(..., resume=True)`), which ends on the weights the
    uncut run would have.
    """
    meta = _same_training(out_dir, paths, config)
    return meta["epoch"] if meta is not None and meta.get("epoch", 0) < config.epochs else 0


def _same_training(out_dir: Path, paths: Sequence[Path], config: TrainConfig) -> dict | None:
    """The meta of out_dir's last.pt when it trained on these episodes with `config`'s settings,
    its length (epochs) aside; None otherwise."""
    last = out_dir / LAST_NAME
    if not last.is_file():
        return None
    meta = read_checkpoint(last)["meta"]
    episodes = meta.get("train_episodes", []) + meta.get("val_episodes", [])
    # a setting its checkpoint does not name was not one yet when it trained: it trained at the default
    if (asdict(replace(TrainConfig(**meta.get("train", {})), epochs=config.epochs)) != asdict(config)
            or sorted(episodes) != sorted(p.name for p in paths)):
        return None
    return meta


def mirror_voting(checkpoint: Path, game: Game) -> Path:
    """The checkpoint's weights acting on the vote of the screen and its mirror image
    (`PolicyConfig.mirror`), saved beside them as vote-<name>."""
    loaded = load_checkpoint(checkpoint, game)
    policy = Policy(replace(loaded.policy.config, mirror=game.mirror_actions))
    policy.load_state_dict(loaded.policy.state_dict())
    return save_checkpoint(checkpoint.with_name(f"vote-{checkpoint.name}"), policy, game, loaded.obs, meta=loaded.meta)


def score(game: Game, checkpoint: Path, args: argparse.Namespace, temperature: float = TEMPERATURE) -> Scores:
    """The policy's scores under the eval protocol over `--eval-episodes`, sampling at `temperature`."""
    config = EvalConfig(episodes=args.eval_episodes, temperature=temperature, seed=EVAL_SEED, random_baseline=False)
    return evaluate_checkpoint(checkpoint, game, config, save=False)[0].agent


def over_seeds(scores: list[float]) -> str:
    """Markdown cell: the mean over training seeds, bold, with its 95% interval over them."""
    spread = 1.96 * np.std(scores, ddof=1) / np.sqrt(len(scores)) if len(scores) > 1 else float("nan")
    return f"**{np.mean(scores):.1f}** ± {spread:.1f}"


def seed_line(seed: int, row: dict, kinds: Sequence[str]) -> str:
    """`  seed S: kind mean ± ci, ...`: a seed's scores as a bench goes."""
    return f"  seed {seed}: " + ", ".join(f"{kind} {row[kind].mean:.1f} ± {row[kind].ci95:.1f}" for kind in kinds)


def print_gaps(label: str, scores: Sequence[float], baseline: Sequence[float]) -> None:
    """`LABEL, seed by seed: +a / -b; over seeds mean ± ci, ahead in k of n`: one policy's scores
    less another's, paired by training seed."""
    gaps = np.subtract(scores, baseline)
    print(f"{label}, seed by seed: " + " / ".join(f"{g:+.1f}" for g in gaps)
          + f"; over seeds {over_seeds(list(gaps))}, ahead in {int((gaps > 0).sum())} of {len(gaps)}")


def train_seconds(row: dict, trainings: Sequence[str]) -> str:
    """A seed table's cell: each training's seconds (`row["NAME s"]`), or "reused" where it was not trained."""
    return " / ".join(f"{row[name + ' s']:.0f}" if name + " s" in row else "reused" for name in trainings)


def print_seed_table(rows: Sequence[dict], kinds: Sequence[str], last_header: str, last_cell: Callable[[dict], str]
                     ) -> None:
    """Markdown table a seed a row: each kind's score, each kind's validation loss (`row["val KIND"]`),
    and a last column of the bench's own."""
    print(f"\n| seed | {' | '.join(kinds)} | val loss: {' / '.join(kinds)} | {last_header} |")
    print("| ---: |" + " ---: |" * len(kinds) + " ---: | ---: |")
    for row in rows:
        scores = " | ".join(f"{row[kind].mean:.1f} ± {row[kind].ci95:.1f}" for kind in kinds)
        losses = " / ".join(f"{row['val ' + kind]:.3f}" for kind in kinds)
        print(f"| {row['seed']} | {scores} | {losses} | {last_cell(row)} |")


def print_over_seeds(scores: dict[str, list[float]], expert: float, first_column: str) -> None:
    """Markdown table: each kind's scores over the training seeds (mean with its 95% interval, the
    standard deviation, the lowest and highest) and its share of the expert's score."""
    n = len(next(iter(scores.values())))
    print(f"\n| {first_column} | mean over {n} seeds (± 95%) | sd over seeds | lowest | highest | of the expert's {expert:,.0f} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind, values in scores.items():
        sd = np.std(values, ddof=1) if len(values) > 1 else float("nan")
        print(f"| {kind} | {over_seeds(values)} | {sd:.1f} | {min(values):.1f} | "
              f"{max(values):.1f} | {np.mean(values) / expert:.2f} |")


def print_random(game: Game, checkpoint: Path, args: argparse.Namespace) -> None:
    """The random agent on the evaluation games of `mimic eval --seed 7` (the checkpoint only
    names the observation settings)."""
    obs = load_checkpoint(checkpoint, game).obs
    random = random_scores(game, obs, EvalConfig(episodes=args.eval_episodes, seed=EVAL_SEED), seed=EVAL_SEED + 10_000)
    print(f"\nrandom agent, same protocol: {random.mean:.1f} ± {random.ci95:.1f}")
