"""The one loop where the agent acts: `play` drives games in `agent.env.DecisionEnvs` with a controller.

    observations, emulator states --controller.decide--> actions --envs.step--> observations ...
                                                                       '--> a game ended: its GameLog

Evaluation, `mimic watch`, the planning expert's play and DAgger's rollouts all run this loop;
they differ only in their environments (`protocol_envs`, `recording_env`) and their
controller:

- `PolicyController`: the trained policy, sampling (or greedy) on a batch of observations;
- `PlannerController`: the planning expert, looking ahead from each game's emulator state;
- `BetaMix`: DAgger's mixture, the expert with probability beta and the policy otherwise;
- `RandomController`: uniformly random actions (the baseline of every evaluation).

A person's controllers (the window's keys, taking over, rewinding) act frame by frame in the
window loop of `recorder.play`; the agent enters there through `agent.actor.PolicyActor`, which
builds its observations with the same `agent.obs` code.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from agent.env import DecisionEnvs


@dataclass(frozen=True)
class Decisions:
    """What a controller chose for every game at one decision."""

    actions: np.ndarray  # (n,) indices into the game's action set
    probs: np.ndarray | None = None  # (n, actions): the policy's probabilities, where a policy chose
    judgements: Sequence[tuple[int, int] | None] | None = None  # the expert's (action, as-good set), where it chose


class Controller(Protocol):
    def decide(self, observations: np.ndarray, states: Sequence[bytes] | None,
               previous: Sequence[int | None]) -> Decisions: ...


class Labeller(Protocol):
    """Anything that can say what to do in saved emulator states (the planning expert, a pool of
    them): the action, and the set of actions as good as it (a bitmask, see `recorder.store`)."""

    def judge(self, state: bytes, previous: int | None = None) -> tuple[int, int]: ...

    def judge_all(self, states: Sequence[bytes], previous: Sequence[int | None] | None = None
                  ) -> list[tuple[int, int]]: ...


@dataclass
class PolicyController:
    policy: object  # agent.policy.Policy (anything with its `act`)
    rng: np.random.Generator
    greedy: bool = False
    temperature: float = 1.0

    def __post_init__(self) -> None:
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    def decide(self, observations, states=None, previous=()) -> Decisions:
        actions, probs = self.policy.act(observations, greedy=self.greedy, temperature=self.temperature,
                                         rng=self.rng)
        return Decisions(np.asarray(actions), probs)


@dataclass
class RandomController:
    n_actions: int
    rng: np.random.Generator

    def decide(self, observations, states=None, previous=()) -> Decisions:
        return Decisions(self.rng.integers(self.n_actions, size=len(observations)))


@dataclass
class PlannerController:
    expert: Labeller
    seconds: float = 0.0  # spent deciding

    def decide(self, observations, states, previous) -> Decisions:
        if states is None:
            raise ValueError("the planner looks ahead from emulator states: play it in a recording env")
        start = time.perf_counter()
        judgements = [tuple(self.expert.judge(s, p)) for s, p in zip(states, previous)]
        self.seconds += time.perf_counter() - start
        return Decisions(np.array([j[0] for j in judgements]), None, judgements)


@dataclass
class BetaMix:
    """DAgger's mixture: each decision is the expert's with probability `beta`, else the policy's."""

    expert: PlannerController
    policy: PolicyController
    beta: float

    def decide(self, observations, states, previous) -> Decisions:
        actions = np.zeros(len(observations), dtype=np.int64)
        judgements: list[tuple[int, int] | None] = [None] * len(observations)
        probs = None
        for i in range(len(observations)):  # one draw per game, then the one it chose draws its own
            if self.policy.rng.random() < self.beta:
                chosen = self.expert.decide(observations[i : i + 1], states[i : i + 1], previous[i : i + 1])
                judgements[i] = chosen.judgements[0]
            else:
                chosen = self.policy.decide(observations[i : i + 1])
                probs = chosen.probs if probs is None else probs
            actions[i] = chosen.actions[0]
        return Decisions(actions, probs, judgements)


@dataclass
class GameLog:
    """One game as it was played: every decision's action, and what the expert judged where it chose."""

    env: int
    actions: list[int] = field(default_factory=list)
    judgements: list[tuple[int, int] | None] = field(default_factory=list)
    states: list[bytes] = field(default_factory=list)  # before each decision (recording envs)
    score: float = 0.0
    frames: int = 0  # emulator frames, as the emulator counts them

    @property
    def decisions(self) -> int:
        return len(self.actions)

    @property
    def expert_decisions(self) -> int:
        return sum(j is not None for j in self.judgements)


@dataclass(frozen=True)
class Rollout:
    """A game played and stored for DAgger: the file(s) it was saved in and what it reached."""

    paths: tuple[Path, ...]
    score: float
    frames: int  # emulator frames played
    decisions: int  # agent decisions stored
    expert_decisions: int  # decisions the expert (planner or person) labelled
    asked: int = 0  # a person's review: questions shown

    @property
    def path(self) -> Path:
        """The file that ends the rollout."""
        return self.paths[-1]


def label_steps(recorder, judgements: Sequence[tuple[int, int]], frameskip: int) -> None:
    """Give every recorded step its decision's judgement: the expert's label and its as-good set."""
    labels = np.repeat([j[0] for j in judgements], frameskip)[: recorder.length]
    sets = np.repeat([j[1] for j in judgements], frameskip)[: recorder.length]
    recorder.relabel(labels, sets)


@dataclass(frozen=True)
class Turn:
    """One decision of every game: what was chosen, and the games that ended with it."""

    decisions: Decisions
    ended: tuple[GameLog, ...]


def play(envs: DecisionEnvs, controller: Controller, *, games: int, seed: int | None = None,
         keep_states: bool = False) -> Iterator[Turn]:
    """Play `games` whole games on `envs`, `controller` deciding for all of them at once.

    Every game started is played to its end and counted, in the order the games end, so a
    mean over them is not biased toward short games; environments whose next game would be
    one too many play on uncounted until the last counted game ends. `keep_states` (recording
    envs) saves the emulator state before every decision into the logs; a controller that
    looks ahead (the planner) gets them either way.
    """
    if games < 1:
        raise ValueError(f"games must be at least 1, got {games}")
    if games > envs.num_envs and not envs.restarts:
        raise ValueError(f"{games} games asked of {envs.num_envs} recording(s): a recording plays one game")
    n = envs.num_envs
    observations, _ = envs.reset(seed=seed)
    logs = [GameLog(i) for i in range(n)]
    counted = np.arange(n) < games
    started = int(counted.sum())
    previous: list[int | None] = [None] * n
    while counted.any():
        states = envs.states()
        decisions = controller.decide(observations, states, previous)
        for i in range(n):
            log = logs[i]
            log.actions.append(int(decisions.actions[i]))
            log.judgements.append(None if decisions.judgements is None else decisions.judgements[i])
            if keep_states and states is not None:
                log.states.append(states[i])
        observations, _, _, _, info = envs.step(decisions.actions)
        previous = [int(a) for a in decisions.actions]
        ended_logs: list[GameLog] = []
        ended = info.get("ended")
        for i in np.flatnonzero(ended["mask"]) if ended is not None else ():
            log = logs[i]
            log.score, log.frames = float(ended["score"][i]), int(ended["frames"][i])
            if counted[i]:
                ended_logs.append(log)
            counted[i] = started < games
            started += int(counted[i])
            logs[i] = GameLog(i)
            previous[i] = None
        yield Turn(decisions, tuple(ended_logs))
