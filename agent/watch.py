"""Watching the agent: every emulator frame it plays, with its score, action and probabilities.

`agent_frames` yields one `WatchFrame` per emulator frame (60 a second of play), which the
window or the video writer (`recorder.video`) draws; this module never draws anything itself.
The agent plays under the evaluation protocol by default (sticky actions 0.25, no-op starts).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from agent.evaluate import STANDARD_MAX_FRAMES, STANDARD_NOOP_MAX, STANDARD_STICKY, AgentEnv
from agent.obs import ObsConfig
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
    temperature: float = 1.0,
    seed: int = 0,
    sticky: float = STANDARD_STICKY,
    noop_max: int = STANDARD_NOOP_MAX,
    max_frames: int = STANDARD_MAX_FRAMES,
) -> Iterator[WatchFrame]:
    """Play `episodes` full episodes with `policy`, yielding every emulator frame."""
    if episodes < 1:
        raise ValueError(f"episodes must be at least 1, got {episodes}")
    env = AgentEnv(game, obs, sticky=sticky, max_frames=max_frames, noop_max=noop_max)
    rng = np.random.default_rng(seed)
    try:
        for episode in range(1, episodes + 1):
            yield from _play_one(env, policy, game, episode, seed + episode - 1, greedy, temperature, rng)
    finally:
        env.close()


def _play_one(env, policy, game, episode, seed, greedy, temperature, rng) -> Iterator[WatchFrame]:
    observation, info = env.reset(seed=seed)
    ale = env.env.unwrapped.ale
    score, step = float(info["score"]), 0
    yield WatchFrame(env.first_frame, episode, step, score, int(ale.lives()), None, None)
    done = False
    while not done:
        actions, probs = policy.act(observation, greedy=greedy, temperature=temperature, rng=rng)
        action = int(actions[0])
        observation, _, terminated, truncated, info = env.step(action)
        done = bool(terminated or truncated)
        frames, rewards = env.last_frames
        lives = int(ale.lives())
        for frame, reward in zip(frames, rewards):
            score += float(reward)
            step += 1
            yield WatchFrame(frame, episode, step, score, lives, game.action_names[action], probs[0])
