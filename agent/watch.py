"""Watching the agent: every emulator frame it plays, with its score, action and probabilities.

`agent_frames` yields one `WatchFrame` per emulator frame (60 a second of play), which the
video writer (`recorder.video`) draws (`render_video` hands them to it); this module never draws
anything itself. The agent plays in the one decision loop (`agent.rollout.play`) under the
evaluation protocol by default (sticky actions 0.25, no-op starts). In a window (`play_in_window`)
it plays in `recorder.play`'s loop instead, through `agent.actor.PolicyActor`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.env import STANDARD_MAX_FRAMES, STANDARD_NOOP_MAX, STANDARD_STICKY, protocol_envs
from agent.obs import ObsConfig
from agent.rollout import PolicyController, play
from recorder.games import Game
from recorder.store import ensure_writable


@dataclass(frozen=True)
class WatchFrame:
    frame: np.ndarray  # (H, W, 3) uint8, the screen
    episode: int  # 1-based
    step: int  # emulator frames into the episode (after the no-op start)
    score: float
    lives: int
    action: str | None  # the action being held, None before the first decision
    probs: np.ndarray | None  # the policy's probabilities at the last decision


def agent_frames(
    policy,
    game: Game,
    obs: ObsConfig,
    *,
    episodes: int = 1,
    greedy: bool = False,
    temperature: float = 0.25,
    seed: int = 0,
    sticky: float = STANDARD_STICKY,
    noop_max: int = STANDARD_NOOP_MAX,
    max_frames: int = STANDARD_MAX_FRAMES,
) -> Iterator[WatchFrame]:
    """Play `episodes` whole games with `policy` in the one decision loop, yielding every emulator frame."""
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    envs = protocol_envs(game, obs, 1, sticky=sticky, noop_max=noop_max, max_frames=max_frames, rgb=True)
    controller = PolicyController(policy, np.random.default_rng(seed), greedy=greedy, temperature=temperature)
    episode, score, step = 1, 0.0, 0
    try:
        for turn in play(envs, controller, games=episodes, seed=seed):
            if step == 0:  # a game begins: its first screen, before the agent has acted
                yield WatchFrame(envs.start_screens[0].copy(), episode, 0, 0.0, int(envs.lives[0]), None, None)
            action = game.action_names[int(turn.decisions.actions[0])]
            probs = turn.decisions.probs[0]
            frames, rewards = envs.last_frames(0)
            lives = int(envs.lives[0])
            for frame, reward in zip(frames, rewards):
                score += float(reward)
                step += 1
                yield WatchFrame(frame, episode, step, score, lives, action, probs)
            if turn.ended:
                episode, score, step = episode + 1, 0.0, 0
    finally:
        envs.close()


def render_video(
    loaded,
    game: Game,
    path: Path,
    *,
    episodes: int = 1,
    greedy: bool = False,
    temperature: float = 0.25,
    seed: int = 0,
    max_frames: int = STANDARD_MAX_FRAMES,
    scale: int = 3,
    say: Callable[[str], None] | None = None,
) -> int:
    """Play `episodes` games with a loaded checkpoint (`agent.policy.load_checkpoint`) and write every
    emulator frame into the mp4 at `path` (`recorder.video`); `say` hears how many seconds of play are
    written. Returns the frames written; ValueError when `path` is a folder or does not end in .mp4, and a
    `StoreError` when its folder cannot be written, before anything is played."""
    from recorder.video import write_video

    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; name the video file, e.g. --video {path / 'agent.mp4'}")
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"the video file must end in .mp4, got {path.name}")
    ensure_writable(path.parent, elsewhere="another --video path")

    def on_frame(count: int) -> None:
        if say is not None and count % 60 == 0:
            say(f"rendering: {count / 60:,.0f} s of play")

    frames = agent_frames(loaded.policy, game, loaded.obs, episodes=episodes, greedy=greedy,
                          temperature=temperature, seed=seed, max_frames=max_frames)
    try:
        return write_video(frames, path, game.action_names, scale=scale, on_frame=on_frame)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: the part rendered is gone with its temporary file
        raise KeyboardInterrupt(f"no video written to {path}; run the same command to render it") from None


def video_line(path: Path, frames: int, episodes: int, game: str) -> str:
    """One line for a rendered video: where, how many frames and seconds, how many episodes of which game."""
    return (f"{path}: {frames:,} frames, {frames / 60:,.1f} s at 60 fps, {episodes} episode{'s' * (episodes > 1)} "
            f"of {game}")


def play_in_window(loaded, game: Game, *, episodes: int | None = None, greedy: bool = False,
                   temperature: float = 0.25, seed: int = 0, scale: int = 4, speed: float = 1.0,
                   max_frames: int = STANDARD_MAX_FRAMES):
    """The agent of a loaded checkpoint plays `episodes` games (None: until Esc) in a window, recording
    nothing (`recorder.play.PlayLoop`); returns the loop's `PlaySummary`."""
    from agent.actor import PolicyActor
    from recorder.play import AgentControls, PlayConfig, PlayLoop
    from recorder.store import AGENT_PLAYER

    config = PlayConfig(game, player=AGENT_PLAYER, seed=seed, scale=scale, speed=speed, episodes=episodes,
                        record=False, title="mimic watch", max_frames=max_frames)
    actor = PolicyActor(loaded, greedy=greedy, temperature=temperature, rng=np.random.default_rng(seed))
    return PlayLoop(config, AgentControls(actor)).run()


def episodes_lines(summary) -> list[str]:
    """One line per episode played in the window: its score, length and how it ended."""
    return [f"episode {e.number}: score {e.score:,.0f}, {e.length:,} frames ({e.ended})" for e in summary.episodes]
