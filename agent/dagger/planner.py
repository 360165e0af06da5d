"""DAgger with the planning expert: rollouts played by the policy, labelled by the planner.

A rollout runs in the one decision loop (`agent.rollout.play`) in a `recording_env` at the
recording settings: each decision is the expert's with probability beta (`BetaMix`), else the
policy's; the emulator state before every decision is kept. Afterwards the expert (a process
pool, `relabel`) judges every decision it did not take live, each step gets its decision's
label and as-good set, and the episode is stored in the round's folder, replayable like any
recording.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from agent.env import recording_env
from agent.obs import ObsConfig
from agent.planner import Expert, ExpertConfig, ExpertPool
from agent.rollout import BetaMix, Labeller, PlannerController, PolicyController, Rollout, label_steps, play
from recorder.games import Game
from recorder.recording import EpisodeRecorder, rollout_seed
from recorder.store import AGENT_PLAYER

if TYPE_CHECKING:
    from agent.dagger import DaggerConfig


def roll_out(
    policy,
    obs: ObsConfig,
    game: Game,
    expert: Labeller,
    *,
    beta: float,
    seed: int,
    max_frames: int,
    directory: Path,
    rng: np.random.Generator,
    greedy: bool = False,
    temperature: float = 1.0,
    extra: dict | None = None,
    relabel: Labeller | None = None,
) -> Rollout:
    """Play one game with the policy (the expert with probability `beta`), label it, store it.

    `expert` decides live where beta says so; `relabel` (default: `expert`, e.g. an
    `ExpertPool`) labels the saved states of every other decision after the game.
    """
    recorder = EpisodeRecorder(
        game, seed=seed, player=AGENT_PLAYER, source="dagger", max_frames=max_frames,
        extra={"beta": beta, "obs": obs.to_dict(), **(extra or {})},
    )
    envs = recording_env(recorder, obs)
    controller = BetaMix(PlannerController(expert), PolicyController(policy, rng, greedy=greedy,
                                                                       temperature=temperature), beta)
    try:
        log = next(turn.ended[0] for turn in play(envs, controller, games=1, keep_states=True) if turn.ended)
        todo = [i for i, judged in enumerate(log.judgements) if judged is None]
        previous = [None, *log.actions[:-1]]
        labeller = relabel if relabel is not None else expert
        decided = labeller.judge_all([log.states[i] for i in todo], [previous[i] for i in todo])
        judgements = list(log.judgements)
        for i, judged in zip(todo, decided):
            judgements[i] = tuple(judged)
        label_steps(recorder, judgements, obs.frameskip)
        path = recorder.save(directory)
        return Rollout((path,), recorder.score, recorder.length, log.decisions, log.expert_decisions)
    finally:
        envs.close()


@dataclass
class PlannerCollector:
    """Rollouts labelled by the planning expert: `expert` decides live where beta says so,
    `relabel` (an `ExpertPool`, or the expert itself) labels every other decision afterwards."""

    game: Game
    expert: Labeller
    max_frames: int
    relabel: Labeller | None = None
    greedy: bool = False
    temperature: float = 1.0
    seed: int = 0

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[Rollout], None]) -> None:
        from agent.policy import load_checkpoint

        loaded = load_checkpoint(checkpoint, self.game)
        for episode in range(first, first + episodes):
            seed = rollout_seed(self.seed, round_index, episode)
            on_rollout(roll_out(
                loaded.policy, loaded.obs, self.game, self.expert, beta=beta, seed=seed,
                max_frames=self.max_frames, directory=folder, rng=np.random.default_rng(seed),
                greedy=self.greedy, temperature=self.temperature, extra={"round": round_index}, relabel=self.relabel,
            ))


@contextmanager
def planner_collector(game: Game, config: ExpertConfig, *, max_frames: int, temperature: float, seed: int,
                      workers: int | None = None) -> Iterator[PlannerCollector]:
    """A `PlannerCollector` whose expert decides live in this process and labels afterwards in a pool
    of `workers` processes (default: one per core), closed on leaving."""
    with ExpertPool(game, config, seed=seed, workers=workers) as pool:
        yield PlannerCollector(game, Expert(game, config, seed=seed), max_frames, relabel=pool,
                               temperature=temperature, seed=seed)


@dataclass(frozen=True)
class PlannerLabelling:
    """The planning expert labels DAgger's rollouts (`mimic dagger`): live where beta says so, then the
    rest in a pool of `workers` processes (default: one per core)."""

    expert: ExpertConfig = field(default_factory=ExpertConfig)
    workers: int | None = None
    human: ClassVar[bool] = False

    def task(self, game: Game, config: DaggerConfig, first: int) -> str:
        """One line: the rounds `first`..`config.rounds` about to run, their betas, the planner's budget and
        each round's training."""
        betas = ", ".join(f"{config.beta(r):.3g}" for r in range(first, config.rounds + 1))
        return (f"DAgger on {game.name}: rounds {first}..{config.rounds}, {config.episodes} rollout(s) of at most "
                f"{config.max_frames:,} frames each, beta {betas} (the share of decisions the expert takes); planner "
                f"budget {self.expert.budget:,} frames a decision; each round trains {config.epochs} more epochs "
                "from the last round's weights and keeps their average.")

    def collector(self, game: Game, config: DaggerConfig):
        """The collector, in a context that closes its pool on leaving."""
        return planner_collector(game, self.expert, max_frames=config.max_frames, temperature=config.temperature,
                                 seed=config.seed, workers=self.workers)
