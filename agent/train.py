"""Behavioural cloning: cross-entropy on recorded (observation, label) pairs.

A label may come with the set of actions as good as it (the planning expert's labels do: in
Pac-Man a corridor makes four of five joystick positions one move, and rollouts often find two
ways equally good). With `label_sets` the loss is -log of the probability the policy gives the
whole set, and a decision counts as right when the policy's most likely action is in the set.
It is off by default, measured: on the planner's Pac-Man labels it discards what the single
label carries (the expert keeps its direction where ways tie) and the cloned agent scores below
the label-trained one in every seed (bench/label_targets.py). For a label that stands alone (a
person's) both are plain cross-entropy and accuracy. A data set may also carry target
distributions (`BCData.soft`, e.g. the planner's action values through a softmax); the loss is
then the cross-entropy to them. Measured on the same labels (bench/value_targets.py), the values
alone score below the label, and half values, half label is not shown better than it.

A decision whose set holds every action is moot (`agent.obs.moot`): the expert's look-ahead
found whatever the player did as good, so its label is only the action held before, which the
screen does not show. Moot decisions are left out of training and validation unless
`keep_moot`: measured on the planner's Pac-Man labels, leaving them out (about 30% of the
decisions) clones a better player, in less time (bench/dagger_labels.py). A person's label
stands alone, so a person's decisions are never moot.

With `average` (epochs) the trainer also keeps the running average of the weights over about
that many last epochs (`WeightAverage`), saved as avg.pt beside best.pt and last.pt and
validated every epoch. It only reads the weights: the training, and last.pt, are the same with
or without it. It is off by default, because which weights play better depends on the game
(bench/weight_average.py). On 8 of the planner's Ms. Pac-Man demonstrations the weights averaged
over the last 5 of 20 epochs play better than the last epoch's in five training seeds of six, by
153 points (27%) on the mean. On 8 Pac-Man demonstrations they play worse in five of five, by 8
points (23%), lower validation loss and all.

The data set is one uint8 array of pooled 84x84 frames for all episodes (built by `agent.obs`
while the episode files stream in, a chunk of raw frames at a time) plus, per decision, its
label and the indices of its stack. A batch gathers its stacks by index; nothing is stored
as float or four times. Episodes are split into training and validation whole, so the
validation score measures play the policy has not seen; a run that starts from trained weights
(a DAgger round, a resumed run) keeps their split (`inherited_split`), or the weights would be
validated on episodes they were trained on; a DAgger round retrained from fresh weights keeps
the starting policy's split too (`split_from`), so every round validates on the same demonstrations.

    result = train(game, store.episode_paths(), store.models, TrainConfig(epochs=10))
    result.best_checkpoint, result.final.val_accuracy
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch

from agent.obs import NO_LABEL, OBS_SIZE, EpisodePooler, ObsConfig, decision_targets, moot, stack_indices
from agent.policy import (
    CheckpointError,
    Policy,
    PolicyConfig,
    check_compatible,
    check_ensemble,
    combine,
    read_checkpoint,
    resolve_device,
    save_checkpoint,
    torch_threads,
)
from recorder.games import Game
from recorder.store import DamagedEpisodeError, GameStore, iter_frames, load_episode, read_info, single_label_sets

BEST_NAME = "best.pt"
LAST_NAME = "last.pt"
AVG_NAME = "avg.pt"
KEEPS = ("best", "last", "avg")
# What each network of an ensemble trains on. "shared": every member the same batches, in the same
# order. "shuffled": every member all the training decisions, each in its own order. "bootstrap":
# each member its own bootstrap sample of them (as many, drawn with replacement once per
# training, so each sees about 63% of them), in its own order: bagging.
MEMBER_BATCHES = ("shared", "shuffled", "bootstrap")


class NoDataError(ValueError):
    """Nothing to train on: no recordings, or no labelled decisions."""


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 2.5e-4
    stack: int = 4
    frameskip: int = 4
    val_fraction: float = 0.1
    class_weights: bool = False  # weight the loss by inverse action frequency (NOOP dominates)
    label_sets: bool = False  # learn the set of actions as good as each label, not the label alone
    keep_moot: bool = False  # also train on decisions where every action is as good (see the module doc)
    augment: bool = False  # random shifts of up to `shift` pixels
    shift: int = 4
    mirror: bool = False  # each training decision seen mirrored left to right half the time, its label too
    average: float = 0.0  # epochs the averaged weights (avg.pt) reach back, about; 0: none kept (see WeightAverage)
    ensemble: int = 1  # networks trained side by side from their own initial weights, acting on their vote
    member_batches: str = "shared"  # what an ensemble's members train on: one of MEMBER_BATCHES
    seed: int = 0
    device: str = "auto"
    threads: int | None = None  # torch intra-op threads on the CPU (None: torch's default)

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs}")
        if self.batch_size < 1:
            raise ValueError(f"batch size must be at least 1, got {self.batch_size}")
        if not self.lr > 0:
            raise ValueError(f"learning rate must be > 0, got {self.lr}")
        if not 0 <= self.val_fraction < 1:
            raise ValueError(f"validation fraction must be in [0, 1), got {self.val_fraction}")
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")
        if not 0 <= self.shift <= 16:
            raise ValueError(f"shift must be 0..16 pixels, got {self.shift}")
        if not 0 <= self.average <= 1000:
            raise ValueError(f"average must be 0 (off) to 1000 epochs, got {self.average}")
        ObsConfig(self.stack, self.frameskip)  # validates both
        check_ensemble(self.ensemble)
        if self.member_batches not in MEMBER_BATCHES:
            raise ValueError(f"member batches must be one of {', '.join(MEMBER_BATCHES)}, got {self.member_batches!r}")
        if self.member_batches != "shared" and self.ensemble == 1:
            raise ValueError(f"member batches {self.member_batches!r} are for an ensemble's networks; "
                             "pass --ensemble N (2 or more) with it")

    @property
    def obs(self) -> ObsConfig:
        return ObsConfig(stack=self.stack, frameskip=self.frameskip)


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int  # 1-based
    train_loss: float
    train_accuracy: float
    val_loss: float | None
    val_accuracy: float | None
    recall: dict[str, float | None]  # per action, on validation (on training data when there is none)
    samples_per_s: float
    seconds: float
    avg_val_loss: float | None = None  # the averaged weights' (avg.pt), when kept and there is validation
    avg_val_accuracy: float | None = None


@dataclass(frozen=True)
class TrainProgress:
    epoch: int
    epochs: int
    batch: int
    batches: int
    loss: float  # running mean over the epoch so far
    accuracy: float
    samples_per_s: float


@dataclass(frozen=True)
class TrainResult:
    best_checkpoint: Path
    last_checkpoint: Path
    history: list[EpochMetrics]
    best_epoch: int
    train_episodes: list[Path]
    val_episodes: list[Path]
    train_samples: int
    val_samples: int
    skipped: list[str] = field(default_factory=list)  # damaged episodes, one message each
    moot_samples: int = 0  # labelled decisions left out as moot (every action as good), training and validation
    avg_checkpoint: Path | None = None  # the averaged weights, when the config keeps them

    @property
    def final(self) -> EpochMetrics:
        return self.history[-1]

    @property
    def best(self) -> EpochMetrics:
        return self.history[self.best_epoch - 1]

    def checkpoint(self, keep: str) -> Path:
        """The weights to go on with: "best" (lowest validation loss), "last" (the last epoch's) or
        "avg" (the weights averaged over the last epochs; only when the config's `average` kept them)."""
        if keep not in KEEPS:
            raise ValueError(f"keep must be one of {', '.join(KEEPS)}, got {keep!r}")
        if keep == "avg":
            if self.avg_checkpoint is None:
                raise ValueError("no averaged weights to keep: train with average > 0 (--average EPOCHS)")
            return self.avg_checkpoint
        return self.best_checkpoint if keep == "best" else self.last_checkpoint


# ---------------------------------------------------------------------------------------------
# The data set


@dataclass
class BCData:
    """Pooled frames of many episodes and, per decision, its label and stack indices."""

    pooled: np.ndarray  # (D, 84, 84) uint8, every decision of every episode
    labels: np.ndarray  # (D,) int16, NO_LABEL where not trained on
    sets: np.ndarray  # (D,) uint32 bitmask of the actions as good as the label (0 where unlabelled)
    stacks: np.ndarray  # (D, stack) int64 indices into `pooled`
    episode: np.ndarray  # (D,) int32: which of `paths` the decision belongs to
    paths: list[Path]
    soft: np.ndarray | None = None  # (D, actions) float32 target distributions: when set, learnt instead of labels

    def samples(self, episodes: Sequence[int] | None = None) -> np.ndarray:
        """Indices of the labelled decisions (of the given episodes)."""
        keep = self.labels != NO_LABEL
        if episodes is not None:
            keep &= np.isin(self.episode, np.asarray(list(episodes), dtype=np.int32))
        return np.flatnonzero(keep)

    @property
    def nbytes(self) -> int:
        arrays = (self.pooled, self.labels, self.sets, self.stacks, self.episode, self.soft)
        return sum(a.nbytes for a in arrays if a is not None)


def load_data(
    paths: Sequence[Path], game: Game, obs: ObsConfig, *, warn: Callable[[str], None] | None = None,
    on_load: Callable[[int, int], None] | None = None,
) -> BCData:
    """Pool and label every episode in `paths`; damaged or foreign ones are skipped and passed to `warn`.

    Within each folder the episodes are taken in order of their emulator seed (then file name),
    not of their file names alone: a name starts with the second the episode began, so episodes
    that parallel workers record come out in an order that changes from run to run, and with it
    the validation split and the batches. By seed, the same recordings train the same policy.
    `on_load(done, total)` is called after each episode (total: the readable ones).
    """
    infos = []
    for path in paths:
        try:
            info = read_info(path)
        except DamagedEpisodeError as exc:
            _tell(warn, str(exc))
            continue
        if info.game != game.name or tuple(info.action_names) != game.action_names:
            _tell(warn, f"{Path(path).name}: recorded for {info.game}, not {game.name}; skipped")
            continue
        if info.length < 1:
            continue
        infos.append((Path(path), info))
    folders: dict[Path, int] = {}  # folders keep the order they come in (demos, then rounds)
    for path, _ in infos:
        folders.setdefault(path.parent, len(folders))
    infos.sort(key=lambda item: (folders[item[0].parent], item[1].seed, item[0].name))
    total = sum(math.ceil(info.length / obs.frameskip) for _, info in infos)
    pooled = np.empty((total, OBS_SIZE, OBS_SIZE), dtype=np.uint8)
    labels = np.empty(total, dtype=np.int16)
    sets = np.empty(total, dtype=np.uint32)
    stacks = np.empty((total, obs.stack), dtype=np.int64)
    episode = np.empty(total, dtype=np.int32)
    kept: list[Path] = []
    at = 0
    for done, (path, info) in enumerate(infos, start=1):
        try:
            part, part_labels, part_sets = _pool_one(path, info.length, obs)
        except DamagedEpisodeError as exc:
            _tell(warn, str(exc))
            continue
        finally:
            if on_load is not None:
                on_load(done, len(infos))
        n = len(part)
        pooled[at : at + n] = part
        labels[at : at + n] = part_labels
        sets[at : at + n] = part_sets
        stacks[at : at + n] = stack_indices(n, obs.stack, offset=at)
        episode[at : at + n] = len(kept)
        kept.append(path)
        at += n
    if at < total:  # some episode turned out damaged: shrink in place, no copy
        pooled, labels, sets, stacks, episode = pooled[:at], labels[:at], sets[:at], stacks[:at], episode[:at]
    return BCData(pooled=pooled, labels=labels, sets=sets, stacks=stacks, episode=episode, paths=kept)


def _pool_one(path: Path, length: int, obs: ObsConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    pooler = EpisodePooler(length, obs.frameskip)
    for chunk in iter_frames(path, chunk=obs.frameskip * 16):  # ~8 MB of raw frames at a time
        pooler.add(chunk)
    try:
        pooled = pooler.finish()
    except ValueError as exc:
        raise DamagedEpisodeError(f"{path.name}: {exc}") from exc
    episode = load_episode(path, frames=False)
    return (pooled, *decision_targets(episode.labels, episode.label_sets, obs.frameskip))


def _tell(warn: Callable[[str], None] | None, message: str) -> None:
    if warn is not None:
        warn(message)


def split_episodes(n_episodes: int, val_fraction: float, rng: np.random.Generator) -> tuple[list[int], list[int]]:
    """(train, validation) episode indices: whole episodes, at least one of each when there are two or more."""
    order = rng.permutation(n_episodes).tolist()
    if n_episodes < 2 or val_fraction == 0:
        return sorted(order), []
    n_val = min(n_episodes - 1, max(1, round(val_fraction * n_episodes)))
    return sorted(order[n_val:]), sorted(order[:n_val])


def inherited_split(names: Sequence[str], start: dict, val_fraction: float, rng: np.random.Generator
                    ) -> tuple[list[int], list[int]]:
    """(train, validation) indices of the episodes `names`, keeping the split of the weights a run
    starts from (`start`, their checkpoint's meta): an episode they were trained on never
    validates, one they held out always does, and each episode new to them is held out with
    probability `val_fraction`.

    A fresh split over the grown set (DAgger's rounds add episodes every round) would put
    episodes the weights have learned into validation: its accuracy then climbs with every
    round while measuring memory, and "best" weights are chosen by it.
    """
    trained, held_out = set(start.get("train_episodes", ())), set(start.get("val_episodes", ()))
    new = [i for i, name in enumerate(names) if name not in trained and name not in held_out]
    draws = rng.random(len(new))
    val = {i for i, name in enumerate(names) if name in held_out} | {i for i, d in zip(new, draws) if d < val_fraction}
    return [i for i in range(len(names)) if i not in val], sorted(val)


# ---------------------------------------------------------------------------------------------
# Batches


class Batcher:
    """Gathers (obs uint8 (B, stack, 84, 84), labels int64 (B,), allowed bool (B, actions), soft) by index.

    `allowed[i, a]`: action a is as good as sample i's label (its label set; with
    `label_sets=False`, the label alone). `soft`: the data's target distributions (B, actions),
    or None when it has none. Ids of shape (members, B), one row per network of an ensemble,
    gather each member its own batch: obs (B, members, stack, 84, 84), labels (B, members),
    allowed (B, members, actions), soft (B, members, actions).

    With a `generator` (training batches) the batch is augmented: each stack shifted by up to
    `shift` pixels, and with `mirror` (the game's `mirror_actions`) each decision, with
    probability 1/2, flipped left to right with its targets mirrored alike (a label LEFT becomes
    RIGHT). The 160-pixel screen's mirror image pools to the mirror image of its observation
    (the area weights are symmetric), so a flipped stack is what the mirrored screen would give.
    """

    def __init__(self, data: BCData, device: torch.device, n_actions: int, *, shift: int = 0,
                 label_sets: bool = False, mirror: Sequence[int] | None = None) -> None:
        self.pooled = torch.from_numpy(data.pooled)  # shares memory: no copy
        self.stacks = torch.from_numpy(data.stacks)
        self.labels = torch.from_numpy(data.labels.astype(np.int64))
        sets = (data.sets if label_sets else single_label_sets(data.labels)).astype(np.int64)
        self.allowed = torch.from_numpy((sets[:, None] >> np.arange(n_actions)) & 1 == 1)
        self.soft = None if data.soft is None else torch.from_numpy(data.soft.astype(np.float32))
        self.device = device
        self.shift = shift
        self.mirror = None if mirror is None else torch.tensor(mirror, dtype=torch.int64)

    def batch(self, ids: np.ndarray, generator: torch.Generator | None = None) -> tuple[torch.Tensor, ...]:
        ids_t = torch.from_numpy(ids)
        if ids_t.ndim == 2:  # (members, B) -> batch first, as the policy's member_logits takes them
            ids_t = ids_t.T.contiguous()
        obs = self.pooled[self.stacks[ids_t]]
        labels, allowed = self.labels[ids_t], self.allowed[ids_t]
        soft = None if self.soft is None else self.soft[ids_t]
        if self.shift and generator is not None:
            obs = random_shift(obs.flatten(0, ids_t.ndim - 1), self.shift, generator).view(obs.shape)
        if self.mirror is not None and generator is not None:
            obs, labels, allowed, soft = mirror_half(obs, labels, allowed, soft, self.mirror, generator)
        return (*(t.to(self.device, non_blocking=True) for t in (obs, labels, allowed)),
                None if soft is None else soft.to(self.device, non_blocking=True))


def set_cross_entropy(logits: torch.Tensor, allowed: torch.Tensor, weights: torch.Tensor | None = None,
                      reduction: str = "mean") -> torch.Tensor:
    """-log p(allowed set): cross-entropy where any allowed action is right (one allowed: plain CE).

    `weights` (B,) weighs each sample ("mean" then divides by their sum, as `F.cross_entropy` does).
    """
    nll = torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~allowed, float("-inf")), 1)
    return _reduce(nll, weights, reduction)


def soft_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None = None,
                       reduction: str = "mean") -> torch.Tensor:
    """-sum_a q(a) log p(a): cross-entropy to target distributions `targets` (B, actions).

    `weights` and `reduction` as in `set_cross_entropy`; a one-hot target gives plain cross-entropy.
    """
    nll = -(targets * torch.log_softmax(logits, 1)).sum(1)
    return _reduce(nll, weights, reduction)


def _reduce(nll: torch.Tensor, weights: torch.Tensor | None, reduction: str) -> torch.Tensor:
    if weights is not None:
        nll = nll * weights
    if reduction == "sum":
        return nll.sum()
    return nll.sum() / (weights.sum() if weights is not None else len(nll))


def argmax_in_set(logits: torch.Tensor, allowed: torch.Tensor) -> torch.Tensor:
    """(B,) bool: the policy's most likely action is one of the allowed."""
    return allowed.gather(1, logits.argmax(1, keepdim=True)).squeeze(1)


def random_shift(obs: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each stack by up to `shift` pixels in x and y (edge pixels repeated), uint8 in and out."""
    b, c, h, w = obs.shape
    offsets = torch.randint(0, 2 * shift + 1, (b, 2), generator=generator)
    rows = (torch.arange(h)[None, :] + offsets[:, :1] - shift).clamp_(0, h - 1)  # (B, H)
    cols = (torch.arange(w)[None, :] + offsets[:, 1:] - shift).clamp_(0, w - 1)  # (B, W)
    return obs[
        torch.arange(b)[:, None, None, None],
        torch.arange(c)[None, :, None, None],
        rows[:, None, :, None],
        cols[:, None, None, :],
    ]


def mirror_half(obs: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor, soft: torch.Tensor | None,
                mirror: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, ...]:
    """Each decision of a batch (any leading shape L: obs (*L, stack, H, W), labels L, allowed and
    soft (*L, actions)), with probability 1/2, flipped left to right and its targets mirrored by
    `mirror` (action a's mirror image is mirror[a]; an involution)."""
    flip = torch.rand(labels.shape, generator=generator) < 0.5
    obs = torch.where(flip[..., None, None, None], obs.flip(-1), obs)
    labels = torch.where(flip, mirror[labels], labels)
    allowed = torch.where(flip[..., None], allowed[..., mirror], allowed)
    if soft is not None:
        soft = torch.where(flip[..., None], soft[..., mirror], soft)
    return obs, labels, allowed, soft


def class_weights(labels: np.ndarray, n_actions: int) -> torch.Tensor:
    """Inverse-frequency weights, mean 1 over the samples; actions never seen get weight 0."""
    counts = np.bincount(labels.astype(np.int64), minlength=n_actions).astype(np.float64)
    weights = np.where(counts > 0, counts.sum() / (n_actions * np.maximum(counts, 1)), 0.0)
    return torch.tensor(weights, dtype=torch.float32)


class WeightAverage:
    """A running average of a policy's weights over its last `horizon` gradient steps, about.

    After step t the average moves toward the weights by 1 / min(t, horizon): the plain mean of
    every step's weights while t <= horizon, an exponential moving average with decay
    1 - 1 / horizon after (Polyak averaging, as SWA and model EMAs do). At a constant learning
    rate the last weights are one draw from where the steps wander; their average sits nearer
    the middle of that region.
    """

    def __init__(self, policy: Policy, horizon: float) -> None:
        if not horizon >= 1:
            raise ValueError(f"an average needs a horizon of at least one step, got {horizon}")
        self.policy = copy.deepcopy(policy).eval()
        for param in self.policy.parameters():
            param.requires_grad_(False)
        self.horizon = horizon
        self.steps = 0

    @torch.no_grad()
    def update(self, policy: Policy) -> None:
        self.steps += 1
        weight = 1.0 / min(self.steps, self.horizon)
        for mine, theirs in zip(self.policy.parameters(), policy.parameters(), strict=True):
            mine.lerp_(theirs.detach(), weight)

    def state_dict(self) -> dict:
        return {"state_dict": {k: v.detach().cpu() for k, v in self.policy.state_dict().items()}, "steps": self.steps}

    def load_state_dict(self, state: dict) -> None:
        self.policy.load_state_dict(state["state_dict"])
        self.steps = int(state["steps"])


# ---------------------------------------------------------------------------------------------
# The trainer


def train_game(store: GameStore, game: Game, config: TrainConfig = TrainConfig(), *, out_dir: Path | None = None,
               **kwargs) -> TrainResult:
    """Train on every episode recorded for the game (demos and DAgger rounds), into `out_dir`
    (default store.models)."""
    paths = store.episode_paths()
    if not paths:
        raise NoDataError(
            f"no recordings for {game.name} under {store.path}/: record some with `mimic play --record --game {game.name}`"
        )
    return train(game, paths, store.models if out_dir is None else out_dir, config, **kwargs)


# What a resumed run may change: where it runs, and how long (its epochs, now the total).
RUNS_ON = ("device", "threads")
RESUME_MAY_CHANGE = ("epochs", *RUNS_ON)


def resumed_config(out_dir: Path, config: TrainConfig, given: Sequence[str]) -> TrainConfig:
    """`config` with the settings of the run saved in out_dir/last.pt in every field not in
    `given` (the ones the user set), so `--resume` alone continues the run as it was started, up to
    the epochs it was started for. Unchanged when there is no last.pt: `train` says so."""
    path = Path(out_dir) / LAST_NAME
    if not path.is_file():
        return config
    saved = read_checkpoint(path)["meta"].get("train", {})
    settable = {f.name for f in fields(TrainConfig)} - set(RUNS_ON)
    return replace(config, **{name: value for name, value in saved.items() if name in settable and name not in given})


def train(
    game: Game,
    episodes: Sequence[Path],
    out_dir: Path,
    config: TrainConfig = TrainConfig(),
    *,
    init_from: Path | None = None,
    split_from: Path | None = None,
    resume: bool = False,
    on_progress: Callable[[TrainProgress], None] | None = None,
    on_epoch: Callable[[EpochMetrics], None] | None = None,
    warn: Callable[[str], None] | None = None,
    on_load: Callable[[int, int], None] | None = None,
    data: BCData | None = None,
) -> TrainResult:
    """Behavioural cloning on `episodes`; writes out_dir/best.pt and out_dir/last.pt.

    `init_from` warm-starts from a checkpoint's weights (DAgger) and keeps their train/validation
    split; `split_from` keeps a checkpoint's split but starts from fresh weights (DAgger rounds
    retrained from scratch); `resume` continues the run saved in out_dir/last.pt up to
    `config.epochs`. `data` reuses a loaded data set (`load_data`); `on_load(done, total)` reports
    the episodes pooled, `on_progress` every batch, `on_epoch` every epoch, `warn` every damaged
    episode skipped.
    """
    with torch_threads(config.threads):
        trainer = _Trainer(game, list(episodes), Path(out_dir), config, init_from, split_from, resume, on_progress,
                           on_epoch, warn, on_load, data)
        return trainer.run()


class _Trainer:
    def __init__(self, game, episodes, out_dir, config, init_from, split_from, resume, on_progress, on_epoch, warn,
                 on_load, data):
        self.game, self.config, self.out_dir = game, config, out_dir
        self.on_progress, self.on_epoch, self.warn = on_progress, on_epoch, warn
        self.device = resolve_device(config.device)
        self.skipped: list[str] = []
        self._check_start(init_from, split_from, resume)
        mirror = self._mirror()  # refused before minutes of pooling, not after
        start_path = self.out_dir / LAST_NAME if resume else init_from  # the weights this run starts from
        start = None if start_path is None else read_checkpoint(start_path)
        split = start if split_from is None else read_checkpoint(split_from)  # the split this run keeps
        self.data = data if data is not None else load_data(episodes, game, config.obs, warn=self._skip, on_load=on_load)
        self._split(None if split is None else split["meta"])
        torch.manual_seed(config.seed)
        self.policy = Policy(PolicyConfig(n_actions=game.n_actions, stack=config.stack, ensemble=config.ensemble)
                             ).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
        self.batcher = Batcher(self.data, self.device, game.n_actions, shift=config.shift if config.augment else 0,
                               label_sets=config.label_sets, mirror=mirror)
        self.member_ids = self._member_samples()
        weights = class_weights(self.data.labels[self.train_ids], game.n_actions) if config.class_weights else None
        self.loss_weights = None if weights is None else weights.to(self.device)
        self.history: list[EpochMetrics] = []
        self.best_epoch, self.best_score, self.start_epoch = 0, math.inf, 0
        if init_from is not None:
            self._warm_start(start, init_from)
        self.average = None
        if resume:
            self._restore(start, start_path)
        if config.average:
            steps_per_epoch = math.ceil(len(self.train_ids) / config.batch_size)
            self.average = WeightAverage(self.policy, max(1.0, config.average * steps_per_epoch))
            if resume and "average" in start:
                self.average.load_state_dict(start["average"])

    # -- set-up steps

    def _skip(self, message: str) -> None:
        self.skipped.append(message)
        _tell(self.warn, message)

    def _mirror(self) -> tuple[int, ...] | None:
        """The action map mirrored decisions are relabelled by, when the config mirrors."""
        if not self.config.mirror:
            return None
        if self.game.mirror_actions is None:
            raise ValueError(f"{self.game.name}'s actions ({', '.join(self.game.action_names)}) have no mirror image "
                             "left to right for each; train without --mirror")
        return self.game.mirror_actions

    def _check_start(self, init_from: Path | None, split_from: Path | None, resume: bool) -> None:
        if resume and not (self.out_dir / LAST_NAME).is_file():
            raise CheckpointError(f"nothing to resume: no {LAST_NAME} in {self.out_dir}; train without --resume first")
        if resume and init_from is not None:
            raise ValueError("resume continues a run; init_from starts a new one: pass one of them")
        if split_from is not None and (resume or init_from is not None):
            raise ValueError("split_from is for fresh weights; a resumed or warm-started run keeps its weights' split")

    def _split(self, start: dict | None) -> None:
        """Whole episodes to training and validation; those of `start` (the starting weights' meta) kept."""
        data, config = self.data, self.config
        if not data.paths:
            raise NoDataError(
                f"no readable recordings for {self.game.name}: record some with `mimic play --record --game {self.game.name}`"
            )
        rng = np.random.default_rng(config.seed)
        if start is None:
            train_eps, val_eps = split_episodes(len(data.paths), config.val_fraction, rng)
        else:
            train_eps, val_eps = inherited_split([p.name for p in data.paths], start, config.val_fraction, rng)
        labelled_train, labelled_val = data.samples(train_eps), data.samples(val_eps)
        self.train_ids, self.val_ids = self._trainable(labelled_train), self._trainable(labelled_val)
        self.moot_samples = len(labelled_train) + len(labelled_val) - len(self.train_ids) - len(self.val_ids)
        self.train_paths = [data.paths[i] for i in train_eps]
        self.val_paths = [data.paths[i] for i in val_eps]
        if len(self.train_ids) == 0:
            moot_note = "" if config.keep_moot else " (decisions where every action is as good are left out; --keep-moot keeps them)"
            raise NoDataError(f"the recordings for {self.game.name} hold no labelled decisions to train on{moot_note}")

    def _trainable(self, ids: np.ndarray) -> np.ndarray:
        """The decisions of `ids` to learn from: all of them, or those that are not moot."""
        if self.config.keep_moot:
            return ids
        return ids[~moot(self.data.sets[ids], self.game.n_actions)]

    def _member_samples(self) -> np.ndarray | None:
        """(members, N) training decisions, a row per network, when each draws its own batches; None
        when they share them. The bootstrap is drawn from the seed alone: a resumed run draws the same one."""
        config = self.config
        if config.member_batches == "shared":  # (the config allows no other for one network)
            return None
        if config.member_batches == "shuffled":
            return np.tile(self.train_ids, (config.ensemble, 1))
        rng = np.random.default_rng([config.seed, 1 << 20])  # a stream of its own, apart from the epochs'
        return rng.choice(self.train_ids, size=(config.ensemble, len(self.train_ids)), replace=True)

    def _warm_start(self, payload: dict, path: Path) -> None:
        self._check_payload(payload, path)
        self.policy.load_state_dict(payload["state_dict"])

    def _check_payload(self, payload: dict, path: Path) -> None:
        check_compatible(payload, self.game, path)
        theirs = PolicyConfig(**payload["policy"]).ensemble
        if theirs != self.config.ensemble:
            raise CheckpointError(
                f"{Path(path).name} is {_networks(theirs)}, this run trains {_networks(self.config.ensemble)}; "
                f"pass --ensemble {theirs}"
            )
        if ObsConfig(**payload["obs"]) != self.config.obs:
            raise CheckpointError(
                f"{Path(path).name} uses observations {payload['obs']}, this run {self.config.obs.to_dict()}; "
                "pass the same --stack and --frameskip"
            )

    def _restore(self, payload: dict, path: Path) -> None:
        self._check_payload(payload, path)
        saved = payload["meta"].get("train", {})
        mine = asdict(self.config)
        changed = [name for name, value in saved.items() if name in mine and name not in RESUME_MAY_CHANGE
                   and mine[name] != value]
        if changed:  # a resumed run that trains otherwise is neither the run nor a new one
            theirs = ", ".join(f"{name} {saved[name]!r}" for name in changed)
            asked = ", ".join(f"{name} {mine[name]!r}" for name in changed)
            raise CheckpointError(f"{Path(path).name} was trained with {theirs}, this run asks for {asked}: resume "
                                  "with its settings (left out, they are taken from it) or train afresh into another folder")
        self.policy.load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        meta = payload["meta"]
        self.start_epoch = int(meta["epoch"])
        self.history = [EpochMetrics(**m) for m in meta["history"]]
        self.best_epoch, self.best_score = int(meta["best_epoch"]), float(meta["best_score"])

    # -- the loop

    def run(self) -> TrainResult:
        for epoch in range(self.start_epoch + 1, self.config.epochs + 1):
            metrics = self._run_epoch(epoch)
            self.history.append(metrics)
            self._save(epoch, metrics)
            if self.on_epoch is not None:
                self.on_epoch(metrics)
        if not self.history:
            raise ValueError(f"the run in {self.out_dir} already has {self.start_epoch} epochs; ask for more with --epochs")
        return TrainResult(
            best_checkpoint=self.out_dir / BEST_NAME,
            last_checkpoint=self.out_dir / LAST_NAME,
            history=list(self.history),
            best_epoch=self.best_epoch,
            train_episodes=self.train_paths,
            val_episodes=self.val_paths,
            train_samples=len(self.train_ids),
            val_samples=len(self.val_ids),
            skipped=self.skipped,
            moot_samples=self.moot_samples,
            avg_checkpoint=self.out_dir / AVG_NAME if self.average is not None else None,
        )

    def _run_epoch(self, epoch: int) -> EpochMetrics:
        config = self.config
        rng = np.random.default_rng([config.seed, epoch])
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        if self.member_ids is None:
            order = rng.permutation(self.train_ids)
        else:  # each member its own order of its own samples, (members, N)
            order = np.stack([rng.permutation(row) for row in self.member_ids])
        batches = math.ceil(order.shape[-1] / config.batch_size)
        self.policy.train()
        loss_sum, correct, seen = 0.0, 0.0, 0
        start = time.perf_counter()
        for b in range(batches):
            ids = order[..., b * config.batch_size : (b + 1) * config.batch_size]
            loss, right = self._train_step(*self.batcher.batch(ids, generator))
            n = ids.shape[-1]  # decisions in the batch (each member's, when they have their own)
            loss_sum += loss * n
            correct += right
            seen += n
            if self.on_progress is not None:
                elapsed = time.perf_counter() - start
                self.on_progress(
                    TrainProgress(epoch, config.epochs, b + 1, batches, loss_sum / seen, correct / seen, seen / max(elapsed, 1e-9))
                )
        seconds = time.perf_counter() - start
        val_ids = self.val_ids if len(self.val_ids) else self.train_ids
        val_loss, val_acc, recall = self._validate(self.policy, val_ids)
        has_val = len(self.val_ids) > 0
        avg_loss = avg_acc = None
        if self.average is not None and has_val:
            avg_loss, avg_acc, _ = self._validate(self.average.policy, self.val_ids)
        return EpochMetrics(
            epoch=epoch,
            train_loss=loss_sum / seen,
            train_accuracy=correct / seen,
            val_loss=val_loss if has_val else None,
            val_accuracy=val_acc if has_val else None,
            recall=recall,
            samples_per_s=seen / max(seconds, 1e-9),
            seconds=seconds,
            avg_val_loss=avg_loss,
            avg_val_accuracy=avg_acc,
        )

    def _train_step(self, obs: torch.Tensor, labels: torch.Tensor, allowed: torch.Tensor,
                    soft: torch.Tensor | None) -> tuple[float, float]:
        member_logits = self.policy.member_logits(obs)
        weights = None if self.loss_weights is None else self.loss_weights[labels]
        loss = members_loss(member_logits, allowed, soft, weights)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.average is not None:
            self.average.update(self.policy)
        members = member_logits.shape[1]  # reported: the members' mean loss, and their vote's accuracy
        logits = member_logits.detach()
        if allowed.ndim == 3:  # each member its own batch: no vote on one, so the members' mean accuracy
            right = argmax_in_set(logits.flatten(0, 1), allowed.flatten(0, 1))
            return float(loss.detach()) / members, float(right.sum()) / members
        return float(loss.detach()) / members, float(argmax_in_set(combine(logits), allowed).sum())

    @torch.inference_mode()
    def _validate(self, policy: Policy, ids: np.ndarray) -> tuple[float, float, dict[str, float | None]]:
        """`policy`'s unweighted loss, accuracy and per-action recall (by label; right when in the set) over `ids`."""
        policy.eval()
        n = self.game.n_actions
        hits, totals = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        loss_sum = 0.0
        for lo in range(0, len(ids), 256):
            obs, labels, allowed, soft = self.batcher.batch(ids[lo : lo + 256])
            logits = policy(obs)
            loss_sum += float(_loss(logits, allowed, soft, reduction="sum"))
            labels_np = labels.cpu().numpy()
            right = argmax_in_set(logits, allowed).cpu().numpy()
            totals += np.bincount(labels_np, minlength=n)
            hits += np.bincount(labels_np[right], minlength=n)
        recall = {name: (float(hits[i] / totals[i]) if totals[i] else None) for i, name in enumerate(self.game.action_names)}
        return loss_sum / len(ids), float(hits.sum() / len(ids)), recall

    def _save(self, epoch: int, metrics: EpochMetrics) -> None:
        score = metrics.val_loss if metrics.val_loss is not None else metrics.train_loss
        if score < self.best_score:
            self.best_epoch, self.best_score = epoch, score
            best = True
        else:
            best = False
        meta = {
            "epoch": epoch,
            "history": [asdict(m) for m in self.history],
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "train": asdict(self.config),
            "metrics": asdict(metrics),
            "train_episodes": [p.name for p in self.train_paths],
            "val_episodes": [p.name for p in self.val_paths],
        }
        obs = self.config.obs
        extra = {"optimizer": self.optimizer.state_dict()}
        if self.average is not None:
            extra["average"] = self.average.state_dict()
            averaged = {**meta, "averaged": {"epochs": self.config.average, "steps": self.average.steps}}
            save_checkpoint(self.out_dir / AVG_NAME, self.average.policy, self.game, obs, meta=averaged)
        save_checkpoint(self.out_dir / LAST_NAME, self.policy, self.game, obs, meta=meta, extra_state=extra)
        if best:
            save_checkpoint(self.out_dir / BEST_NAME, self.policy, self.game, obs, meta=meta)


def _loss(logits: torch.Tensor, allowed: torch.Tensor, soft: torch.Tensor | None,
          weights: torch.Tensor | None = None, reduction: str = "mean") -> torch.Tensor:
    if soft is not None:
        return soft_cross_entropy(logits, soft, weights, reduction)
    return set_cross_entropy(logits, allowed, weights, reduction)


def members_loss(member_logits: torch.Tensor, allowed: torch.Tensor, soft: torch.Tensor | None,
                 weights: torch.Tensor | None = None) -> torch.Tensor:
    """The sum of each member's own loss over (B, members, actions) logits. The members' weights
    are disjoint, so each member gets the gradient it would get trained alone on the batch.

    Targets of one batch for all, (B, actions) (weights (B,)), or each member's own, (B, members,
    actions) (weights (B, members)), as `Batcher.batch` gathers them.
    """
    own = allowed.ndim == 3

    def part(t: torch.Tensor | None, k: int) -> torch.Tensor | None:
        return t[:, k] if own and t is not None else t

    loss = _loss(member_logits[:, 0], part(allowed, 0), part(soft, 0), part(weights, 0))
    for k in range(1, member_logits.shape[1]):
        loss = loss + _loss(member_logits[:, k], part(allowed, k), part(soft, k), part(weights, k))
    return loss


def _networks(ensemble: int) -> str:
    return "one network" if ensemble == 1 else f"an ensemble of {ensemble} networks"


def describe(config: TrainConfig) -> str:
    """One line for reports: the settings that matter."""
    parts = [f"epochs {config.epochs}", f"batch {config.batch_size}", f"lr {config.lr:g}", f"stack {config.stack}",
             f"frameskip {config.frameskip}", f"seed {config.seed}"]
    if config.class_weights:
        parts.append("class-weighted")
    if config.label_sets:
        parts.append("label sets")
    if config.keep_moot:
        parts.append("moot decisions kept")
    if config.augment:
        parts.append(f"shift ±{config.shift}px")
    if config.mirror:
        parts.append("mirrored half the time")
    if config.ensemble > 1:
        parts.append(_networks(config.ensemble) + ("" if config.member_batches == "shared" else
                                                   f" ({config.member_batches} batches)"))
    if config.average:
        parts.append(f"weights averaged over ~{config.average:g} epoch{'' if config.average == 1 else 's'}")
    return ", ".join(parts)


__all__ = [
    "BCData", "EpochMetrics", "WeightAverage", "NoDataError", "TrainConfig", "TrainProgress", "TrainResult",
    "load_data", "train", "train_game", "describe",
]
