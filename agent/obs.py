"""The policy's observation, built by one code path from stored episodes and from the live emulator.

Raw RGB frames (210x160x3 uint8, one per emulator frame) become the observation like this:

1. **Grayscale** with OpenCV (`cv2.COLOR_RGB2GRAY`).
2. **Pooling over a decision.** The agent decides once every `frameskip` emulator frames. The
   frame it sees for decision ``i`` is the pixel-wise maximum of the gray frames produced by
   the previous decision, i.e. stored frames ``frames[i*k - k + 1 .. i*k]`` (``k`` =
   frameskip; decision 0 sees ``frames[0]`` alone). Pac-Man draws one ghost per frame in
   rotation; a max over *all* the frames of a decision (not only the last two) keeps every
   ghost in every observation.
3. **Resize to 84x84** with `cv2.resize(..., interpolation=cv2.INTER_AREA)`, as gymnasium's
   `AtariPreprocessing` does: a frame pooled alone (live) and the same frame pooled among others
   (training) are bit-identical.
4. **Stack** the last `stack` pooled frames, oldest first; before the episode has `stack`
   decisions, the first pooled frame is repeated. Stacks are gathered by index from one
   array of pooled frames per episode (`stack_indices`), never stored `stack` times.

**Decision alignment (labels).** Decision ``i`` covers the steps ``i*k .. i*k + k - 1``
(fewer at the end of an episode). Its label is the most frequent label among those steps,
ignoring steps without a label (-1, `NO_LABEL`); a tie goes to the tied label held first. A
decision whose steps are all unlabelled gets -1 and is not trained on. Its label set (the
actions as good as the label, a bitmask; see `recorder.store`) is that of the first of its
steps carrying the label.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import cv2
import numpy as np

from recorder.store import NO_LABEL

OBS_SIZE = 84
_RESIZE_CHUNK = 64  # frames a resize call takes at most (a tall image of 64 screens)


@dataclass(frozen=True)
class ObsConfig:
    """How frames become observations: a checkpoint carries this and acting uses it."""

    stack: int = 4
    frameskip: int = 4
    size: int = OBS_SIZE

    def __post_init__(self) -> None:
        if not 1 <= self.stack <= 16:
            raise ValueError(f"stack must be between 1 and 16 decisions, got {self.stack}")
        if not 1 <= self.frameskip <= 16:
            raise ValueError(f"frameskip must be between 1 and 16 emulator frames, got {self.frameskip}")
        if self.size != OBS_SIZE:
            raise ValueError(f"observations are {OBS_SIZE}x{OBS_SIZE}, got size {self.size}")

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.stack, self.size, self.size)

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------------------------
# Pixels


def grayscale(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB (..., H, W, 3) -> uint8 gray (..., H, W), by `cv2.COLOR_RGB2GRAY`."""
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim < 3 or frames.shape[-1] != 3:
        raise ValueError(f"expected uint8 RGB frames (..., H, W, 3), got {frames.dtype} {frames.shape}")
    rows = np.ascontiguousarray(frames).reshape(-1, frames.shape[-2], 3)  # every frame as one tall image
    return cv2.cvtColor(rows, cv2.COLOR_RGB2GRAY).reshape(frames.shape[:-1])


def resize(gray: np.ndarray) -> np.ndarray:
    """uint8 gray (..., H, W) -> uint8 (..., 84, 84), by `cv2.resize` with `INTER_AREA`.

    Many frames go through one call as one tall image: output row 84 j starts exactly at input
    row H j, so no output pixel mixes two frames, and a frame resized among others equals the
    frame resized alone (a test holds it).
    """
    gray = np.ascontiguousarray(gray)
    height, width = gray.shape[-2:]
    flat = gray.reshape(-1, height, width)
    out = np.empty((len(flat), OBS_SIZE, OBS_SIZE), dtype=np.uint8)
    for lo in range(0, len(flat), _RESIZE_CHUNK):
        part = flat[lo : lo + _RESIZE_CHUNK]
        tall = cv2.resize(part.reshape(-1, width), (OBS_SIZE, OBS_SIZE * len(part)), interpolation=cv2.INTER_AREA)
        out[lo : lo + len(part)] = tall.reshape(len(part), OBS_SIZE, OBS_SIZE)
    return out.reshape(*gray.shape[:-2], OBS_SIZE, OBS_SIZE)


def pool_frames(frames: np.ndarray) -> np.ndarray:
    """The pooled 84x84 frame of one decision: max over the gray frames it produced, resized.

    `frames` is (n, H, W, 3) uint8 with n >= 1 (the frames of one decision, in order).
    """
    frames = np.asarray(frames)
    if frames.ndim != 4 or len(frames) == 0:
        raise ValueError(f"expected (n>=1, H, W, 3) frames of one decision, got shape {frames.shape}")
    return resize(grayscale(frames).max(axis=0))


def decision_spans(n_steps: int, frameskip: int) -> np.ndarray:
    """(D, 2) step ranges [start, stop) of the decisions over an episode of `n_steps` steps."""
    starts = np.arange(0, n_steps, frameskip, dtype=np.int64)
    return np.stack([starts, np.minimum(starts + frameskip, n_steps)], axis=1)


def pooled_frame_ranges(n_steps: int, frameskip: int) -> np.ndarray:
    """(D, 2) ranges [lo, hi) of stored frames pooled into the observation of each decision."""
    starts = decision_spans(n_steps, frameskip)[:, 0]
    return np.stack([np.maximum(starts - frameskip + 1, 0), starts + 1], axis=1)


def pool_episode(frames: np.ndarray, frameskip: int, n_steps: int | None = None, *, chunk: int = 256) -> np.ndarray:
    """(D, 84, 84) uint8 pooled frames of every decision of a stored episode.

    `frames` is the episode's (T+1, H, W, 3) frames (or any sequence indexable by step);
    `n_steps` defaults to T. Works in chunks of decisions so memory stays small.
    """
    n_steps = len(frames) - 1 if n_steps is None else n_steps
    ranges = pooled_frame_ranges(n_steps, frameskip)
    out = np.empty((len(ranges), OBS_SIZE, OBS_SIZE), dtype=np.uint8)
    if len(ranges):
        out[0] = pool_frames(frames[0:1])
    for lo in range(1, len(ranges), chunk):
        hi = min(len(ranges), lo + chunk)
        first = int(ranges[lo, 0])
        block = np.asarray(frames[first : int(ranges[hi - 1, 1])])
        gray = grayscale(block).reshape(hi - lo, frameskip, *block.shape[1:3]).max(axis=1)
        out[lo:hi] = resize(gray)
    return out


class EpisodePooler:
    """Pools a stored episode's frames as they stream in (see `recorder.store.iter_frames`).

    Feed frames in order with `add`; `finish` returns the (D, 84, 84) pooled frames. Memory:
    one chunk of raw frames at a time.
    """

    def __init__(self, n_steps: int, frameskip: int) -> None:
        self.frameskip = frameskip
        self.ranges = pooled_frame_ranges(n_steps, frameskip)
        self.out = np.empty((len(self.ranges), OBS_SIZE, OBS_SIZE), dtype=np.uint8)
        self._seen = 0  # frames received
        self._done = 0  # decisions pooled
        self._carry: np.ndarray | None = None  # frames received but not yet pooled

    def add(self, frames: np.ndarray) -> None:
        frames = frames if self._carry is None else np.concatenate([self._carry, frames])
        base = self._seen - (0 if self._carry is None else len(self._carry))
        self._seen = base + len(frames)
        stop = self._done
        while stop < len(self.ranges) and self.ranges[stop, 1] <= self._seen:
            stop += 1
        if stop > self._done:
            if self._done == 0:
                self.out[0] = pool_frames(frames[0:1])
                self._done = 1
            if stop > self._done:
                lo = int(self.ranges[self._done, 0]) - base
                hi = int(self.ranges[stop - 1, 1]) - base
                gray = grayscale(frames[lo:hi]).reshape(stop - self._done, self.frameskip, *frames.shape[1:3])
                self.out[self._done : stop] = resize(gray.max(axis=1))
                self._done = stop
        keep_from = int(self.ranges[self._done, 0]) - base if self._done < len(self.ranges) else len(frames)
        self._carry = frames[keep_from:].copy() if keep_from < len(frames) else None

    def finish(self) -> np.ndarray:
        if self._done != len(self.ranges):
            raise ValueError(f"pooled {self._done} of {len(self.ranges)} decisions: the episode's frames ran short")
        return self.out


# ---------------------------------------------------------------------------------------------
# Labels and stacks


def decision_labels(labels: np.ndarray, frameskip: int) -> np.ndarray:
    """(D,) int16 label of each decision: the most frequent label over its steps (see module doc)."""
    return decision_targets(labels, None, frameskip)[0]


def decision_targets(labels: np.ndarray, label_sets: np.ndarray | None, frameskip: int) -> tuple[np.ndarray, np.ndarray]:
    """(D,) int16 label and (D,) uint32 label set of each decision (see module doc).

    `label_sets` None: each label stands alone (its own bit).
    """
    labels = np.asarray(labels, dtype=np.int64)
    sets = None if label_sets is None else np.asarray(label_sets, dtype=np.uint32)
    spans = decision_spans(len(labels), frameskip)
    out = np.full(len(spans), NO_LABEL, dtype=np.int16)
    out_sets = np.zeros(len(spans), dtype=np.uint32)
    for i, (lo, hi) in enumerate(spans):
        covered = labels[lo:hi]
        steps = np.flatnonzero(covered != NO_LABEL)
        if steps.size == 0:
            continue
        values, first, counts = np.unique(covered[steps], return_index=True, return_counts=True)
        best = counts == counts.max()
        pick = np.argmin(np.where(best, first, len(steps)))
        out[i] = values[pick]
        out_sets[i] = (1 << int(values[pick])) if sets is None else sets[lo + steps[first[pick]]]
    return out, out_sets


def moot(label_sets: np.ndarray, n_actions: int) -> np.ndarray:
    """True where a decision's label set holds every action: whatever the player did, the expert
    found it as good, so the label there is only the action held before (see `agent.train`)."""
    every = np.uint32((1 << n_actions) - 1)
    return (np.asarray(label_sets, dtype=np.uint32) & every) == every


def set_bits(label_sets: np.ndarray, n_actions: int) -> np.ndarray:
    """(D, actions) 0/1: which actions each decision's label set holds."""
    return (np.asarray(label_sets)[:, None] >> np.arange(n_actions, dtype=np.uint32)) & 1


def stack_indices(n_decisions: int, stack: int, offset: int = 0) -> np.ndarray:
    """(D, stack) indices into a pooled-frame array: decision i sees [i-stack+1 .. i], clipped to the episode start."""
    steps = np.arange(n_decisions, dtype=np.int64)[:, None] + np.arange(1 - stack, 1, dtype=np.int64)[None, :]
    return (np.maximum(steps, 0) + offset).astype(np.int64)


def episode_observations(frames: np.ndarray, config: ObsConfig, n_steps: int | None = None) -> np.ndarray:
    """Every observation (D, stack, 84, 84) of a stored episode (a copy: for tests and tools, not training)."""
    pooled = pool_episode(frames, config.frameskip, n_steps)
    return pooled[stack_indices(len(pooled), config.stack)]


class FrameStack:
    """The live side: the observation while the agent plays, decision by decision.

    >>> stack = FrameStack(ObsConfig())
    >>> obs = stack.reset(first_frame)           # (4, 84, 84) uint8
    >>> obs = stack.push(frames_of_the_decision)  # the k frames the last action produced
    """

    def __init__(self, config: ObsConfig) -> None:
        self.config = config
        self._frames = np.zeros(config.shape, dtype=np.uint8)

    def reset(self, frames: np.ndarray) -> np.ndarray:
        """Start from one frame (H, W, 3), or the last few frames (n, H, W, 3) before the first decision."""
        frames = np.asarray(frames)
        self._frames[:] = pool_frames(frames[None] if frames.ndim == 3 else frames)
        return self._frames.copy()

    def push(self, frames: np.ndarray) -> np.ndarray:
        self._frames[:-1] = self._frames[1:]
        self._frames[-1] = pool_frames(frames)
        return self._frames.copy()

    @property
    def observation(self) -> np.ndarray:
        return self._frames
