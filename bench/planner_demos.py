"""What the benches that train on the planner's demonstrations share (label_targets, value_targets, label_scaling).

Each trains on the same data: `--episodes` demonstrations of `--frames` frames at `--budget`,
seeds 100 and up (so the scripts record the same games), trained once per `--seeds` entry
(`--epochs` at `--lr`) and scored over `--eval-episodes`.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from agent.evaluate import EvalConfig, Scores, evaluate_checkpoint
from agent.expert import ExpertConfig, default_workers, play_episodes
from recorder.games import Game

FIRST_SEED = 100
EVAL_SEED = 7  # every policy, and the random agent, plays the same evaluation games


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


def training_seeds(args: argparse.Namespace) -> list[int]:
    return [int(s) for s in args.seeds.split(",")]


def record(game: Game, args: argparse.Namespace, directory: Path) -> None:
    """The expert records the demonstrations into `directory`; prints their mean score and the time."""
    start = time.perf_counter()
    demos = play_episodes(game, ExpertConfig(budget=args.budget), [FIRST_SEED + i for i in range(args.episodes)],
                          directory=directory, max_frames=args.frames, workers=args.workers)
    print(f"expert: {args.episodes} demonstrations, mean score {np.mean([d.score for d in demos]):,.0f} "
          f"in {args.frames:,} frames, {time.perf_counter() - start:.0f} s", flush=True)


def score(game: Game, checkpoint: Path, args: argparse.Namespace, temperature: float) -> Scores:
    """The policy's scores under the eval protocol over `--eval-episodes`, sampling at `temperature`."""
    config = EvalConfig(episodes=args.eval_episodes, temperature=temperature, seed=EVAL_SEED, random_baseline=False)
    return evaluate_checkpoint(checkpoint, game, config, save=False)[0].agent


def over_seeds(scores: list[float]) -> str:
    """Markdown cell: the mean over training seeds, bold, with its 95% interval over them."""
    spread = 1.96 * np.std(scores, ddof=1) / np.sqrt(len(scores)) if len(scores) > 1 else float("nan")
    return f"**{np.mean(scores):.1f}** ± {spread:.1f}"


def print_random(game: Game, checkpoint: Path, args: argparse.Namespace) -> None:
    """The random agent on the same evaluation games (the checkpoint only names the observation settings)."""
    random = evaluate_checkpoint(checkpoint, game, EvalConfig(episodes=args.eval_episodes, seed=EVAL_SEED),
                                 save=False)[0].random
    print(f"\nrandom agent, same protocol: {random.mean:.1f} ± {random.ci95:.1f}")
