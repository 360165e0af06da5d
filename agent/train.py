"""Behavioural cloning: cross-entropy on recorded (observation, label) pairs, the recipe by default.

`train(game, episodes, out_dir, TrainConfig())` trains what `mimic train --game G` trains:

- one network, or an ensemble of `ENSEMBLE_NETWORKS` when the data holds at least
  `ENSEMBLE_MIN_LABELS` labelled decisions (`default_networks`; `TrainConfig.networks` says
  otherwise). The networks run side by side in one module (`agent.policy`), each from its own
  initial weights and on its own shuffled order of the training decisions, and act on their vote.
- Every training decision, half the time, seen mirrored left to right with LEFT and RIGHT swapped
  in its label, when the game table marks the game's screen symmetric (`Game.symmetric`). The
  160-pixel screen's mirror image pools to the mirror image of its observation (the area
  weights are symmetric), so a flipped stack is what the mirrored screen would give.
- The weights averaged over about the last `AVERAGE_EPOCHS` epochs
  (`torch.optim.swa_utils.AveragedModel`), saved as avg.pt beside best.pt (the lowest
  validation loss) and last.pt; avg.pt is what eval, watch and dagger load by default. The
  average only reads the weights: the training, and last.pt, are the same without it.

What it chose is reported once the data is loaded (`TrainPlan`, `describe`).

A decision whose label set holds every action is moot (`agent.obs.moot`): the planner's
look-ahead found whatever the player did as good, so its label is only the action held before,
which the screen does not show. Moot decisions are left out of training and validation. A
person's label stands alone, so a person's decisions are never moot.

The data set is one uint8 array of pooled 84x84 frames for all episodes (built by `agent.obs`
while the episode files stream in, a chunk of raw frames at a time) plus, per decision, its
label and the indices of its stack. A batch gathers its stacks by index; nothing is stored
as float or four times. Episodes are split into training and validation whole, so the
validation score measures play the policy has not seen; a run that starts from trained weights
(a DAgger round, a resumed run) keeps their split (`inherited_split`), or the weights would be
validated on episodes they were trained on.

    result = train(game, store.episode_paths(), store.models, TrainConfig(epochs=10))
    result.avg_checkpoint, result.final.val_accuracy
"""

from __future__ import annotations

import math
import os
import shutil
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rich import box
from rich.table import Table
from torch.optim.swa_utils import AveragedModel

from agent.obs import NO_LABEL, OBS_SIZE, EpisodePooler, ObsConfig, decision_targets, moot, stack_indices
from agent.policy import (
    CheckpointError,
    Policy,
    PolicyConfig,
    check_compatible,
    check_ensemble,
    read_checkpoint,
    resolve_device,
    save_checkpoint,
    torch_threads,
)
from recorder.games import Game
from recorder.store import (
    DamagedEpisodeError, GameStore, atomic_path, ensure_writable, folder_lock, iter_frames, load_episode, read_info,
)

BEST_NAME = "best.pt"
LAST_NAME = "last.pt"
AVG_NAME = "avg.pt"
PREVIOUS_NAME = "previous"  # models/previous/: the checkpoints of the training before the last
# The ensemble the recipe trains, and from how many labelled decisions in the data (moot ones
# counted) on: below it one network.
ENSEMBLE_NETWORKS = 3
ENSEMBLE_MIN_LABELS = 20_000
# Epochs the averaged weights (avg.pt) reach back, about.
AVERAGE_EPOCHS = 5


class NoDataError(ValueError):
    """Nothing to train on: no recordings, or no labelled decisions."""


@dataclass(frozen=True)
class TrainConfig:
    """How to train; the defaults are the recipe `mimic train` uses."""

    epochs: int = 20  # passes over the training decisions
    batch_size: int = 64  # decisions per gradient step
    lr: float = 2.5e-4  # Adam's learning rate
    obs: ObsConfig = ObsConfig()  # how frames become observations (kept in the checkpoint)
    val_fraction: float = 0.1  # share of episodes held out for validation
    networks: int | None = None  # networks side by side; None: chosen from the data (default_networks)
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
        if self.networks is not None:
            check_ensemble(self.networks)
        if isinstance(self.obs, Mapping):  # as a checkpoint's meta keeps it
            object.__setattr__(self, "obs", ObsConfig(**self.obs))
        if not isinstance(self.obs, ObsConfig):
            raise ValueError(f"obs must be an ObsConfig, got {self.obs!r}")

    @classmethod
    def from_meta(cls, saved: Mapping, obs: Mapping | None = None) -> TrainConfig:
        """The config a checkpoint's meta["train"] records. Keys of settings no longer kept are
        ignored; older checkpoints' `stack`, `frameskip` and `ensemble` are read. `obs` (the
        checkpoint's own observation settings), when given, wins over what the meta says."""
        names = {f.name for f in fields(cls)}
        values = {name: value for name, value in saved.items() if name in names}
        if "networks" not in values and "ensemble" in saved:
            values["networks"] = saved["ensemble"]
        if obs is None:
            obs = values.get("obs") or {name: saved[name] for name in ("stack", "frameskip") if name in saved}
        values["obs"] = obs if isinstance(obs, ObsConfig) else ObsConfig(**obs)
        return cls(**values)


def default_networks(labelled: int) -> int:
    """The networks the recipe trains on data holding `labelled` labelled decisions."""
    return ENSEMBLE_NETWORKS if labelled >= ENSEMBLE_MIN_LABELS else 1


@dataclass(frozen=True)
class TrainPlan:
    """What a training chose once its data was loaded: `config.networks` is the number trained."""

    game: str
    config: TrainConfig
    episodes: int
    labelled: int  # labelled decisions in the data, training and validation, moot ones included
    networks_why: str
    mirror: bool  # decisions also seen mirrored left to right: the game table marks the screen symmetric
    average_epochs: float = AVERAGE_EPOCHS


def describe(plan: TrainPlan) -> str:
    """One line: what a training chose (networks and why, mirroring, averaging) and its settings."""
    config = plan.config
    mirror = (f"each decision also seen mirrored left to right ({plan.game}'s screen is symmetric)" if plan.mirror else
              f"not mirrored ({plan.game}'s screen is not symmetric)")
    return (f"{_networks(config.networks)} ({plan.networks_why}); {mirror}; weights averaged over about the last "
            f"{plan.average_epochs:g} epochs (avg.pt); {config.epochs} epochs, batch {config.batch_size}, "
            f"lr {config.lr:g}, seed {config.seed}")


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
    avg_val_loss: float | None = None  # the averaged weights' (avg.pt), when there is validation
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
    avg_checkpoint: Path  # the averaged weights: the ones to go on with
    history: list[EpochMetrics]
    best_epoch: int
    train_episodes: list[Path]
    val_episodes: list[Path]
    train_samples: int
    val_samples: int
    plan: TrainPlan
    skipped: list[str] = field(default_factory=list)  # damaged episodes, one message each
    moot_samples: int = 0  # labelled decisions left out as moot (every action as good), training and validation

    @property
    def final(self) -> EpochMetrics:
        return self.history[-1]

    @property
    def best(self) -> EpochMetrics:
        return self.history[self.best_epoch - 1]

    @property
    def accuracy(self) -> float:
        """The kept (averaged) weights' last validation accuracy; the live weights' when there is
        no validation (then on training decisions)."""
        final = self.final
        for value in (final.avg_val_accuracy, final.val_accuracy, final.train_accuracy):
            if value is not None:
                return value
        raise AssertionError("an epoch always has a training accuracy")


# ---------------------------------------------------------------------------------------------
# The data set


@dataclass
class BCData:
    """Pooled frames of many episodes and, per decision, its label and stack indices."""

    pooled: np.ndarray  # (D, 84, 84) uint8, every decision of every episode
    labels: np.ndarray  # (D,) int16, NO_LABEL where not trained on
    sets: np.ndarray  # (D,) uint32 bitmask of the actions as good as the label (0 where unlabelled): finds moot ones
    stacks: np.ndarray  # (D, stack) int64 indices into `pooled`
    episode: np.ndarray  # (D,) int32: which of `paths` the decision belongs to
    paths: list[Path]

    def samples(self, episodes: Sequence[int] | None = None) -> np.ndarray:
        """Indices of the labelled decisions (of the given episodes)."""
        keep = self.labels != NO_LABEL
        if episodes is not None:
            keep &= np.isin(self.episode, np.asarray(list(episodes), dtype=np.int32))
        return np.flatnonzero(keep)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in (self.pooled, self.labels, self.sets, self.stacks, self.episode))


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
    """Gathers (obs uint8 (B, stack, 84, 84), labels int64 (B,)) by index.

    Ids of shape (networks, B), one row per network of an ensemble, gather each network its own
    batch: obs (B, networks, stack, 84, 84), labels (B, networks). With a `generator` (training
    batches) and a `mirror` map (`Game.mirror`), each decision is, with probability 1/2, flipped
    left to right and its label mirrored alike (LEFT becomes RIGHT).
    """

    def __init__(self, data: BCData, device: torch.device, *, mirror: Sequence[int] | None = None) -> None:
        self.pooled = torch.from_numpy(data.pooled)  # shares memory: no copy
        self.stacks = torch.from_numpy(data.stacks)
        self.labels = torch.from_numpy(data.labels.astype(np.int64))
        self.device = device
        self.mirror = None if mirror is None else torch.tensor(mirror, dtype=torch.int64)

    def batch(self, ids: np.ndarray, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        ids_t = torch.from_numpy(ids)
        if ids_t.ndim == 2:  # (networks, B) -> batch first, as the policy's member_logits takes them
            ids_t = ids_t.T.contiguous()
        obs, labels = self.pooled[self.stacks[ids_t]], self.labels[ids_t]
        if self.mirror is not None and generator is not None:
            obs, labels = mirror_half(obs, labels, self.mirror, generator)
        return obs.to(self.device, non_blocking=True), labels.to(self.device, non_blocking=True)


def mirror_half(obs: torch.Tensor, labels: torch.Tensor, mirror: torch.Tensor, generator: torch.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """Each decision of a batch (any leading shape L: obs (*L, stack, H, W), labels L), with
    probability 1/2, flipped left to right and its label mirrored by `mirror` (action a's mirror
    image is mirror[a]; an involution)."""
    flip = torch.rand(labels.shape, generator=generator) < 0.5
    obs = torch.where(flip[..., None, None, None], obs.flip(-1), obs)
    return obs, torch.where(flip, mirror[labels], labels)


def members_loss(member_logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The sum of each network's own mean cross-entropy over (B, networks, actions) logits, for
    labels of one batch for all (B,) or each network's own (B, networks). The networks' weights are
    disjoint, so each gets the gradient it would get trained alone on its batch."""
    if labels.ndim == 1:
        labels = labels[:, None].expand(-1, member_logits.shape[1])
    return F.cross_entropy(member_logits.transpose(1, 2), labels, reduction="sum") / len(labels)


def weight_average(policy: Policy, horizon: float) -> AveragedModel:
    """The running average of `policy`'s weights over about its last `horizon` steps
    (`update_parameters` after each): after step t it moves toward the weights by 1 / min(t, horizon),
    the plain mean of every step's weights while t <= horizon, an exponential moving average with
    decay 1 - 1 / horizon after."""
    if not horizon >= 1:
        raise ValueError(f"an average needs a horizon of at least one step, got {horizon}")

    def average(averaged: torch.Tensor, current: torch.Tensor, done: torch.Tensor) -> torch.Tensor:
        return averaged + (current - averaged) / torch.clamp(done + 1, max=horizon).to(averaged.dtype)

    return AveragedModel(policy, avg_fn=average)


# ---------------------------------------------------------------------------------------------
# The trainer


@dataclass(frozen=True)
class TrainHooks:
    """What a training tells its caller as it goes; every hook is optional."""

    on_load: Callable[[int, int], None] | None = None  # (episodes pooled, readable episodes), after each
    on_plan: Callable[[TrainPlan], None] | None = None  # what the training chose, once the data is loaded
    on_progress: Callable[[TrainProgress], None] | None = None  # every batch
    on_epoch: Callable[[EpochMetrics], None] | None = None  # every epoch
    warn: Callable[[str], None] | None = None  # every damaged episode skipped
    on_note: Callable[[str], None] | None = None  # a line worth saying before training (checkpoints kept)


def train_game(store: GameStore, game: Game, config: TrainConfig = TrainConfig(), *, out_dir: Path | None = None,
               resume: bool = False, hooks: TrainHooks = TrainHooks(), **kwargs) -> TrainResult:
    """`mimic train`: train on every episode recorded for the game (demos and DAgger rounds), into `out_dir`
    (default store.models), holding that folder (`folder_lock`: a second training into it is refused). A new
    run (not `resume`) first keeps the previous training's checkpoints in out_dir/previous/ (`keep_previous`;
    one generation) and says so through `hooks.on_note`. Stopped (Ctrl-C, SIGTERM, SIGHUP), it raises a
    KeyboardInterrupt saying what is kept and how to go on."""
    out_dir = store.models if out_dir is None else Path(out_dir)
    ensure_writable(out_dir)
    paths = store.episode_paths()
    if not paths:
        raise NoDataError(
            f"no recordings for {game.name} under {store.path}/: record some with `mimic play --record --game {game.name}`"
        )
    with folder_lock(out_dir, f"mimic train --game {game.name}"):
        kept = [] if resume else keep_previous(out_dir)
        if kept and hooks.on_note is not None:
            hooks.on_note(f"The previous training's checkpoints ({', '.join(p.name for p in kept)}) are kept in "
                          f"{kept[0].parent}/ until the next training; this one writes {out_dir}/.")
        started = time.time()
        try:
            return train(game, paths, out_dir, config, resume=resume, hooks=hooks, **kwargs)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: say what is kept and how to go on
            last = out_dir / LAST_NAME
            if last.is_file() and last.stat().st_mtime >= started:
                raise KeyboardInterrupt(f"the checkpoints of every finished epoch are kept in {out_dir}/; run "
                                        f"{store.command('train', '--resume')} to go on") from None
            raise KeyboardInterrupt(f"before the first epoch finished, nothing new in {out_dir}/; run the same "
                                    "command to start again") from None


def keep_previous(out_dir: Path) -> list[Path]:
    """Keep the checkpoints of the training in `out_dir` (its *.pt files; DAgger's round folders stay where they
    are) in out_dir/previous/, replacing the ones kept there before; returns the kept files. They are linked, not
    moved: out_dir keeps them too until the new training replaces them, so eval and watch find a policy meanwhile.
    """
    current = sorted(Path(out_dir).glob("*.pt"))
    if not current:
        return []
    previous = Path(out_dir) / PREVIOUS_NAME
    for old in previous.glob("*.pt"):
        if not (Path(out_dir) / old.name).is_file():
            old.unlink()
    kept = []
    for path in current:
        with atomic_path(previous / path.name) as tmp:
            try:
                os.link(path, tmp)
            except OSError:  # a file system without hard links
                shutil.copy2(path, tmp)
        kept.append(previous / path.name)
    return kept


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
    payload = read_checkpoint(path)
    saved = TrainConfig.from_meta(payload["meta"].get("train", {}), payload["obs"])
    settable = {f.name for f in fields(TrainConfig)} - set(RUNS_ON)
    return replace(config, **{name: getattr(saved, name) for name in settable if name not in given})


def train(
    game: Game,
    episodes: Sequence[Path],
    out_dir: Path,
    config: TrainConfig = TrainConfig(),
    *,
    init_from: Path | None = None,
    resume: bool = False,
    hooks: TrainHooks = TrainHooks(),
    data: BCData | None = None,
) -> TrainResult:
    """Behavioural cloning on `episodes`; writes out_dir/avg.pt, best.pt and last.pt.

    `init_from` warm-starts from a checkpoint's weights (DAgger) and keeps their networks and their
    train/validation split; `resume` continues the run saved in out_dir/last.pt up to
    `config.epochs`. `data` reuses a loaded data set (`load_data`); `hooks` hear how it goes.
    """
    with torch_threads(config.threads):
        trainer = _Trainer(game, list(episodes), Path(out_dir), config, init_from, resume, hooks, data)
        if hooks.on_plan is not None:
            hooks.on_plan(trainer.plan)
        return trainer.run()


class _Trainer:
    def __init__(self, game, episodes, out_dir, config, init_from, resume, hooks: TrainHooks, data):
        self.game, self.out_dir, self.config = game, out_dir, config
        self.on_progress, self.on_epoch, self.warn = hooks.on_progress, hooks.on_epoch, hooks.warn
        on_load = hooks.on_load
        self.device = resolve_device(config.device)
        self.skipped: list[str] = []
        self._check_start(init_from, resume)
        start_path = self.out_dir / LAST_NAME if resume else init_from  # the weights this run starts from
        start = None if start_path is None else read_checkpoint(start_path)
        if start is not None:
            self._check_payload(start, start_path, config)
        self.data = data if data is not None else load_data(episodes, game, config.obs, warn=self._skip, on_load=on_load)
        self._split(None if start is None else start["meta"])
        networks, why = self._networks(config, start, resume)
        self.settings = config  # as asked (networks None: chosen from the data), kept in the checkpoints' meta
        self.config = config = replace(config, networks=networks)
        self.plan = TrainPlan(game.name, config, episodes=len(self.data.paths), labelled=len(self.data.samples()),
                              networks_why=why, mirror=game.mirror is not None)
        torch.manual_seed(config.seed)
        self.policy = Policy(PolicyConfig(n_actions=game.n_actions, stack=config.obs.stack, ensemble=networks)
                             ).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy.parameters(), lr=config.lr)
        self.batcher = Batcher(self.data, self.device, mirror=game.mirror)
        self.history: list[EpochMetrics] = []
        self.best_epoch, self.best_score, self.start_epoch = 0, math.inf, 0
        if init_from is not None:
            self.policy.load_state_dict(start["state_dict"])
        if resume:
            self._restore(start, start_path)
        steps_per_epoch = math.ceil(len(self.train_ids) / config.batch_size)
        self.average = weight_average(self.policy, max(1.0, AVERAGE_EPOCHS * steps_per_epoch))
        if resume and "average" in start:
            self.average.load_state_dict(_average_state(start["average"]))

    # -- set-up steps

    def _skip(self, message: str) -> None:
        self.skipped.append(message)
        _tell(self.warn, message)

    def _check_start(self, init_from: Path | None, resume: bool) -> None:
        if resume and not (self.out_dir / LAST_NAME).is_file():
            raise CheckpointError(f"nothing to resume: no {LAST_NAME} in {self.out_dir}; train without --resume first")
        if resume and init_from is not None:
            raise ValueError("resume continues a run; init_from starts a new one: pass one of them")

    def _check_payload(self, payload: dict, path: Path, config: TrainConfig) -> None:
        check_compatible(payload, self.game, path)
        theirs = PolicyConfig(**payload["policy"]).ensemble
        if config.networks is not None and theirs != config.networks:
            raise CheckpointError(
                f"{Path(path).name} is {_networks(theirs)}, this run asks for {_networks(config.networks)}; "
                f"pass --networks {theirs} or leave it out"
            )
        if ObsConfig(**payload["obs"]) != config.obs:
            raise CheckpointError(
                f"{Path(path).name} uses observations {payload['obs']}, this run {config.obs.to_dict()}: "
                "train with the checkpoint's observation settings"
            )

    def _networks(self, config: TrainConfig, start: dict | None, resume: bool) -> tuple[int, str]:
        """The networks this run trains, and why: those of the weights it starts from, the number
        asked for, or the recipe's choice for the data."""
        if start is not None:
            return PolicyConfig(**start["policy"]).ensemble, "the run resumed" if resume else "as the weights it starts from"
        if config.networks is not None:
            return config.networks, "asked for"
        labelled = len(self.data.samples())
        networks = default_networks(labelled)
        compared = "at least" if networks > 1 else "under"
        return networks, f"{labelled:,} labelled decisions, {compared} {ENSEMBLE_MIN_LABELS:,}"

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
            raise NoDataError(f"the recordings for {self.game.name} hold no labelled decisions to train on "
                              "(decisions where every action is as good are left out)")

    def _trainable(self, ids: np.ndarray) -> np.ndarray:
        """The decisions of `ids` to learn from: those that are not moot."""
        return ids[~moot(self.data.sets[ids], self.game.n_actions)]

    def _restore(self, payload: dict, path: Path) -> None:
        saved = TrainConfig.from_meta(payload["meta"].get("train", {}), payload["obs"])
        theirs, mine = asdict(saved), asdict(self.settings)
        # (the networks are the saved policy's; _check_payload refused a number that differs)
        changed = [name for name in mine if name not in (*RESUME_MAY_CHANGE, "networks") and mine[name] != theirs[name]]
        if changed:  # a resumed run that trains otherwise is neither the run nor a new one
            said = ", ".join(f"{name} {theirs[name]!r}" for name in changed)
            asked = ", ".join(f"{name} {mine[name]!r}" for name in changed)
            raise CheckpointError(f"{Path(path).name} was trained with {said}, this run asks for {asked}: resume "
                                  "with its settings (left out, they are taken from it) or train afresh into another folder")
        self.policy.load_state_dict(payload["state_dict"])
        self.optimizer.load_state_dict(payload["optimizer"])
        meta = payload["meta"]
        self.start_epoch = int(meta["epoch"])
        known = {f.name for f in fields(EpochMetrics)}
        self.history = [EpochMetrics(**{k: v for k, v in m.items() if k in known}) for m in meta["history"]]
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
            avg_checkpoint=self.out_dir / AVG_NAME,
            history=list(self.history),
            best_epoch=self.best_epoch,
            train_episodes=self.train_paths,
            val_episodes=self.val_paths,
            train_samples=len(self.train_ids),
            val_samples=len(self.val_ids),
            plan=self.plan,
            skipped=self.skipped,
            moot_samples=self.moot_samples,
        )

    def _run_epoch(self, epoch: int) -> EpochMetrics:
        config = self.config
        rng = np.random.default_rng([config.seed, epoch])
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        if config.networks == 1:
            order = rng.permutation(self.train_ids)
        else:  # each network its own order of the training decisions, (networks, N)
            order = np.stack([rng.permutation(self.train_ids) for _ in range(config.networks)])
        batches = math.ceil(order.shape[-1] / config.batch_size)
        self.policy.train()
        loss_sum, correct, seen = 0.0, 0.0, 0
        start = time.perf_counter()
        for b in range(batches):
            ids = order[..., b * config.batch_size : (b + 1) * config.batch_size]
            loss, right = self._train_step(*self.batcher.batch(ids, generator))
            n = ids.shape[-1]  # decisions in the batch (each network's)
            loss_sum += loss * n
            correct += right
            seen += n
            if self.on_progress is not None:
                elapsed = time.perf_counter() - start
                self.on_progress(
                    TrainProgress(epoch, config.epochs, b + 1, batches, loss_sum / seen, correct / seen, seen / max(elapsed, 1e-9))
                )
        seconds = time.perf_counter() - start
        has_val = len(self.val_ids) > 0
        val_loss, val_acc, recall = self._validate(self.policy, self.val_ids if has_val else self.train_ids)
        avg_loss = avg_acc = None
        if has_val:
            avg_loss, avg_acc, _ = self._validate(self.average.module, self.val_ids)
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

    def _train_step(self, obs: torch.Tensor, labels: torch.Tensor) -> tuple[float, float]:
        """One gradient step: (the networks' mean loss, the number of right answers over the networks' mean)."""
        member_logits = self.policy.member_logits(obs)
        loss = members_loss(member_logits, labels)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.average.update_parameters(self.policy)
        networks = member_logits.shape[1]
        labels = labels if labels.ndim == 2 else labels[:, None]
        right = (member_logits.detach().argmax(-1) == labels).sum()
        return float(loss.detach()) / networks, float(right) / networks

    @torch.inference_mode()
    def _validate(self, policy: Policy, ids: np.ndarray) -> tuple[float, float, dict[str, float | None]]:
        """`policy`'s loss, accuracy and per-action recall (by label) over `ids`, acting on its networks' vote."""
        policy.eval()
        n = self.game.n_actions
        hits, totals = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        loss_sum = 0.0
        for lo in range(0, len(ids), 256):
            obs, labels = self.batcher.batch(ids[lo : lo + 256])
            logits = policy(obs)
            loss_sum += float(F.cross_entropy(logits, labels, reduction="sum"))
            labels_np = labels.cpu().numpy()
            right = (logits.argmax(1) == labels).cpu().numpy()
            totals += np.bincount(labels_np, minlength=n)
            hits += np.bincount(labels_np[right], minlength=n)
        recall = {name: (float(hits[i] / totals[i]) if totals[i] else None) for i, name in enumerate(self.game.action_names)}
        return loss_sum / len(ids), float(hits.sum() / len(ids)), recall

    def _save(self, epoch: int, metrics: EpochMetrics) -> None:
        score = metrics.val_loss if metrics.val_loss is not None else metrics.train_loss
        best = score < self.best_score
        if best:
            self.best_epoch, self.best_score = epoch, score
        meta = {
            "epoch": epoch,
            "history": [asdict(m) for m in self.history],
            "best_epoch": self.best_epoch,
            "best_score": self.best_score,
            "train": asdict(self.settings),
            "metrics": asdict(metrics),
            "train_episodes": [p.name for p in self.train_paths],
            "val_episodes": [p.name for p in self.val_paths],
        }
        obs = self.config.obs
        averaged = {**meta, "averaged": {"epochs": AVERAGE_EPOCHS, "steps": int(self.average.n_averaged)}}
        save_checkpoint(self.out_dir / AVG_NAME, self.average.module, self.game, obs, meta=averaged)
        extra = {"optimizer": self.optimizer.state_dict(), "average": self.average.state_dict()}
        save_checkpoint(self.out_dir / LAST_NAME, self.policy, self.game, obs, meta=meta, extra_state=extra)
        if best:
            save_checkpoint(self.out_dir / BEST_NAME, self.policy, self.game, obs, meta=meta)


def _average_state(state: dict) -> dict:
    """An AveragedModel's state dict from last.pt; older runs kept {"state_dict", "steps"}."""
    if "steps" not in state:
        return state
    return {**{f"module.{k}": v for k, v in state["state_dict"].items()}, "n_averaged": torch.tensor(state["steps"])}


def _networks(networks: int) -> str:
    return "one network" if networks == 1 else f"an ensemble of {networks} networks"


# ---------------------------------------------------------------------------------------------
# Reports


def epochs_table(result: TrainResult) -> Table:
    """Loss and accuracy per epoch, the live weights' and the averaged ones' (avg.pt) on validation."""
    table = Table(title="epochs (* best)", title_justify="left", box=box.SIMPLE_HEAD,
                  caption="avg: avg.pt, the weights averaged over the last epochs, on validation"
                  + ("; train loss and accuracy: the networks' mean, val: their vote's"
                     if result.plan.config.networks > 1 else ""),
                  caption_justify="left")
    for column in ("epoch", "train loss", "train acc", "val loss", "val acc", "avg loss", "avg acc"):
        table.add_column(column, justify="right", no_wrap=True)
    cell = lambda value, form: "-" if value is None else format(value, form)  # noqa: E731
    for m in result.history:
        mark = " *" if m.epoch == result.best_epoch else ""
        table.add_row(f"{m.epoch}{mark}", f"{m.train_loss:.3f}", f"{m.train_accuracy:.1%}", cell(m.val_loss, ".3f"),
                      cell(m.val_accuracy, ".1%"), cell(m.avg_val_loss, ".3f"), cell(m.avg_val_accuracy, ".1%"))
    return table


def recall_table(result: TrainResult, action_names: Sequence[str]) -> Table:
    """Per action, the share of its labels the best epoch's weights chose, with a bar."""
    best = result.best
    where = "validation" if best.val_loss is not None else "training"
    table = Table(title=f"recall per action, epoch {best.epoch} ({where} decisions)", title_justify="left",
                  show_header=False, box=None)
    for name in action_names:
        value = best.recall.get(name)
        bar = "" if value is None else "[cyan]" + "█" * round(value * 30) + "[/]"
        table.add_row(name, "no samples" if value is None else f"{value:6.1%}", bar)
    return table


def train_summary(result: TrainResult, action_names: Sequence[str]):
    """What a finished training prints: the epochs, the recall per action, the data and the checkpoints."""
    from rich.console import Group
    from rich.text import Text

    moot = f"; {result.moot_samples:,} moot ones left out (every action as good)" if result.moot_samples else ""
    rate = sum(m.samples_per_s for m in result.history) / len(result.history)
    return Group(
        epochs_table(result),
        recall_table(result, action_names),
        Text(f"{result.train_samples:,} training decisions from {len(result.train_episodes)} episodes, "
             f"{result.val_samples:,} validation decisions from {len(result.val_episodes)}{moot}; "
             f"{rate:,.0f} decisions a second of training."),
        Text(f"averaged (used by default): {result.avg_checkpoint}; best: {result.best_checkpoint} "
             f"(epoch {result.best.epoch}); last: {result.last_checkpoint}"),
    )


@contextmanager
def train_progress(console, game: str, warn: Callable[[str], None] | None = None) -> Iterator[TrainHooks]:
    """Training's progress on a Rich `console`: what the plan chose, a line per epoch and, on a
    terminal, a bar over each epoch's batches. Yields `train`'s hooks (damaged episodes go to `warn`)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.3f}  acc {task.fields[acc]:.1%}  {task.fields[rate]:,.0f} samples/s"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=True, disable=not console.is_terminal) as progress:
        loading = progress.add_task("pooling", total=None, epoch="pooling episodes:", loss=0.0, acc=0.0, rate=0.0)
        task = progress.add_task("train", total=None, epoch="-", loss=0.0, acc=0.0, rate=0.0, visible=False)

        def on_plan(plan: TrainPlan) -> None:
            progress.update(loading, visible=False)
            progress.update(task, visible=True)
            episodes = f"{plan.episodes} episode{'s' * (plan.episodes != 1)}"
            console.print(f"[bold]Training[/] {game} on {episodes}: {describe(plan)}", highlight=False, soft_wrap=True)

        def on_epoch(m: EpochMetrics) -> None:
            val = (f"val loss {m.val_loss:.3f} acc {m.val_accuracy:.1%}" if m.val_loss is not None
                   else "no validation episodes")
            if m.avg_val_loss is not None:
                val += f" (averaged weights: loss {m.avg_val_loss:.3f} acc {m.avg_val_accuracy:.1%})"
            console.print(f"epoch {m.epoch}: train loss {m.train_loss:.3f} acc {m.train_accuracy:.1%}, {val}",
                          highlight=False, soft_wrap=True)

        def on_load(done: int, total: int) -> None:
            progress.update(loading, total=total, completed=done)

        def on_progress(p: TrainProgress) -> None:
            progress.update(task, total=p.batches, completed=p.batch, epoch=f"{p.epoch}/{p.epochs}", loss=p.loss,
                            acc=p.accuracy, rate=p.samples_per_s)

        def on_note(text: str) -> None:
            console.print(text, highlight=False, soft_wrap=True)

        yield TrainHooks(on_load=on_load, on_plan=on_plan, on_progress=on_progress, on_epoch=on_epoch, warn=warn,
                         on_note=on_note)


__all__ = [
    "AVERAGE_EPOCHS", "BCData", "ENSEMBLE_MIN_LABELS", "ENSEMBLE_NETWORKS", "EpochMetrics", "NoDataError",
    "TrainConfig", "TrainHooks", "TrainPlan", "TrainProgress", "TrainResult", "default_networks", "describe", "epochs_table",
    "keep_previous", "load_data", "recall_table", "resumed_config", "train", "train_game", "train_progress",
    "train_summary",
    "weight_average",
]
