"""Headless video of a game being played: the same view as the window, written to an mp4.

`write_video` takes any iterable of frames with HUD fields (the agent's `agent.watch.WatchFrame`
fits) and draws each with `GameView(headless=True)`: no display is needed. One video frame per
emulator frame, at the Atari's 60 frames a second, so the video plays at real speed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np

from recorder.games import FRAMES_PER_SECOND
from recorder.store import atomic_path


def write_video(
    frames: Iterable,
    path: Path,
    action_names: Sequence[str],
    *,
    scale: int = 3,
    fps: int = FRAMES_PER_SECOND,
    label: str = "agent",
    on_frame: Callable[[int], None] | None = None,
) -> int:
    """Draw every item of `frames` (fields frame, episode, score, lives, action, probs) into an mp4.

    Written to a temporary name and renamed when complete. Returns the number of video frames.
    """
    import imageio.v2 as imageio

    from recorder.window import GameView

    path = Path(path)
    if path.suffix.lower() != ".mp4":
        raise ValueError(f"the video file must end in .mp4, got {path.name}")
    view = None
    count = 0
    with atomic_path(path, keep_suffix=True) as tmp:
        try:
            writer = imageio.get_writer(tmp, fps=fps, codec="libx264", quality=7, macro_block_size=2,
                                        ffmpeg_log_level="fatal")
            with writer:
                for item in frames:
                    if view is None:
                        view = GameView(item.frame.shape[:2], action_names, scale=scale, probs_panel=True,
                                        headless=True)
                    hud = {"score": item.score, "lives": item.lives, "episode": item.episode, "mode": label}
                    if item.action is not None:
                        hud["action"] = item.action
                    view.draw(item.frame, hud, probs=None if item.probs is None else np.asarray(item.probs))
                    writer.append_data(view.to_array())
                    count += 1
                    if on_frame is not None:
                        on_frame(count)
        finally:
            if view is not None:
                view.close()
        if count == 0:
            raise ValueError("no frames to write")
    return count
