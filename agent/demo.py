"""The whole pipeline with no one at the keyboard (`mimic demo`, `make demo`).

The planning expert stands in for the human: it records a few demonstrations, behavioural
cloning trains on them, DAgger runs rounds with the expert as labeller, and the final policy is
scored against a random agent with the `eval` protocol. The sizes are chosen to finish in a few
minutes on a 2-core machine; every step is the real one the CLI commands run.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from agent.dagger import WARM_EPOCHS, DaggerConfig, DaggerRunner, RoundEvent, expert_demo_score, write_plot
from agent.dagger.planner import planner_collector
from agent.dagger.rounds import RoundResult, plus_minus, rounds_table
from agent.evaluate import EvalConfig, EvalReport, evaluate_checkpoint, report_table
from agent.planner import ExpertConfig, default_workers, expert_seeds, play_episodes
from agent.policy import load_checkpoint
from agent.train import TrainConfig, TrainHooks, TrainResult, train
from agent.watch import render_video, video_line
from recorder.games import Game
from recorder.store import GameStore, StoreError, atomic_write, ensure_writable, folder_lock

DEMO_MARK = ".mimic-demo"  # the file a demo writes first into its data root: the root is the demo's own


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
    video_frames: int | None = None  # the final agent's video (videos/demo.mp4), in frames; None: no video

    @classmethod
    def quick(cls, **settings) -> DemoConfig:
        """Tiny sizes (`mimic demo --quick`): a smoke run of every step in about a minute."""
        return cls(**{**dict(expert_episodes=2, expert_frames=300, budget=120, bc_epochs=2, rounds=2,
                             rollout_frames=300, round_epochs=1, round_eval_episodes=1, eval_episodes=2,
                             eval_max_frames=2000), **settings})


@dataclass(frozen=True)
class DemoEvent:
    step: str  # "expert", "train", "dagger", "eval", "video"
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
    video: Path | None = None
    video_frames: int = 0  # frames written into the video
    total_seconds: float = 0.0  # the whole run

    @property
    def final_checkpoint(self) -> Path:
        return Path(self.rounds[-1].checkpoint)


def run_demo(game: Game, store: GameStore, config: DemoConfig = DemoConfig(), *,
             on_event: Callable[[DemoEvent], None] | None = None,
             warn: Callable[[str], None] | None = None) -> DemoResult:
    """Expert demonstrations -> BC -> DAgger rounds -> evaluation (-> a video). Returns what it made.

    It writes only into a data root of its own (`demo_root`): a new or empty folder, or one an earlier demo made,
    which it continues: the demonstrations already recorded there are kept and not played again, the DAgger
    rounds finished are kept; the rest runs again. Stopped (Ctrl-C, SIGTERM, SIGHUP), it raises a
    KeyboardInterrupt saying where what it made is kept.
    """
    with demo_root(store.root), folder_lock(store.models, "mimic demo"), folder_lock(store.dagger, "mimic demo"):
        try:
            return _run_steps(game, store, config, on_event or (lambda event: None), warn)
        except KeyboardInterrupt:
            raise KeyboardInterrupt(f"the demo did not finish; what it made is kept in {store.root}/; run mimic demo "
                                    "again for a whole run") from None


@contextmanager
def demo_root(root: Path) -> Iterator[None]:
    """Hold `root` for a demo (`folder_lock`), after proving it is the demo's own: a folder that does not exist or
    is empty (then marked with DEMO_MARK, written before anything else), or one marked by an earlier demo. A root
    holding anything else is someone's data: a one-line `StoreError`, and nothing in it is touched."""
    root = Path(root)
    mark = root / DEMO_MARK
    if root.is_dir() and not mark.is_file():
        found = sorted(p.name for p in root.iterdir() if not p.name.startswith(".mimic-"))
        if found:
            shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
            raise StoreError(f"{root} already holds data mimic demo did not make ({shown}); the demo writes only "
                             "into a new folder or one of its own: pass another --data, or leave --data out")
    ensure_writable(root)
    with folder_lock(root, "mimic demo"):
        if not mark.is_file():
            text = json.dumps({"made_by": "mimic demo", "created": time.strftime("%Y-%m-%dT%H:%M:%S")}).encode()
            atomic_write(mark, lambda handle: handle.write(text))
        yield


def _run_steps(game: Game, store: GameStore, config: DemoConfig, tell: Callable[[DemoEvent], None],
               warn: Callable[[str], None] | None) -> DemoResult:
    seconds: dict[str, float] = {}
    started = time.perf_counter()
    expert_config = ExpertConfig(budget=config.budget)

    start = time.perf_counter()
    recorded = expert_seeds(store)
    seeds = [config.seed + i for i in range(config.expert_episodes) if config.seed + i not in recorded]
    if seeds:
        play_episodes(game, expert_config, seeds, directory=store.demos, max_frames=config.expert_frames,
                      workers=min(config.workers, len(seeds)), report=lambda p: tell(DemoEvent("expert", p)))
    seconds["expert demonstrations"] = time.perf_counter() - start

    start = time.perf_counter()
    bc = train(game, store.episode_paths(dagger=False), store.models,
               TrainConfig(epochs=config.bc_epochs, seed=config.seed),
               hooks=TrainHooks(on_progress=lambda p: tell(DemoEvent("train", p)), warn=warn))
    seconds["behavioural cloning"] = time.perf_counter() - start

    start = time.perf_counter()
    dagger_config = DaggerConfig(
        rounds=config.rounds, episodes=1, max_frames=config.rollout_frames, epochs=config.round_epochs,
        eval_episodes=config.round_eval_episodes, eval_max_frames=config.eval_max_frames,
        temperature=config.temperature, seed=config.seed,
    )
    with planner_collector(game, expert_config, max_frames=config.rollout_frames, temperature=config.temperature,
                           seed=config.seed, workers=config.workers) as collector:
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
    video, video_frames = None, 0
    if config.video_frames is not None:
        start = time.perf_counter()
        video = store.videos / "demo.mp4"
        video_frames = render_video(load_checkpoint(Path(rounds[-1].checkpoint), game), game, video, episodes=1,
                                    temperature=config.temperature, seed=config.seed, max_frames=config.video_frames,
                                    scale=3, say=lambda text: tell(DemoEvent("video", text)))
        seconds["video"] = time.perf_counter() - start
    return DemoResult(store, expert_score, bc, rounds, bc_score, report, report_path, plot, seconds, video,
                      video_frames, time.perf_counter() - started)


STEPS = {"expert": "1/5 expert demonstrations", "train": "2/5 behavioural cloning", "dagger": "3/5 DAgger",
         "eval": "4/5 evaluation", "video": "5/5 video"}


def demo_intro(game: Game, root: Path, config: DemoConfig) -> str:
    """One line (Rich markup) before a demo starts: the game, the folder and who stands in for a person."""
    return (f"[bold]mimic demo[/] on {game.name} in {root}/: the planning expert (budget {config.budget} frames a "
            "decision) stands in for a person.")


def demo_reporter(say: Callable[[str], None], tell: Callable[[str], None]) -> Callable[[DemoEvent], None]:
    """The `on_event` of `run_demo`: `say` gets a status line for every event (the step and where it
    stands, a video's "rendering: ..." included), `tell` a line to keep for every finished DAgger round."""

    def on_event(event: DemoEvent) -> None:
        detail = event.detail
        text = STEPS[event.step]
        if event.step == "expert":
            text += f": episode {detail.index + 1}, {detail.frames:,} frames, score {detail.score:,.0f}"
        elif event.step == "train":
            text += f": epoch {detail.epoch}/{detail.epochs}, loss {detail.loss:.3f}, acc {detail.accuracy:.1%}"
        elif event.step == "dagger":
            text += f" round {detail.round}: {detail.kind}"
            if detail.kind == "round":
                r = detail.detail
                score = plus_minus(r.score_mean, r.score_ci95)
                tell(f"DAgger round {r.round}: +{r.new_labels:,} labels, score {score}")
        elif event.step == "eval":
            who, i, score = detail
            text += f": {who} episode {i}, score {score:,.0f}"
        elif event.step == "video":
            text += f": {detail}"
        say(text)

    return on_event


def demo_report(result: DemoResult, config: DemoConfig):
    """What a finished demo prints: its video, the expert's and BC's scores, the rounds, the final evaluation,
    the time each step took and in all, and where the report, plot, video and policy are."""
    from rich.console import Group
    from rich.text import Text

    times = ", ".join(f"{name} {s:.0f} s" for name, s in result.seconds.items())
    video = [] if result.video is None else [Text(video_line(result.video, result.video_frames, 1, result.store.game))]
    return Group(
        *video,
        Text(f"expert demonstrations: mean score {result.expert_score:,.0f} (capped at {config.expert_frames:,} "
             f"frames); BC policy before DAgger: {result.bc_score:,.1f}"),
        rounds_table(result.rounds, game=result.store.game),
        report_table(result.report),
        Text(f"time: {times}; total {result.total_seconds:.0f} s"),
        Text(f"report: {result.report_path}\nplot:   {result.plot}\nvideo:  {result.video}\n"
             f"policy: {result.final_checkpoint}"),
    )


__all__ = ["DemoConfig", "DemoEvent", "DemoResult", "RoundEvent", "demo_intro", "demo_report", "demo_reporter",
           "run_demo"]
