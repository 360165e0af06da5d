"""The agent at the controls: `mimic watch`, DAgger's takeover mode, and `watch --video`.

`AgentLoop` is the play loop (same window, keys for speed and pause, same timekeeping) with the
agent choosing the action once every `frameskip` frames and the policy's probabilities drawn
as bars. With `takeover=True` (HG-DAgger) a person can grab the controls at any moment: while
they hold a game key their action drives the game and is recorded as the label; when they let
go the agent carries on, and the frames it plays carry no label (-1).

`render_video` plays the agent with no display at all and writes an mp4.

The agent is anything with the `Actor` shape (`agent.actor.PolicyActor`): `recorder` never
imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from recorder import window
from recorder.games import FRAMES_PER_SECOND, Game, make_env
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
        if self.config.max_frames is not None and self.recorder.length >= self.config.max_frames:
            self.recorder.cut()
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


# ---------------------------------------------------------------------------------------------
# Headless video


@dataclass(frozen=True)
class VideoResult:
    path: Path
    frames: int
    score: float
    ended: str


def render_video(
    game: Game,
    actor: Actor,
    path: Path,
    *,
    seed: int = 0,
    max_frames: int = 108_000,
    scale: int = 2,
    sticky: float = 0.0,
    on_frame: Callable[[int, float], None] | None = None,
) -> VideoResult:
    """Play one episode with the agent and write it to an mp4 at 60 frames a second, no display needed.

    Each video frame is what `mimic watch` shows: the game, the HUD, the probability bars.
    """
    import imageio.v2 as imageio

    env = make_env(game, sticky=sticky)
    frame, _ = env.reset(seed=seed)
    view = window.GameView(frame.shape, game.action_names, scale=scale, probs_panel=True, headless=True)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    writer = imageio.get_writer(tmp, fps=FRAMES_PER_SECOND, codec="libx264", macro_block_size=1,
                                ffmpeg_log_level="error", output_params=["-pix_fmt", "yuv420p"])
    score, frames, ended = 0.0, 0, "frame_cap"
    lives = int(env.unwrapped.ale.lives())
    finished = False
    try:
        actor.reset(frame)
        action, probs = actor.act(None)
        recent: list[np.ndarray] = []
        while True:
            hud = {"score": score, "lives": lives, "action": game.action_names[action]}
            view.draw(frame, hud, probs=probs)
            writer.append_data(_even(view.to_array()))
            if frames >= max_frames:
                break
            frame, reward, terminated, truncated, info = env.step(action)
            score += float(reward)
            lives = int(info.get("lives", lives))
            frames += 1
            recent.append(frame)
            if on_frame is not None:
                on_frame(frames, score)
            if terminated or truncated:
                ended = "game_over" if terminated else "frame_cap"
                view.draw(frame, {"score": score, "lives": lives, "action": game.action_names[action]}, probs=probs)
                writer.append_data(_even(view.to_array()))
                break
            if len(recent) == actor.frameskip:
                action, probs = actor.act(np.stack(recent))
                recent = []
        finished = True
    finally:
        writer.close()
        view.close()
        env.close()
        if finished:
            tmp.replace(path)
        else:
            tmp.unlink(missing_ok=True)
    return VideoResult(path, frames + 1, score, ended)


def _even(picture: np.ndarray) -> np.ndarray:
    """H.264 in yuv420p needs even sides: drop a last odd row or column."""
    h, w = picture.shape[:2]
    return picture[: h - h % 2, : w - w % 2]


def watch_config(game: Game, *, scale: int, speed: float, seed: int, episodes: int | None,
                 record_to: Path | None = None, player: str = "agent", title: str = "mimic watch",
                 max_frames: int | None = None) -> PlayConfig:
    """The play-loop settings of an agent session (recording only in takeover mode)."""
    return PlayConfig(game=game, player=player, seed=seed, scale=scale, speed=speed, episodes=episodes,
                      record=record_to is not None, directory=record_to, title=title, max_frames=max_frames)
