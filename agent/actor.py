"""A trained policy acting on raw frames, one decision every `frameskip` emulator frames.

What the window loops of `recorder` call when the agent plays (`mimic watch`, DAgger's
takeover mode, `watch --video`): they hand over the raw frames the last decision produced and
get an action and the policy's probabilities back. The observation is built by `agent.obs`,
the same code that builds training data.
"""

from __future__ import annotations

import numpy as np

from agent.obs import FrameStack
from agent.policy import Checkpoint


class PolicyActor:
    """>>> actor = PolicyActor(load_checkpoint(path, game)); actor.reset(first_frame)
    >>> action, probs = actor.act(None)            # decision 0: the first frame alone
    >>> action, probs = actor.act(frames)          # then: the frames the last action produced
    """

    def __init__(self, checkpoint: Checkpoint, *, greedy: bool = False, temperature: float = 1.0,
                 rng: np.random.Generator | None = None) -> None:
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.policy = checkpoint.policy
        self.obs = checkpoint.obs
        self.greedy, self.temperature = greedy, temperature
        self.rng = rng if rng is not None else np.random.default_rng(0)
        self.stack = FrameStack(checkpoint.obs)

    @property
    def frameskip(self) -> int:
        return self.obs.frameskip

    @property
    def observation(self) -> np.ndarray:
        """The stacked observation of the last decision (uint8, as training builds it)."""
        return self.stack.observation

    def reset(self, frame: np.ndarray) -> None:
        self.stack.reset(frame)

    def act(self, frames: np.ndarray | None) -> tuple[int, np.ndarray]:
        """(action, probabilities) for the next decision; `frames`: those since the last one."""
        observation = self.stack.observation if frames is None else self.stack.push(frames)
        actions, probs = self.policy.act(observation, greedy=self.greedy, temperature=self.temperature, rng=self.rng)
        return int(actions[0]), probs[0]
