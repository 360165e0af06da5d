"""The agent's environment: one step is one decision, the same for every game the agent plays.

    emulator, frameskip 1 --the action held `frameskip` frames--> those frames
        --agent.obs: max over them, gray, 84x84--> the newest of `stack` stacked frames

The observation is built by `agent.obs`, the code that builds training data from recordings; a
game's first decision sees its first screen alone, as in a recording.
`DecisionEnvs` is a gymnasium vector env over one of two emulator sources:

- `protocol_envs`: many games at once under the evaluation protocol (sticky actions 0.25
  applied by the emulator every frame, a no-op start of up to 30 frames, a cap of 108,000
  frames, every life), emulated by ale-py's `AtariVectorEnv` on its own threads, one or two
  frames a step, never resized before `agent.obs` does it. Evaluation and `mimic watch` play here.
- `recording_env`: one game at the recording settings (sticky actions off), every frame stored
  by an `EpisodeRecorder`, the emulator state saved before every decision. The planning expert
  and DAgger's rollouts play here; their episodes are saved like a person's.

A game that ends is started again in the same step (gymnasium's SAME_STEP autoreset): the
observation returned for it is the first of its next game, and `info["ended"]` holds the score
and frames of the one that ended. The recording source plays one game and does not restart.
"""

from __future__ import annotations

import functools

import ale_py
import gymnasium as gym
import numpy as np
from ale_py import roms
from gymnasium.vector.utils import batch_space

from agent.obs import ObsConfig, grayscale, resize
from recorder.games import Game
from recorder.recording import EpisodeRecorder

NOOP = 0  # every game's minimal action set starts with NOOP
STANDARD_STICKY = 0.25
STANDARD_NOOP_MAX = 30
STANDARD_MAX_FRAMES = 108_000


@functools.cache
def screen_shape(rom: str) -> tuple[int, int]:
    """(height, width) of a game's screen as the emulator draws it (Pac-Man's is 250 lines, most 210)."""
    ale = ale_py.ALEInterface()
    ale.loadROM(roms.get_rom_path(rom))
    height, width = ale.getScreenDims()
    return int(height), int(width)


class _ProtocolSource:
    """Screens from ale-py's AtariVectorEnv, as drawn (never resized), one or two frames a step.

    In colour (`rgb`, for watching) a step is one frame. In gray a step is two frames when the
    decision's frames pair up, and the screen returned is the emulator's max over the pair: the
    max `agent.obs` takes, done on the emulator's threads. Its gray palette is OpenCV's RGB2GRAY
    of its colours, and its max of a pair is the max of the two screens (tests hold both).
    """

    def __init__(self, game: Game, n: int, *, sticky: float, noop_max: int, max_frames: int, rgb: bool,
                 frameskip: int) -> None:
        from ale_py.vector_env import AtariVectorEnv

        height, width = screen_shape(game.rom)
        self.rgb = rgb
        self.frames_per_step = 2 if not rgb and frameskip % 2 == 0 else 1
        self.envs = AtariVectorEnv(
            game.rom, n, frameskip=self.frames_per_step, stack_num=1, img_height=height, img_width=width,
            grayscale=not rgb, maxpool=self.frames_per_step == 2,
            reward_clipping=False, use_fire_reset=False, noop_max=noop_max, repeat_action_probability=sticky,
            max_num_frames_per_episode=max_frames,
        )
        self.num_envs = n

    def reset(self, seed: int | None, mask: np.ndarray | None = None):
        """(frames (n, H, W, 3), emulator frames into the game, lives) after a reset of the masked envs."""
        options = None if mask is None else {"reset_mask": mask}
        frames, info = self.envs.reset(seed=seed, options=options)
        return frames[:, 0], info["episode_frame_number"], info["lives"]

    def step(self, actions: np.ndarray):
        frames, rewards, terminated, truncated, info = self.envs.step(actions.astype(np.int32))
        return frames[:, 0], rewards, terminated, truncated, info["episode_frame_number"], info["lives"]

    def close(self) -> None:
        self.envs.close()


class _RecordingSource:
    """Frames from one `EpisodeRecorder`: every frame stored, one game, no restart."""

    num_envs = 1
    rgb = True
    frames_per_step = 1

    def __init__(self, recorder: EpisodeRecorder) -> None:
        self.recorder = recorder

    def reset(self, seed: int | None, mask: np.ndarray | None = None):
        if mask is not None:
            raise RuntimeError("a recording plays one game: it is not started again")
        return self.recorder.reset()[None], np.zeros(1, dtype=np.int64), np.array([self.recorder.lives])

    def step(self, actions: np.ndarray):
        step = self.recorder.step(int(actions[0]))
        return (step.frame[None], np.array([step.reward]), np.array([step.terminated]), np.array([step.truncated]),
                np.array([self.recorder.length]), np.array([step.lives]))

    def close(self) -> None:
        self.recorder.close()


class DecisionEnvs(gym.vector.VectorEnv):
    """Games stepped one decision at a time; see the module docstring.

    >>> envs = protocol_envs(game, ObsConfig(), n=8)
    >>> observations, info = envs.reset(seed=0)           # (8, stack, 84, 84) uint8
    >>> observations, rewards, terminated, truncated, info = envs.step(actions)
    """

    def __init__(self, source, game: Game, obs: ObsConfig) -> None:
        self.source, self.game, self.obs_config = source, game, obs
        self.num_envs = source.num_envs
        self.single_observation_space = gym.spaces.Box(0, 255, obs.shape, dtype=np.uint8)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.single_action_space = gym.spaces.Discrete(game.n_actions)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.metadata = {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
        self._stacks = np.zeros((self.num_envs, *obs.shape), dtype=np.uint8)
        self._steps = obs.frameskip // source.frames_per_step  # source steps a decision
        self._frames: list[np.ndarray] = []  # the screens of the last decision's steps: (n, H, W[, 3]) each
        self._played = np.zeros(self.num_envs, dtype=np.int64)  # steps of the last decision, per env
        self._rewards = np.zeros((self._steps, self.num_envs))
        self.scores = np.zeros(self.num_envs)  # of the games in progress
        self.frame_numbers = np.zeros(self.num_envs, dtype=np.int64)  # emulator frames they played (no-ops not counted)
        self.start_frames = np.zeros(self.num_envs, dtype=np.int64)  # emulator frames before the first decision (no-op start)
        self.lives = np.zeros(self.num_envs, dtype=np.int64)
        self.start_screens: np.ndarray | None = None  # the screen each game in progress began with

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self._start(np.ones(self.num_envs, dtype=bool), *self.source.reset(seed))
        return self._stacks.copy(), {}

    def _start(self, which: np.ndarray, frames: np.ndarray, numbers: np.ndarray, lives: np.ndarray) -> None:
        if self.start_screens is None:
            self.start_screens = np.empty_like(frames)
        gray = grayscale(frames) if self.source.rgb else frames
        for i in np.flatnonzero(which):
            self._stacks[i] = resize(gray[i])  # the first decision sees the start alone
            self.start_screens[i] = frames[i]
        self.scores[which] = 0.0
        self.start_frames[which] = numbers[which]
        self.frame_numbers[which] = 0
        self.lives[which] = lives[which]

    def step(self, actions):
        actions = np.asarray(actions, dtype=np.int64).reshape(self.num_envs)
        k, n = self._steps, self.num_envs
        ended = np.zeros(n, dtype=bool)
        terminated = np.zeros(n, dtype=bool)
        truncated = np.zeros(n, dtype=bool)
        self._rewards[:] = 0.0
        self._played[:] = k
        frames_played, grays = [], []
        for f in range(k):
            frames, rewards, term, trunc, numbers, lives = self.source.step(np.where(ended, NOOP, actions))
            frames_played.append(frames)
            grays.append(grayscale(frames) if self.source.rgb else frames)
            live = ~ended
            self._rewards[f, live] = rewards[live]
            self.frame_numbers[live] = numbers[live] - self.start_frames[live]
            self.lives[live] = lives[live]
            now = live & (term | trunc)
            terminated |= now & term
            truncated |= now & ~term
            self._played[now] = f + 1
            ended |= now
            if ended.all():
                break
        self._frames = frames_played
        reward = self._rewards.sum(axis=0)
        self.scores += reward
        self._stacks[:, :-1] = self._stacks[:, 1:]
        self._stacks[:, -1] = resize(np.maximum.reduce(grays))  # agent.obs.pool_frames of every game at once
        for i in np.flatnonzero(self._played < len(grays)):  # a game that ended before the decision's last frame
            self._stacks[i, -1] = resize(np.maximum.reduce([gray[i] for gray in grays[: self._played[i]]]))
        info: dict = {}
        if ended.any():
            info["ended"] = {"score": np.where(ended, self.scores, np.nan),
                             "frames": np.where(ended, self.frame_numbers, -1), "mask": ended.copy()}
            if self.restarts:  # SAME_STEP: the next game starts now
                self._start(ended, *self.source.reset(None, ended))
        return self._stacks.copy(), reward, terminated, truncated, info

    def last_frames(self, i: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The screens env `i`'s last decision played, and their rewards (every frame with `rgb`)."""
        played = min(self._played[i], len(self._frames))
        frames = [frame[i] for frame in self._frames[:played]]
        shape = (0, *screen_shape(self.game.rom), 3)[: 4 if self.source.rgb else 3]
        return (np.stack(frames) if frames else np.empty(shape, dtype=np.uint8)), self._rewards[:played, i]

    @property
    def restarts(self) -> bool:
        """Whether a game that ends is started again (the protocol's games; a recording plays one)."""
        return isinstance(self.source, _ProtocolSource)

    def states(self) -> list[bytes] | None:
        """The emulator state of each game now, for a look-ahead (recording envs); None otherwise."""
        return [self.source.recorder.clone_state()] if isinstance(self.source, _RecordingSource) else None

    @property
    def recorder(self) -> EpisodeRecorder:
        """The recording source's recorder (`recording_env` only)."""
        if not isinstance(self.source, _RecordingSource):
            raise AttributeError("only a recording env has a recorder")
        return self.source.recorder

    def close_extras(self, **kwargs) -> None:
        self.source.close()


def protocol_envs(game: Game, obs: ObsConfig, n: int, *, sticky: float = STANDARD_STICKY,
                  noop_max: int = STANDARD_NOOP_MAX, max_frames: int = STANDARD_MAX_FRAMES,
                  rgb: bool = False) -> DecisionEnvs:
    """`n` games under the evaluation protocol (or other settings), stepped together.

    `rgb`: keep the screens in colour (`last_frames`, `start_screens`: for watching); else gray.
    """
    if n < 1:
        raise ValueError(f"at least one environment, got {n}")
    source = _ProtocolSource(game, n, sticky=sticky, noop_max=noop_max, max_frames=max_frames, rgb=rgb,
                             frameskip=obs.frameskip)
    return DecisionEnvs(source, game, obs)


def recording_env(recorder: EpisodeRecorder, obs: ObsConfig) -> DecisionEnvs:
    """One game played through `recorder` (recording settings; every frame stored)."""
    return DecisionEnvs(_RecordingSource(recorder), recorder.game, obs)

