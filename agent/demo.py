"""The whole pipeline with no one at the keyboard (`mimic demo`, `make demo`).

The planning expert stands in for the human: it records a few demonstrations, behavioural
cloning trains on them, DAgger runs rounds with the expert as labeller, and the final policy is
scored against a random agent with the `eval` protocol. The sizes are chosen to finish in a few
minutes on a 2-core machine; every step is the real one the CLI commands run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from agent.dagger import WARM_EPOCHS, DaggerConfig, DaggerRunner, RoundEvent, expert_demo_score, write_plot
from agent.dagger.planner import PlannerCollector
from agent.dagger.rounds import RoundResult
from agent.evaluate import EvalConfig, EvalReport, evaluate_checkpoint
from agent.planner import Expert, ExpertConfig, ExpertPool, default_workers, play_episodes
from agent.train import TrainConfig, TrainResult, train
from recorder.games import Game
from recorder.store import GameStore


@dataclass(frozen=True)
class DemoConfig:
    expert_episodes: int = 8
    expert_frames: int = 3000  # per demonstration (50 s of play)
    budget: int = 600  # planner look-ahead per decision, in emulator frames
    bc_epochs: int = 20
    rounds: int = 2
    rollout_frames: int = 3000
    round_epochs: int = WARM_EPOCHS
    round_eval_episodes: int = 4
    eval_episodes: int = 20
    eval_max_frames: int = 108_000
    # The agent samples its actions at this temperature in rollouts, evaluation and the video.
    temperature: float = 0.25
    seed: int = 0
    workers: int = field(default_factory=default_workers)


@dataclass(frozen=True)
class DemoEvent:
    step: str  # "expert", "train", "dagger", "eval"
    detail: object


@dataclass(frozen=True)
class DemoResult:
    store: GameStore
    expert_score: float | None
    bc: TrainResult
    rounds: list[RoundResult]
    bc_score: float
    report: EvalReport
    report_path: Path | None
    plot: Path
    seconds: dict[str, float]

    @property
    def final_checkpoint(self) -> Path:
        return Path(self.rounds[-1].checkpoint)


def run_demo(game: Game, store: GameStore, config: DemoConfig = DemoConfig(), *,
             on_event: Callable[[DemoEvent], None] | None = None,
             warn: Callable[[str], None] | None = None) -> DemoResult:
    """Expert demonstrations -> BC -> DAgger rounds -> evaluation. Returns what it made."""
    tell = on_event or (lambda event: None)
    seconds: dict[str, float] = {}
    expert_config = ExpertConfig(budget=config.budget)

    start = time.perf_counter()
    seeds = [config.seed + i for i in range(config.expert_episodes)]
    play_episodes(game, expert_config, seeds, directory=store.demos, max_frames=config.expert_frames,
                  workers=min(config.workers, len(seeds)), report=lambda p: tell(DemoEvent("expert", p)))
    seconds["expert demonstrations"] = time.perf_counter() - start

    start = time.perf_counter()
    bc = train(game, store.episode_paths(dagger=False), store.models,
               TrainConfig(epochs=config.bc_epochs, seed=config.seed),
               on_progress=lambda p: tell(DemoEvent("train", p)), warn=warn)
    seconds["behavioural cloning"] = time.perf_counter() - start

    start = time.perf_counter()
    dagger_config = DaggerConfig(
        rounds=config.rounds, episodes=1, max_frames=config.rollout_frames, epochs=config.round_epochs,
        eval_episodes=config.round_eval_episodes, eval_max_frames=config.eval_max_frames,
        temperature=config.temperature, seed=config.seed,
    )
    with ExpertPool(game, expert_config, seed=config.seed, workers=config.workers) as pool:
        collector = PlannerCollector(game, Expert(game, expert_config, seed=config.seed), config.rollout_frames,
                                     relabel=pool, temperature=config.temperature, seed=config.seed)
        runner = DaggerRunner(game, store, bc.avg_checkpoint, collector, dagger_config,
                              on_event=lambda e: tell(DemoEvent("dagger", e)), warn=warn)
        bc_score = runner.start_score()
        rounds = runner.run()
    seconds["DAgger rounds"] = time.perf_counter() - start

    start = time.perf_counter()
    report, report_path = evaluate_checkpoint(
        Path(rounds[-1].checkpoint), game,
        EvalConfig(episodes=config.eval_episodes, max_frames=config.eval_max_frames, temperature=config.temperature,
                   seed=config.seed + 99),
        store=store, on_episode=lambda who, i, score: tell(DemoEvent("eval", (who, i, score))),
    )
    seconds["evaluation"] = time.perf_counter() - start
    expert_score = expert_demo_score(store)
    plot = write_plot(rounds, store, expert_score=expert_score, bc_score=bc_score)
    return DemoResult(store, expert_score, bc, rounds, bc_score, report, report_path, plot, seconds)


__all__ = ["DemoConfig", "DemoEvent", "DemoResult", "RoundEvent", "run_demo"]
