"""The agent at the controls in the window: `mimic watch` and DAgger's takeover mode.

`AgentLoop` is the play loop (same window, keys for speed and pause, same timekeeping) with the
agent choosing the action once every `frameskip` frames and the policy's probabilities drawn
as bars. With `takeover=True` (HG-DAgger) a person can grab the controls at any moment: while
they hold a game key their action drives the game and is recorded as the label; when they let
go the agent carries on, and the frames it plays carry no label (-1).

(`watch --video` renders without a window: `agent.watch` and `recorder.video`.)

The agent is anything with the `Actor` shape (`agent.actor.PolicyActor`): `recorder` never
imports torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import numpy as np

from recorder import window
from recorder.games import Game
from recorder.play import PlayConfig, PlayLoop
from recorder.store import NO_LABEL, STEP_MODE

# Keys of `mimic watch` (the play loop's, without the recording ones).
WATCH_KEYS: tuple[tuple[str, str], ...] = (
    ("1 / 2 / 3", "speed 100% / 50% / 25% of real time"),
    ("- / +", "slower / faster"),
    ("P", "pause / resume"),
    ("Esc or close", "quit"),
)


class Actor(Protocol):
    frameskip: int

    def reset(self, frame: np.ndarray) -> None: ...

    def act(self, frames: np.ndarray | None) -> tuple[int, np.ndarray]: ...


class AgentLoop(PlayLoop):
    """The play loop with the agent choosing the actions (and, in takeover mode, a person too)."""

    def __init__(self, config: PlayConfig, actor: Actor, *, takeover: bool = False, source: str = "human",
                 extra: dict | None = None) -> None:
        super().__init__(config)
        self.actor = actor
        self.takeover = takeover
        self.source = source
        self.extra = dict(extra or {})
        self.probs: np.ndarray | None = None
        self.agent_action = 0
        self.human_frames = 0  # frames a person drove (labelled), over the session
        self._since_decision: list[np.ndarray] = []

    def make_view(self, frame_shape) -> window.GameView:
        return window.GameView(frame_shape, self.game.action_names, scale=self.config.scale,
                               probs_panel=True, title=self.config.title)

    def start_episode(self) -> None:
        super().start_episode()
        self.actor.reset(self.recorder.frame)
        self._since_decision = []
        self._decide(None)

    def _decide(self, frames: np.ndarray | None) -> None:
        self.agent_action, self.probs = self.actor.act(frames)

    def person_holds_keys(self) -> bool:
        return self.takeover and bool(self._pressed)

    def action(self) -> int:
        return super().action() if self.person_holds_keys() else self.agent_action

    def advance(self) -> None:
        """One emulator frame: the person's action (labelled) while they hold a key, else the agent's."""
        human = self.person_holds_keys()
        action = self.action()
        speed = STEP_MODE if self.step_mode else self.speed
        step = self.recorder.step(action, label=action if human else NO_LABEL, speed=speed)
        self.human_frames += human
        self.stats.frames += 1
        self._since_decision.append(step.frame)
        if self.recorder.done:
            self.finish_episode()
        elif len(self._since_decision) == self.actor.frameskip:
            self._decide(np.stack(self._since_decision))
            self._since_decision = []

    def hud(self) -> dict:
        hud = super().hud()
        hud["rec"] = self.config.record
        if self.takeover:
            hud["control"] = "YOU" if self.person_holds_keys() else "agent"
        return hud

    def draw(self) -> None:
        self.view.draw(self.recorder.frame, self.hud(), probs=self.probs)


def watch_config(game: Game, *, scale: int, speed: float, seed: int, episodes: int | None,
                 record_to: Path | None = None, player: str = "agent", title: str = "mimic watch",
                 max_frames: int | None = None) -> PlayConfig:
    """The play-loop settings of an agent session (recording only in takeover mode)."""
    return PlayConfig(game=game, player=player, seed=seed, scale=scale, speed=speed, episodes=episodes,
                      record=record_to is not None, directory=record_to, title=title, max_frames=max_frames)
