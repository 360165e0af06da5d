"""DAgger: the agent plays, the expert says what it should have done, the labels join the data.

Built around the BC trainer (`agent.train.train`), not inheriting from it. Each round:

1. **Roll out.** The current policy plays `episodes` episodes at the recording settings
   (frameskip 1, sticky actions off), deciding every `frameskip` frames from the same
   observation pipeline as training. With probability beta (`beta_for_round`) a decision is
   the expert's instead of the policy's. Before every decision the emulator state is saved.
2. **Label.** The expert labels every decision's saved state (over a process pool; the
   decisions it already took live keep their action), with the set of actions as good as the
   label. Each step gets its decision's label and set, so `agent.obs.decision_targets` gives
   back exactly the expert's judgement.
3. **Aggregate.** The episodes are stored in `dagger/round-NNN/` in the store's format: the
   action executed and the label both kept, replayable like any recording.
4. **Retrain** on everything recorded for the game (demos and every round), from the last
   round's weights for `epochs` more epochs with the recipe `mimic train` uses (and the starting
   policy's learning rate, batch and validation share, read from its checkpoint:
   `round_training`), keep the averaged weights (avg.pt), and **evaluate** them with the `eval`
   protocol.

The planner's rollouts are `agent.dagger.planner`; a person's plug in as other collectors.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import ContextManager, Protocol

from agent.dagger.rounds import RoundResult, beta_for_round, finished_rounds, plot_rounds, round_line, rounds_table
from agent.evaluate import EvalConfig, EvalReport, evaluate_checkpoint
from agent.obs import ObsConfig, decision_labels
from agent.rollout import Rollout
from agent.train import TrainConfig, TrainHooks, TrainResult, describe, train
from recorder.games import Game
from recorder.store import (
    DamagedEpisodeError, GameStore, atomic_write, ensure_writable, folder_lock, load_episode, read_info,
)

START_FILE = "start.json"
WARM_EPOCHS = 5  # a round's epochs, from the last round's weights, unless told
# Rounds train with the starting policy's own training settings (read from its checkpoint), so that
# a policy trained with, say, `mimic train --lr 1e-3` is retrained the same way; all but these: the
# epochs and the seed (DaggerConfig's), the observation pipeline and the networks (the checkpoint's
# own), and the device and thread count (this machine's business).
NOT_INHERITED = ("epochs", "obs", "networks", "seed", "device", "threads")


@dataclass(frozen=True)
class DaggerConfig:
    """How DAgger runs; the defaults are what `mimic dagger` runs. Every round keeps the averaged weights."""

    rounds: int = 5
    episodes: int = 2  # rollouts per round
    max_frames: int = 3000  # emulator frames per rollout at most (50 s of play)
    beta0: float = 0.5  # beta of round 1; halves every round
    epochs: int = WARM_EPOCHS  # training epochs per round, from the last round's weights
    eval_episodes: int = 10
    eval_max_frames: int = 108_000
    greedy: bool = False  # act greedily in rollouts (default: sample, as the policy will be run)
    temperature: float = 0.25  # sampling temperature of rollouts and evaluations (<1: sharper)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.rounds < 1:
            raise ValueError(f"rounds must be at least 1, got {self.rounds}")
        if self.episodes < 1:
            raise ValueError(f"episodes per round must be at least 1, got {self.episodes}")
        if self.max_frames < 1:
            raise ValueError(f"max frames per rollout must be at least 1, got {self.max_frames}")
        if self.epochs < 1:
            raise ValueError(f"epochs per round must be at least 1, got {self.epochs}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        beta_for_round(1, self.beta0)  # validates beta0

    def beta(self, round_index: int) -> float:
        return beta_for_round(round_index, self.beta0)


def labelled_decisions(labels, frameskip: int) -> tuple[int, int]:
    """(decisions, decisions with a label) of an episode's per-step labels, as the trainer counts them."""
    decisions = decision_labels(labels, frameskip)
    return len(decisions), int((decisions >= 0).sum())


def count_labels(paths: Sequence[Path], frameskip: int) -> int:
    """Labelled decisions in the given episodes (what the trainer learns from); a damaged file counts as
    nothing, as the trainer skips it (and names it)."""
    total = 0
    for path in paths:
        try:
            total += labelled_decisions(load_episode(path, frames=False).labels, frameskip)[1]
        except DamagedEpisodeError:
            continue
    return total


def finished_rollouts(folder: Path) -> int:
    """Rollouts stored in a round folder.

    A rollout is one file (the planner, takeover, review) or several (rewind: the agent's
    stretches and the person's segments, each its own episode); the file that ends a rollout of
    several carries `extra["rollout_end"] = True`, its other files False. A file without the
    mark is a whole rollout. Unreadable files count as nothing (the trainer skips them too).
    """
    if not Path(folder).is_dir():
        return 0
    count = 0
    for path in sorted(Path(folder).glob("*.npz")):
        try:
            info = read_info(path)
        except DamagedEpisodeError:
            continue
        count += bool(info.extra.get("rollout_end", True))
    return count


class LabellingStopped(Exception):
    """The person labelling pressed Esc or closed the window; what they labelled is stored."""


class Collector(Protocol):
    """Plays a round's rollouts with the policy of `checkpoint` and stores them labelled in `folder`.

    The planner's is `agent.dagger.planner.PlannerCollector`; a person's are in
    `agent.dagger.takeover`, `agent.dagger.review` and `agent.dagger.rewind`.
    """

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[Rollout], None]) -> None: ...


class Labelling(Protocol):
    """Who labels a run: the planner (`agent.dagger.planner.PlannerLabelling`) or a person
    (`agent.dagger.human.HumanLabelling`)."""

    human: bool  # a person labels (rollouts are reported as theirs)

    def task(self, game: Game, config: DaggerConfig, first: int):
        """What is about to run, from round `first` on (a Rich renderable)."""

    def collector(self, game: Game, config: DaggerConfig) -> ContextManager[Collector]: ...


@dataclass(frozen=True)
class RoundEvent:
    """Progress sent to the caller: a rollout finished, training progressed, a round finished."""

    kind: str  # "rollout", "plan" (what the round's training chose), "train", "evaluated", "round"
    round: int
    detail: object


def round_training(config: DaggerConfig, started: dict, obs: ObsConfig, base: TrainConfig | None = None
                   ) -> TrainConfig:
    """How every round trains. `started` is the starting policy's own training settings (its
    checkpoint's meta["train"]; empty when it has none; keys of settings no longer kept are
    ignored): rounds train as it did (every setting but NOT_INHERITED) unless `base` is given, on
    its observation pipeline `obs`, for `config.epochs` epochs with `config.seed`. The networks are
    those of the weights each round starts from.
    """
    if base is None:
        inherited = TrainConfig.from_meta(started, obs)
        settings = {f.name for f in fields(TrainConfig)} - set(NOT_INHERITED)
        base = replace(TrainConfig(), **{name: getattr(inherited, name) for name in settings})
    return replace(base, epochs=config.epochs, obs=obs, seed=config.seed)


class DaggerRunner:
    """Runs rounds until `config.rounds` have finished; a re-run continues after the last one."""

    def __init__(
        self,
        game: Game,
        store: GameStore,
        start_checkpoint: Path,
        collector: Collector,
        config: DaggerConfig = DaggerConfig(),
        *,
        train_config: TrainConfig | None = None,
        on_event: Callable[[RoundEvent], None] | None = None,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        from agent.policy import load_checkpoint

        self.game, self.store, self.config = game, store, config
        self.collector = collector
        self.on_event = on_event or (lambda event: None)
        self.warn = warn and functools.cache(warn)  # each message once: every round's training names a damaged file
        self.start_checkpoint = Path(start_checkpoint)
        loaded = load_checkpoint(self.start_checkpoint, game)
        self.obs = loaded.obs
        self.train_config = round_training(config, loaded.meta.get("train") or {}, loaded.obs, train_config)

    # -- the loop ---------------------------------------------------------------------------------

    def run(self) -> list[RoundResult]:
        results = finished_rounds(self.store.dagger, self.warn)
        for round_index in range(len(results) + 1, self.config.rounds + 1):
            results.append(self._run_round(round_index, results))
        return results

    def checkpoint_for(self, results: Sequence[RoundResult]) -> Path:
        return Path(results[-1].checkpoint) if results else self.start_checkpoint

    def _run_round(self, round_index: int, previous: Sequence[RoundResult]) -> RoundResult:

        start = time.perf_counter()
        beta = self.config.beta(round_index)
        folder = self.store.dagger_round(round_index)
        self._collect(round_index, beta, folder, previous)
        new_labels = count_labels(sorted(folder.glob("*.npz")), self.obs.frameskip)
        total_labels = count_labels(self.store.episode_paths(), self.obs.frameskip)
        trained = self._retrain(round_index, previous)
        kept = trained.avg_checkpoint
        report = self._evaluate(kept, round_index)
        result = RoundResult(
            round=round_index,
            beta=beta,
            new_labels=new_labels,
            total_labels=total_labels,
            val_accuracy=float(trained.accuracy),
            score_mean=report.agent.mean,
            score_ci95=report.agent.ci95 if report.agent.n > 1 else None,
            episodes=report.agent.n,
            checkpoint=str(kept),
            seconds=time.perf_counter() - start,
        )
        result.save(folder)
        self.on_event(RoundEvent("round", round_index, result))
        return result

    def _collect(self, round_index: int, beta: float, folder: Path, previous: Sequence[RoundResult]) -> None:
        """Roll out until the round folder holds `episodes` episodes (a re-run keeps what it has)."""
        have = finished_rollouts(folder)
        if have < self.config.episodes:
            self.collector.collect(
                self.checkpoint_for(previous), round_index=round_index, beta=beta, folder=folder,
                episodes=self.config.episodes - have, first=have,
                on_rollout=lambda rollout: self.on_event(RoundEvent("rollout", round_index, rollout)),
            )

    def _retrain(self, round_index: int, previous: Sequence[RoundResult]) -> TrainResult:
        out_dir = self.store.models / f"dagger-round-{round_index:03d}"
        return train(
            self.game, self.store.episode_paths(), out_dir, self.train_config, init_from=self.checkpoint_for(previous),
            hooks=TrainHooks(on_plan=lambda plan: self.on_event(RoundEvent("plan", round_index, plan)),
                             on_progress=lambda p: self.on_event(RoundEvent("train", round_index, p)), warn=self.warn),
        )

    def start_score(self) -> float:
        """The starting (BC) policy's mean score, evaluated as every round is; kept in dagger/start.json."""
        path = self.store.dagger / START_FILE
        try:
            saved = json.loads(path.read_text())
            if saved.get("checkpoint") == str(self.start_checkpoint):
                return float(saved["score_mean"])
        except (OSError, ValueError, TypeError, KeyError, AttributeError):  # none yet, or damaged: evaluate again
            pass
        report = self._evaluate(self.start_checkpoint, 0)
        text = json.dumps({"checkpoint": str(self.start_checkpoint), "score_mean": report.agent.mean,
                           "episodes": report.agent.n}).encode()
        atomic_write(path, lambda handle: handle.write(text))
        return report.agent.mean

    def _evaluate(self, checkpoint: Path, round_index: int) -> EvalReport:
        eval_config = EvalConfig(
            episodes=self.config.eval_episodes, max_frames=self.config.eval_max_frames,
            greedy=self.config.greedy, temperature=self.config.temperature, seed=self.config.seed + round_index,
            random_baseline=False,
        )
        report, _ = evaluate_checkpoint(checkpoint, self.game, eval_config, store=self.store)
        self.on_event(RoundEvent("evaluated", round_index, report))
        return report


def expert_demo_score(store: GameStore) -> float | None:
    """Mean score of the expert demonstrations in the store (recording settings; capped ones included)."""
    scores = [info.score for _, info in store.scan(dagger=False)[0] if info.source == "expert"]
    return sum(scores) / len(scores) if scores else None


def write_plot(results: Sequence[RoundResult], store: GameStore, *, expert_score: float | None,
               bc_score: float | None) -> Path:
    return plot_rounds(list(results), store.reports / "dagger.png", game=store.game,
                       expert_score=expert_score, bc_score=bc_score)


def round_printer(console, *, human: bool) -> Callable[[RoundEvent], None]:
    """Prints a runner's events on a Rich `console`: what each round's training chose, every rollout
    (labelled by a person when `human`, else by the planner) and every finished round."""

    def rollout_line(r: Rollout) -> str:
        if not human:
            return f"{r.decisions:,} decisions labelled ({r.expert_decisions:,} taken by the expert)"
        files = f" ({len(r.paths)} files)" if len(r.paths) > 1 else ""
        return f"{r.expert_decisions:,} of {r.decisions:,} decisions labelled by you{files}"

    def on_event(event: RoundEvent) -> None:
        if event.kind == "plan":
            console.print(f"round {event.round}: training {describe(event.detail)}", highlight=False, soft_wrap=True)
        elif event.kind == "rollout":
            r = event.detail
            console.print(f"round {event.round}: rollout {r.path.name}: {r.frames:,} frames, score {r.score:,.0f}, "
                          + rollout_line(r), highlight=False)
        elif event.kind == "round":
            console.print(round_line(event.detail), highlight=False)

    return on_event


def run_dagger(game: Game, store: GameStore, start: Path, config: DaggerConfig, labelling: Labelling, *, console,
               warn: Callable[[str], None] | None = None) -> list[RoundResult]:
    """`mimic dagger`: rounds from `start` until `config.rounds` have finished, labelled by `labelling`, said on
    a Rich `console` as they go (what runs, the starting policy's score, every rollout and round), then the
    rounds' table and their plot. A person's Esc (`LabellingStopped`) stops it: `warn` says
    how to go on, and the rounds finished are returned. Stopped otherwise (Ctrl-C, SIGTERM, SIGHUP), it raises a
    KeyboardInterrupt saying what is kept. It holds the game's dagger/ and models/ folders
    (`folder_lock`: a second run writing them is refused) and proves them writable before anything runs."""
    ensure_writable(store.reports)
    what = f"mimic dagger --game {game.name}"
    with folder_lock(store.dagger, what), folder_lock(store.models, what):
        return _run_dagger(game, store, start, config, labelling, console=console, warn=warn)


def _run_dagger(game: Game, store: GameStore, start: Path, config: DaggerConfig, labelling: Labelling, *, console,
                warn: Callable[[str], None] | None) -> list[RoundResult]:
    done = finished_rounds(store.dagger)
    if len(done) >= config.rounds:
        console.print(f"{len(done)} rounds already finished under {store.dagger}/; ask for more with --rounds.")
        console.print(rounds_table(done, game=game.name))
        return done
    console.print(labelling.task(game, config, len(done) + 1), highlight=False)
    try:
        with labelling.collector(game, config) as collector:
            runner = DaggerRunner(game, store, start, collector, config,
                                  on_event=round_printer(console, human=labelling.human), warn=warn)
            start_score = runner.start_score()
            console.print(f"starting policy {start}: score {start_score:,.1f} (before any DAgger round)",
                          highlight=False)
            results = runner.run()
            plot = write_plot(results, store, expert_score=expert_demo_score(store), bc_score=start_score)
    except LabellingStopped as exc:
        if warn is not None:
            warn(f"{exc}; run the same command again to continue from there.")
        return finished_rounds(store.dagger)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: say what is kept
        done = len(finished_rounds(store.dagger))
        folder = store.dagger_round(done + 1)
        raise KeyboardInterrupt(f"{done} of {config.rounds} rounds finished, and {finished_rollouts(folder)} of round "
                                f"{done + 1}'s {config.episodes} rollouts are kept in {folder}; run the same command "
                                "to go on") from None
    console.print(rounds_table(results, game=game.name))
    console.print(f"plot: {plot}", highlight=False)
    console.print(f"final policy: {results[-1].checkpoint}", highlight=False)
    return results
