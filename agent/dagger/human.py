"""DAgger with a person as the expert: what the three modes share.

`mimic dagger --expert human --mode takeover|review|rewind`; one file per mode:

- `agent.dagger.takeover` (HG-DAgger): the agent plays in the window; while the person holds a
  game key their action drives the game and is the label.
- `agent.dagger.review`: the agent plays a rollout on its own; then the person is asked, paused,
  about the states where it was least sure and those just before it lost a life.
- `agent.dagger.rewind`: the agent plays in the window; a lost life rewinds the game a few
  seconds and the person plays from there.

Each mode's collector plays a round's rollouts with the current policy and stores them,
labelled by the person, in the round folder (`dagger/round-NNN/`) in the store's format: the
action executed and the label of every step, -1 (`NO_LABEL`) where nobody said anything. The
trainer learns only from labelled decisions. The policy comes in as an `Actor` made by
`make_actor(checkpoint)` (the CLI passes `agent.actor.PolicyActor`); the windows are
`recorder`'s (its play loop, window and key names): nothing here imports pygame.

A rollout may be stored as several files (rewind); the file that ends it carries
`extra["rollout_end"] = True`, the others False, and the DAgger runner counts finished
rollouts by that mark (a file without it is a whole rollout), so a re-run resumes correctly.
Esc or closing the window stops: what was labelled so far is stored and `LabellingStopped`
is raised, so the command can end and a re-run continue.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from ale_py import ALEState

from agent.dagger import labelled_decisions
from agent.rollout import Rollout
from recorder import window
from recorder.games import FRAMES_PER_SECOND, Game
from recorder.play import Actor, PlayConfig
from recorder.recording import rollout_seed
from recorder.store import load_episode

if TYPE_CHECKING:
    from agent.dagger import Collector, DaggerConfig

ActorFactory = Callable[[Path], Actor]
MODES = ("takeover", "review", "rewind")

# Keys every window mode shares (the CLI prints each mode's keys before the window opens).
COMMON_KEYS: tuple[tuple[str, str], ...] = (
    ("1 / 2 / 3, - / +", "speed 100% / 50% / 25%, slower / faster"),
    ("P", "pause / resume"),
    ("Esc or close", "stop: what you labelled is kept; run the same command again to continue"),
)


@dataclass(frozen=True)
class HumanConfig:
    """How the person labels; validated up front."""

    game: Game
    max_frames: int = 4500  # emulator frames per rollout at most (rewind: all frames played, replays included)
    player: str = "human"
    seed: int = 0
    scale: int = window.DEFAULT_SCALE
    speed: float = 1.0
    realtime: bool = True  # False: never wait (tests)
    queries: int = 20  # review: questions per round at most
    rewind_seconds: float = 4.0  # rewind: how far back a lost life takes the game
    show_rollout: bool = True  # review: show the rollout fast-forward (False: play it undrawn)

    def __post_init__(self) -> None:
        if self.max_frames < 1:
            raise ValueError(f"max frames per rollout must be at least 1, got {self.max_frames}")
        if not isinstance(self.scale, int) or not 1 <= self.scale <= 8:
            raise ValueError(f"scale must be a whole number from 1 to 8, got {self.scale!r}")
        if not 0.05 <= self.speed <= 4.0:
            raise ValueError(f"speed must be between 0.05 and 4 (1.0 is real time), got {self.speed}")
        if self.queries < 1:
            raise ValueError(f"queries per round must be at least 1, got {self.queries}")
        if not 0.25 <= self.rewind_seconds <= 60:
            raise ValueError(f"rewind seconds must be between 0.25 and 60, got {self.rewind_seconds}")
        if not self.player.strip():
            raise ValueError("player must not be empty")

    @property
    def rewind_frames(self) -> int:
        return round(self.rewind_seconds * FRAMES_PER_SECOND)

    def play_config(self, mode: str, *, round_index: int, folder: Path, first: int, episodes: int) -> PlayConfig:
        """The window session of a round's rollouts, recorded into the round's folder."""
        return PlayConfig(self.game, player=self.player, seed=rollout_seed(self.seed, round_index, first),
                          scale=self.scale, speed=self.speed, episodes=episodes, record=True,
                          directory=Path(folder), max_frames=self.max_frames, realtime=self.realtime,
                          title=f"mimic dagger {self.game.name}: {mode}, round {round_index}",
                          source="dagger", extra={"round": round_index, "mode": mode})


def rollout_from_files(paths: Sequence[Path], frameskip: int, *, score: float | None = None,
                       frames: int | None = None, asked: int = 0) -> Rollout:
    """The rollout stored in `paths` (in play order; the last ends it)."""
    decisions = labelled = length = 0
    total = 0.0
    for path in paths:
        episode = load_episode(path, frames=False)
        n, k = labelled_decisions(episode.labels, frameskip)
        decisions, labelled, length = decisions + n, labelled + k, length + len(episode)
        total += episode.info.score
    return Rollout(tuple(Path(p) for p in paths), total if score is None else score,
                   length if frames is None else frames, decisions, labelled, asked)


def actions_matter(env, state: bytes, frames: int, n_actions: int) -> bool:
    """Whether holding different actions for `frames` frames from `state` ends in different games.

    "Different": the emulator's RAM or lives differ. While a game plays a death animation every
    action ends the same, so this finds the last moment before a lost life that anything could
    change (Pac-Man: about 2.2 s before the lives counter drops).
    """
    ale = env.unwrapped.ale
    outcomes: set[bytes] = set()
    for action in range(n_actions):
        ale.restoreState(ALEState(state))
        for _ in range(frames):
            env.step(action)
        outcomes.add(ale.getRAM().tobytes() + bytes([ale.lives() & 0xFF]))
        if len(outcomes) > 1:
            return True
    return False


def last_that_mattered(env, points: Sequence[tuple[int, bytes]], end: int, n_actions: int) -> int:
    """Index of the last of `points` ((frame, state), in time order) from which actions still change
    the game at frame `end` (just after the life was lost); a binary search, 0 when none does."""
    lo, hi = 0, len(points) - 1

    def matters(i: int) -> bool:
        at, state = points[i]
        return actions_matter(env, state, end - at, n_actions)

    if matters(hi):
        return hi
    if not matters(lo):
        return lo
    while hi - lo > 1:  # lo matters, hi does not
        mid = (lo + hi) // 2
        if matters(mid):
            lo = mid
        else:
            hi = mid
    return lo


@dataclass(frozen=True)
class HumanMode:
    """What a mode tells the person before the window opens, and its collector."""

    name: str
    task: str  # what the person is asked to do
    keys: tuple[tuple[str, str], ...]  # (key, what it does)
    collector: type  # made with (HumanConfig, ActorFactory); `collect(checkpoint, ...)` plays a round
    terms: Callable[[HumanConfig], str] = lambda config: ""  # the mode's own settings, in words


def human_mode(name: str) -> HumanMode:
    """The mode called `name`: "takeover", "review" or "rewind"."""
    if name not in MODES:
        raise ValueError(f"unknown labelling mode {name!r}: expected one of {', '.join(MODES)}")
    return importlib.import_module(f"agent.dagger.{name}").MODE


def make_collector(mode: str, config: HumanConfig, make_actor: ActorFactory):
    """The collector of a mode: "takeover", "review" or "rewind"."""
    return human_mode(mode).collector(config, make_actor)



@dataclass(frozen=True)
class HumanLabelling:
    """A person labels DAgger's rollouts in a window, in `mode` (`mimic dagger --expert human`)."""

    mode: str
    config: HumanConfig
    human: ClassVar[bool] = True

    def __post_init__(self) -> None:
        human_mode(self.mode)  # an unknown mode is a ValueError now, not when the window opens

    def task(self, game: Game, config: DaggerConfig, first: int):
        """What the person is told before the window opens: the rounds ahead, their task and the mode's keys."""
        from rich.console import Group
        from rich.text import Text

        from recorder.keys import key_help

        labelling = human_mode(self.mode)
        return Group(
            Text.from_markup(
                f"DAgger on {game.name} with you as the expert, mode [bold]{self.mode}[/]: rounds "
                f"{first}..{config.rounds}, {config.episodes} rollout(s) of at most {self.config.max_frames:,} frames "
                f"a round{labelling.terms(self.config)}. The starting policy is evaluated first; then the window "
                "opens."),
            Text(labelling.task),
            key_help("keys", labelling.keys),
            Text("Only what you say becomes a label; frames the agent plays on its own stay unlabelled (-1)."),
        )

    @contextmanager
    def collector(self, game: Game, config: DaggerConfig) -> Iterator[Collector]:
        """The mode's collector; it makes the policy's actor from each round's checkpoint."""
        from agent.actor import PolicyActor
        from agent.policy import load_checkpoint

        def make_actor(path: Path) -> PolicyActor:
            return PolicyActor(load_checkpoint(path, game), temperature=config.temperature,
                               rng=np.random.default_rng(config.seed))

        yield make_collector(self.mode, self.config, make_actor)
