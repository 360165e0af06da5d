"""DAgger with the planning expert: rollouts played by the policy, labelled by the planner.

A rollout runs in the one decision loop (`agent.rollout.play`) in a `recording_env` at the
recording settings: each decision is the expert's with probability beta (`BetaMix`), else the
policy's; the emulator state before every decision is kept. Afterwards the expert (a process
pool, `relabel`) judges every decision it did not take live, each step gets its decision's
label and as-good set, and the episode is stored in the round's folder, replayable like any
recording.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.env import recording_env
from agent.obs import ObsConfig
from agent.rollout import BetaMix, Labeller, PlannerController, PolicyController, Rollout, label_steps, play
from recorder.games import Game
from recorder.recording import EpisodeRecorder, rollout_seed
from recorder.store import AGENT_PLAYER


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
