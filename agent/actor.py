"""A trained policy acting on raw frames, one decision every `frameskip` emulator frames.

What the window loop of `recorder.play` calls when the agent plays there (`mimic watch` in a
window, DAgger's takeover and rewind modes): it hands over the raw frames the last decision
produced and gets an action and the policy's probabilities back. The observation is built by
`agent.obs`, the same code that builds training data; the choice is the decision loop's
`agent.rollout.PolicyController`, so the agent samples the same in the window and out of it.
"""

from __future__ import annotations

import numpy as np

from agent.obs import FrameStack
from agent.policy import Checkpoint
from agent.rollout import PolicyController


class PolicyActor:
    """>>> actor = PolicyActor(load_checkpoint(path, game)); actor.reset(first_frame)
    >>> action, probs = actor.act(None)            # decision 0: the first frame alone
    >>> action, probs = actor.act(frames)          # then: the frames the last action produced
    """

    def __init__(self, checkpoint: Checkpoint, *, greedy: bool = False, temperature: float = 1.0,
                 rng: np.random.Generator | None = None) -> None:
        self.controller = PolicyController(checkpoint.policy, rng if rng is not None else np.random.default_rng(0),
                                           greedy=greedy, temperature=temperature)
        self.obs = checkpoint.obs
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
        decisions = self.controller.decide(observation[None])
        return int(decisions.actions[0]), decisions.probs[0]
