"""Watching the agent: every emulator frame it plays, with its score, action and probabilities.

`agent_frames` yields one `WatchFrame` per emulator frame (60 a second of play), which the
video writer (`recorder.video`) draws; this module never draws anything itself. The agent plays
in the one decision loop (`agent.rollout.play`) under the evaluation protocol by default
(sticky actions 0.25, no-op starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agent.env import STANDARD_MAX_FRAMES, STANDARD_NOOP_MAX, STANDARD_STICKY, protocol_envs
from agent.obs import ObsConfig
from agent.rollout import PolicyController, play
from recorder.games import Game


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
