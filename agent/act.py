"""The agent acting live on a frameskip-1 emulator (the recorder's, a window's, DAgger's).

Feed it every screen the emulator shows; it decides at frames 0, k, 2k, ... (k = frameskip) on
the observation `agent.obs` builds, and holds the chosen action in between. An episode recorded
while it plays therefore rebuilds, from the file, exactly the observations it acted on.

    >>> agent = LiveAgent(checkpoint.policy, checkpoint.obs)
    >>> action = agent.reset(recorder.reset())
    >>> while not recorder.done:
    ...     step = recorder.step(action)
    ...     action = agent.observe(step.frame)
"""

from __future__ import annotations

import numpy as np

from agent.obs import FrameStack, ObsConfig


class LiveAgent:
    def __init__(
        self, policy, obs: ObsConfig, *, greedy: bool = False, temperature: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.policy, self.config = policy, obs
        self.greedy, self.temperature = greedy, temperature
        self.rng = rng if rng is not None else np.random.default_rng()
        self.stack = FrameStack(obs)
        self._pending: list[np.ndarray] = []
        self.action = 0
        self.probs: np.ndarray | None = None  # the probabilities at the last decision
        self.observation: np.ndarray | None = None  # the observation of the last decision
        self.decisions = 0

    def reset(self, frame: np.ndarray) -> int:
        """Start an episode on its first screen; returns the action for the first frame."""
        self._pending = []
        self.decisions = 0
        return self._decide(self.stack.reset(frame))

    def observe(self, frame: np.ndarray) -> int:
        """The screen after the last emulator frame; returns the action for the next frame."""
        self._pending.append(frame)
        if len(self._pending) == self.config.frameskip:
            observation = self.stack.push(np.stack(self._pending))
            self._pending = []
            return self._decide(observation)
        return self.action

    @property
    def deciding(self) -> bool:
        """True when the next `observe` call will make a decision."""
        return len(self._pending) == self.config.frameskip - 1

    def _decide(self, observation: np.ndarray) -> int:
        actions, probs = self.policy.act(observation, greedy=self.greedy, temperature=self.temperature, rng=self.rng)
        self.action, self.probs, self.observation = int(actions[0]), probs[0], observation
        self.decisions += 1
        return self.action
