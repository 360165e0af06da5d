"""Takeover (HG-DAgger): the agent plays in the window; the person takes over by holding game keys.

While the person holds a game key their action drives the game and is the label of those
frames; when they let go the agent carries on, and the frames it plays carry no label (-1).
Each rollout is one file, reported as soon as it is saved.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from agent.dagger import LabellingStopped
from agent.dagger.human import (
    COMMON_KEYS,
    ActorFactory,
    HumanConfig,
    HumanMode,
    rollout_from_files,
)
from agent.rollout import Rollout
from recorder.play import Actor, AgentControls, Controls, EpisodeResult, PlayLoop
from recorder.recording import Step

TASK = ("The agent plays. Whenever it is about to go wrong, take over: hold the game keys and "
        "play; what you hold becomes the label. Let go and the agent carries on (unlabelled).")
KEYS = (("arrows / WASD, Space", "hold to drive the game yourself (your action is the label)"), *COMMON_KEYS)


class TakeoverControls(Controls):
    """The agent's action, or the person's (labelled) while they hold a game key."""

    panel = True

    def __init__(self, actor: Actor, on_saved: Callable[[Path], None] = lambda path: None) -> None:
        self.agent = AgentControls(actor)
        self.on_saved = on_saved

    @property
    def probs(self):
        return self.agent.probs

    def begin(self, loop: PlayLoop) -> None:
        self.agent.begin(loop)

    def choose(self, loop: PlayLoop) -> tuple[int, int]:
        if loop.holding():
            action = loop.keys_action()
            return action, action
        return self.agent.choose(loop)

    def stepped(self, loop: PlayLoop, step: Step) -> None:
        self.agent.stepped(loop, step)

    def key(self, loop: PlayLoop, name: str) -> bool:
        if name == "backspace":  # a DAgger rollout is not thrown away
            loop.say("Backspace does nothing here: Esc stops")
            return True
        return False

    def hud(self, loop: PlayLoop) -> dict:
        you = loop.holding()
        action = loop.keys_action() if you else self.agent.action
        return {"action": loop.game.action_names[action], "control": "YOU" if you else "agent"}

    def saved(self, loop: PlayLoop, result: EpisodeResult | None) -> None:
        if result is not None and result.path is not None:
            self.on_saved(result.path)


@dataclass
class TakeoverCollector:
    """HG-DAgger: the agent plays in the window; the person takes over by holding game keys."""

    config: HumanConfig
    make_actor: ActorFactory

    def make_loop(self, checkpoint: Path, *, round_index: int, folder: Path, first: int, episodes: int,
                  on_saved: Callable[[Path], None] = lambda path: None) -> PlayLoop:
        play = self.config.play_config("takeover", round_index=round_index, folder=folder, first=first,
                                       episodes=episodes)
        return PlayLoop(play, TakeoverControls(self.make_actor(Path(checkpoint)), on_saved))

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[Rollout], None]) -> None:
        loop = self.make_loop(checkpoint, round_index=round_index, folder=folder, first=first, episodes=episodes)
        frameskip = loop.controller.agent.actor.frameskip
        loop.controller.on_saved = lambda path: on_rollout(rollout_from_files([path], frameskip))
        summary = loop.run()
        if len(summary.saved) < episodes or summary.stopped:
            raise LabellingStopped(f"stopped in round {round_index}: {len(summary.saved)} rollout(s) of this "
                                   f"session stored in {folder}")


MODE = HumanMode("takeover", TASK, KEYS, TakeoverCollector)
