"""The episode store: one lossless, replayable file per episode.

An episode of T steps holds every emulator frame (frameskip 1, sticky actions off):

    frames[0..T]     uint8 RGB; frames[t] is the screen the player saw before action t,
                     frames[T] the screen after the last action
    actions[0..T-1]  index into the game's minimal action set: the action held (executed)
    labels[0..T-1]   the action the policy should learn; equal to `actions` for human play,
                     the expert's choice for DAgger data, -1 where nobody labelled the step
    label_sets[0..T-1]  uint32 bitmask over the action set: the actions as good as the label
                     (bit a set: action a); the label's own bit for a person, every action the
                     planning expert found equally good for its labels, 0 where unlabelled.
                     Files written before this field existed read as the label's own bit.
    rewards, terminated, truncated, speeds [0..T-1]; lives[0..T]
    states           serialized ALE states (`ALEState.serialize`) taken before the actions
                     listed in `state_steps`, at least every `STATE_EVERY` frames

On disk it is an `.npz` (np.load opens it). Frames are XOR-ed with the frame before and the
result deflated as one stream: consecutive Atari frames differ in a few pixels, so this is
much smaller than deflating the frames themselves (BENCHMARKS.md has the bytes). Files are written
to a hidden temporary name, synced and renamed, so a kill never leaves a half-written episode
under an episode's name; a file damaged anyway is reported by name and skipped.

The episode in progress is journalled beside where its file will go (`EpisodeJournal`, a hidden
`.ID.journal/` folder of chunk files, one at least every second of play); when the process that
writes it is gone (killed, its window lost), `recover_journals` turns the journal into the
episode file `ID.npz`, marked "interrupted".
"""

from __future__ import annotations

import datetime as dt
import errno
import fcntl
import json
import os
import re
import secrets
import shutil
import signal
import threading
import zipfile
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table

FORMAT_VERSION = 1
EPISODE_SUFFIX = ".npz"
STATE_EVERY = 600  # frames between stored ALE states (10 s of play)
NO_LABEL = -1  # the label of a step nobody labelled
AGENT_PLAYER = "agent"  # the player name of episodes the agent played
EXPERT_PLAYER = "expert"  # ... and of those the planning expert played
STEP_MODE = 0.0  # the speed stored for frames played in step mode
DATA_ENV = "MIMIC_DATA"
JOURNAL_SUFFIX = ".journal"  # the hidden folder `.ID.journal/` of an episode in progress
JOURNAL_EVERY = 60  # steps between the journal's chunks at most (1 s of play; a chunk also after 1 s of time)
INTERRUPTED = "interrupted"  # `EpisodeInfo.ended` of an episode recovered from its journal


class DamagedEpisodeError(Exception):
    """An episode file that cannot be read; the message starts with the file's name."""


class StoreError(Exception):
    """A file or folder under the data root that cannot be written (read-only, a full disk, a file where a folder
    belongs, another run writing it); the message is one line: which, why, and what to do."""


@dataclass(frozen=True)
class EpisodeInfo:
    """What an episode is, without its frames: the file's metadata."""

    game: str
    rom: str
    ale_version: str
    seed: int
    player: str
    source: str  # "human", "expert" or "dagger"
    started: str  # ISO 8601, UTC
    length: int  # steps (= emulator frames played)
    score: float
    ended: str  # "game_over", "frame_cap", "quit", "interrupted" (recovered after a kill), or a DAgger mode's own
    speed: float  # the speed most of the episode was played at (1.0 real time, 0.0 step mode)
    action_names: tuple[str, ...]
    frame_shape: tuple[int, int, int]
    frameskip: int = 1
    sticky: float = 0.0
    extra: dict = field(default_factory=dict)
    format: int = FORMAT_VERSION

    @property
    def truncated(self) -> bool:
        """True when the episode stopped before the game was over."""
        return self.ended != "game_over"

    @property
    def duration_s(self) -> float:
        return self.length / 60.0

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> EpisodeInfo:
        raw = json.loads(text)
        raw["action_names"] = tuple(raw["action_names"])
        raw["frame_shape"] = tuple(raw["frame_shape"])
        return cls(**raw)


@dataclass
class Episode:
    info: EpisodeInfo
    frames: np.ndarray
    actions: np.ndarray
    labels: np.ndarray
    label_sets: np.ndarray
    rewards: np.ndarray
    lives: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    speeds: np.ndarray
    state_steps: np.ndarray
    states: list[bytes]

    def __len__(self) -> int:
        return len(self.actions)


def single_label_sets(labels) -> np.ndarray:
    """The label set of labels that stand alone: the label's own bit, 0 where unlabelled (-1)."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.where(labels >= 0, np.left_shift(1, np.maximum(labels, 0)), 0).astype(np.uint32)


# ---------------------------------------------------------------------------------------------
# Frame codec


class FrameEncoder:
    """Streams frames into one deflate stream of XOR deltas; keeps only compressed bytes."""

    def __init__(self, level: int = 6) -> None:
        self._compressor = zlib.compressobj(level)
        self._previous: np.ndarray | None = None
        self._chunks: list[bytes] = []
        self._handed = 0  # chunks handed out by `flush_part`
        self.count = 0
        self.shape: tuple[int, ...] | None = None

    def add(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if self._previous is None:
            self.shape = frame.shape
            delta = frame
        else:
            if frame.shape != self.shape:
                raise ValueError(f"frame shape {frame.shape} differs from the first frame's {self.shape}")
            delta = np.bitwise_xor(frame, self._previous)
        self._chunks.append(self._compressor.compress(delta.data))
        self._previous = frame.copy()
        self.count += 1

    def finish(self) -> bytes:
        self._chunks.append(self._compressor.flush())
        return b"".join(self._chunks)

    def flush_part(self) -> tuple[bytes, bytes]:
        """(the stream's bytes since the last call, flushed so that every frame added so far decodes from
        them; the bytes that would end the stream here). The parts so far followed by the last call's ending
        are a whole stream, the one `finish` would return after the frames added so far."""
        self._chunks.append(self._compressor.flush(zlib.Z_SYNC_FLUSH))
        part = b"".join(self._chunks[self._handed:])
        self._handed = len(self._chunks)
        return part, self._compressor.copy().flush()


def decode_frames(blob: bytes, count: int, shape: tuple[int, ...]) -> np.ndarray:
    """All `count` frames of a deflated XOR-delta stream, as one (count, *shape) uint8 array."""
    if count == 0:
        return np.empty((0, *shape), dtype=np.uint8)
    (frames,) = decode_chunks(blob, count, shape, chunk=count)
    return frames


def decode_chunks(blob: bytes, count: int, shape: tuple[int, ...], chunk: int) -> Iterator[np.ndarray]:
    """The frames of a deflated XOR-delta stream in order, `chunk` at a time (the last may be shorter).

    Raises ValueError when the stream holds fewer or more than `count` frames.
    """
    frame_bytes = int(np.prod(shape))
    inflater = zlib.decompressobj()
    pending, previous, done = blob, None, 0
    while done < count:
        n = min(chunk, count - done)
        raw = inflater.decompress(pending, n * frame_bytes)
        pending = inflater.unconsumed_tail
        if len(raw) < n * frame_bytes:
            raise ValueError(f"frame data ends after {done + len(raw) // frame_bytes} of {count} frames")
        deltas = np.frombuffer(raw, dtype=np.uint8).reshape((n, *shape))
        frames = np.empty_like(deltas)
        if previous is None:
            frames[0] = deltas[0]
        else:
            np.bitwise_xor(deltas[0], previous, out=frames[0])
        for t in range(1, n):  # undo the XOR deltas, frame by frame
            np.bitwise_xor(deltas[t], frames[t - 1], out=frames[t])
        previous, done = frames[-1], done + n
        yield frames
    if inflater.decompress(pending) + inflater.flush():
        raise ValueError(f"frame data holds more than the {count} frames the metadata says")


# ---------------------------------------------------------------------------------------------
# Writing


def new_episode_id(player: str, started: dt.datetime) -> str:
    """Start second, player, and 32 random bits: parallel recorders (the expert's workers, DAgger
    rounds) start episodes in the same second, and an id must not repeat across a game's folders
    (`mimic data` finds an episode by id). 16 bits did repeat, once, in a test run."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in player) or "anon"
    return f"{started:%Y%m%d-%H%M%S}-{safe}-{secrets.token_hex(4)}"


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)  # Ctrl-C, kill, the terminal closed: each stops mimic


@contextmanager
def stops_deferred() -> Iterator[None]:
    """Ctrl-C, SIGTERM and SIGHUP wait until the block ends, then act as they would have (in the main thread;
    elsewhere, where Python runs no signal handler, the block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    handled = [s for s in STOP_SIGNALS if callable(signal.getsignal(s))]  # those ignored stay ignored
    before = {s: signal.signal(s, lambda signum, _: came.append(signum)) for s in handled}
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        if came:
            signal.raise_signal(came[0])


@contextmanager
def atomic_path(path: Path, *, keep_suffix: bool = False) -> Iterator[Path]:
    """A hidden temporary path beside `path`, renamed over it when the block ends normally.

    The one way files are written here: a crash or a kill at any moment leaves the old file (or
    none) or the new one under `path`, never a half-written one. The temporary name is unique
    to the writer (it carries the writer's pid: `remove_stale_temporaries` knows a dead writer's),
    ends in ".tmp" (after it `path`'s suffix with `keep_suffix`: a video writer picks its format by
    it), and is removed when the block fails. A failure to write (a read-only or full disk, no
    permission, a file where a folder belongs) is a `StoreError` naming `path`; the file that was
    under `path` before stays as it was.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise store_error(path.parent, exc) from exc
    unique = f"{os.getpid()}-{secrets.token_hex(3)}"
    name = f".{path.stem}.{unique}.tmp{path.suffix}" if keep_suffix else f".{path.name}.{unique}.tmp"
    tmp = path.with_name(name)
    try:
        yield tmp
        os.replace(tmp, path)
    except (OSError, RuntimeError) as exc:  # torch and the video writer wrap the OSError in their own
        reason = _store_reason(exc, path.parent)
        if reason is None and not isinstance(exc, OSError):
            raise
        raise store_error(path, exc, reason) from exc
    finally:
        with suppress(OSError):  # a second error here would hide the first
            tmp.unlink(missing_ok=True)


def atomic_write(path: Path, write: Callable[[BinaryIO], None]) -> Path:
    """Write a file so that it is whole or absent (`atomic_path`), synced to disk before the rename; a stop
    (Ctrl-C, SIGTERM, SIGHUP) that comes while it writes takes effect once the file is in place."""
    with stops_deferred(), atomic_path(path) as tmp, open(tmp, "wb") as handle:
        write(handle)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


# Why a write failed, in words, and what to do about it, by errno.
_REASONS = {
    errno.ENOSPC: ("the disk is full", "free some space, or write elsewhere ({elsewhere})"),
    errno.EDQUOT: ("the disk quota is used up", "free some space, or write elsewhere ({elsewhere})"),
    errno.EROFS: ("the file system is read-only", "write elsewhere ({elsewhere})"),
    errno.EACCES: ("permission denied", "write elsewhere ({elsewhere}) or fix the folder's permissions"),
    errno.EPERM: ("permission denied", "write elsewhere ({elsewhere}) or fix the folder's permissions"),
    errno.ENOTDIR: ("a file stands where a folder belongs", "move that file away, or write elsewhere ({elsewhere})"),
    errno.EEXIST: ("a file stands where a folder belongs", "move that file away, or write elsewhere ({elsewhere})"),
    errno.EISDIR: ("a folder stands where the file belongs", "name a file"),
}


def _store_reason(exc: BaseException, folder: Path) -> tuple[str, str] | None:
    """(why, what to do) of a failed write: the errno of the OSError `exc` is or wraps (torch raises a
    RuntimeError over it); else "the disk is full" when `folder`'s disk has (almost) no space left."""
    seen: BaseException | None = exc
    for _ in range(8):  # the exception, what it was raised from or during, and so on
        if isinstance(seen, OSError) and seen.errno in _REASONS:
            return _REASONS[seen.errno]
        if seen is None:
            break
        seen = seen.__cause__ or seen.__context__
    try:
        disk = os.statvfs(folder)
    except OSError:
        return None
    return _REASONS[errno.ENOSPC] if disk.f_bavail * disk.f_frsize < 1 << 20 else None


def store_error(path: Path, exc: BaseException, reason: tuple[str, str] | None = None, *,
                elsewhere: str = "another --data") -> StoreError:
    """The one-line `StoreError` of a failed write to `path`: which path, why, what to do (`elsewhere`
    says how to write somewhere else)."""
    why, fix = reason or _store_reason(exc, Path(path).parent) or (_oserror_words(exc), "write elsewhere ({elsewhere})")
    return StoreError(f"cannot write {path}: {why}; {fix.format(elsewhere=elsewhere)}")


def _oserror_words(exc: BaseException) -> str:
    """An OSError's reason in words ("input/output error"), another exception's type and first line."""
    return exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else error_words(exc)


PROBE_NAME = ".mimic-probe"


def ensure_writable(folder: Path, *, elsewhere: str = "another --data") -> None:
    """Create `folder` if needed and prove it can be written (a probe file through `atomic_write`, then
    removed); a `StoreError` of one line otherwise: the folder, why (read-only, no permission, a file where
    a folder belongs, a full disk) and what to do (`elsewhere`: how to write somewhere else). Commands call
    it before they play or compute anything."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = atomic_write(folder / PROBE_NAME, lambda handle: handle.write(b"mimic"))
    except (OSError, StoreError) as exc:
        file = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), None)
        if file is not None:
            raise StoreError(f"cannot write {folder}: {file} is a file, not a folder; move it away, or write "
                             f"elsewhere ({elsewhere})") from exc
        cause = exc.__cause__ if isinstance(exc, StoreError) else exc
        raise store_error(folder, cause or exc, elsewhere=elsewhere) from exc
    with suppress(OSError):
        probe.unlink()


LOCK_NAME = ".mimic-lock"


@contextmanager
def folder_lock(folder: Path, what: str) -> Iterator[None]:
    """Hold `folder` for this process while the block runs: a second mimic asking for it gets a one-line
    `StoreError` naming the folder and the holder (pid, `what` it runs) instead of racing this one.

    The lock is the kernel's (flock on a hidden file in the folder, which stays): it goes with the
    process however the process ends, so no stale lock ever blocks a later run. The file holds the
    holder's pid and `what`, for the message; it is the one file not written through `atomic_write`
    (a lock must stay on one file).
    """
    folder = Path(folder)
    ensure_writable(folder)
    path = folder / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip() or "pid unknown"
            pid, _, command = holder.partition(" ")
            raise StoreError(f"{folder} is being written by another mimic (pid {pid}: {command or 'unknown'}); "
                             "wait for it to finish, or pass another --data") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {what}\n".encode())
        yield
    finally:
        os.close(fd)


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Remove the temporary files (`atomic_path`'s) under `folder` whose writer is gone (a kill -9 leaves
    them); those of a running writer stay. Returns the files removed."""
    removed = []
    for tmp in Path(folder).rglob(".*.tmp*") if Path(folder).is_dir() else ():
        pid = _writer_pid(tmp.name)
        if pid is None or pid == os.getpid() or _alive(pid):
            continue
        with suppress(OSError):
            shutil.rmtree(tmp) if tmp.is_dir() else tmp.unlink()  # a journal's folder is made under such a name
            removed.append(tmp)
    return removed


# atomic_path's temporary names: ".NAME.PID-HEX.tmp" or, keeping the suffix, ".STEM.PID-HEX.tmp.SUFFIX".
_TEMPORARY = re.compile(r"\..+\.(\d+)-[0-9a-f]{6}\.tmp(\.[^.]+)?")


def _writer_pid(name: str) -> int | None:
    """The writer's pid in one of `atomic_path`'s temporary names, None if `name` is not one."""
    match = _TEMPORARY.fullmatch(name)
    return int(match.group(1)) if match else None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def write_episode_file(path: Path, arrays: dict[str, np.ndarray]) -> Path:
    """Write an episode's npz atomically (see `atomic_write`)."""
    return atomic_write(path, lambda handle: np.savez_compressed(handle, **arrays))


def pack_arrays(info: EpisodeInfo, frame_blob: bytes, ep) -> dict[str, np.ndarray]:
    """The arrays of an episode file; `ep` has the per-step lists or arrays of an Episode."""
    offsets = np.cumsum([0] + [len(s) for s in ep.states]).astype(np.int64)
    return {
        "meta": np.frombuffer(info.to_json().encode(), dtype=np.uint8),
        "frames": np.frombuffer(frame_blob, dtype=np.uint8),
        "actions": np.asarray(ep.actions, dtype=np.uint8),
        "labels": np.asarray(ep.labels, dtype=np.int16),
        "label_sets": np.asarray(ep.label_sets, dtype=np.uint32),
        "rewards": np.asarray(ep.rewards, dtype=np.int32),
        "lives": np.asarray(ep.lives, dtype=np.int16),
        "terminated": np.asarray(ep.terminated, dtype=bool),
        "truncated": np.asarray(ep.truncated, dtype=bool),
        "speeds": np.asarray(ep.speeds, dtype=np.float32),
        "state_steps": np.asarray(ep.state_steps, dtype=np.int64),
        "states": np.frombuffer(b"".join(ep.states), dtype=np.uint8),
        "state_offsets": offsets,
    }


# ---------------------------------------------------------------------------------------------
# Reading


def _open(path: Path):
    if not zipfile.is_zipfile(path):
        raise DamagedEpisodeError("not an episode file (not an npz archive)")
    return np.load(path, allow_pickle=False)


def read_info(path: Path) -> EpisodeInfo:
    """The metadata of an episode file, without decoding its frames."""
    try:
        with _open(path) as data:
            return _info(data)
    except DamagedEpisodeError as exc:
        raise DamagedEpisodeError(f"{path.name}: {exc}") from exc
    except Exception as exc:  # zip, npy and JSON errors alike mean the file is damaged
        raise DamagedEpisodeError(f"{path.name}: cannot read episode metadata ({error_words(exc)})") from exc



def episode_words(path: Path) -> str:
    """An episode file in a few words: its name, player, length and score; "(damaged)" when unreadable."""
    try:
        info = read_info(path)
    except DamagedEpisodeError:
        return f"{path.name} (damaged)"
    return f"{path.name} ({info.player}, {info.length:,} frames, score {info.score:,.0f})"

def _info(data) -> EpisodeInfo:
    info = EpisodeInfo.from_json(bytes(data["meta"]).decode())
    if info.format > FORMAT_VERSION:
        raise DamagedEpisodeError(f"format {info.format} is newer than this mimic reads ({FORMAT_VERSION})")
    return info


def load_episode(path: Path, *, frames: bool = True) -> Episode:
    """Load an episode; `frames=False` skips decoding the frames (an empty array stands in)."""
    path = Path(path)
    try:
        with _open(path) as data:
            info = _info(data)
            arrays = {name: data[name] for name in data.files}
        length = info.length
        offsets = arrays["state_offsets"]
        blob = arrays["states"].tobytes()
        states = [blob[offsets[i] : offsets[i + 1]] for i in range(len(offsets) - 1)]
        decoded = (
            decode_frames(arrays["frames"].tobytes(), length + 1, info.frame_shape)
            if frames
            else np.empty((0, *info.frame_shape), dtype=np.uint8)
        )
        episode = Episode(
            info=info,
            frames=decoded,
            actions=arrays["actions"],
            labels=arrays["labels"],
            label_sets=arrays["label_sets"] if "label_sets" in arrays else single_label_sets(arrays["labels"]),
            rewards=arrays["rewards"],
            lives=arrays["lives"],
            terminated=arrays["terminated"],
            truncated=arrays["truncated"],
            speeds=arrays["speeds"],
            state_steps=arrays["state_steps"],
            states=states,
        )
        for name in ("actions", "labels", "label_sets", "rewards", "terminated", "truncated", "speeds"):
            if len(getattr(episode, name)) != length:
                raise ValueError(f"{name} holds {len(getattr(episode, name))} steps, metadata says {length}")
        if len(episode.lives) != length + 1:
            raise ValueError(f"lives holds {len(episode.lives)} entries, expected {length + 1}")
        return episode
    except DamagedEpisodeError as exc:
        raise DamagedEpisodeError(f"{path.name}: {exc}") from exc
    except Exception as exc:
        raise DamagedEpisodeError(f"{path.name}: damaged episode file ({error_words(exc)})") from exc


def error_words(exc: BaseException) -> str:
    """An exception in a few words: its type and the first line of its message."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__


# ---------------------------------------------------------------------------------------------
# The store: the data root, one folder per game


def data_root(option: Path | None = None) -> Path:
    """`--data`, else $MIMIC_DATA, else ./data."""
    if option is not None:
        return Path(option)
    return Path(os.environ.get(DATA_ENV) or "data")


@dataclass(frozen=True)
class GameStore:
    """The folders of one game under the data root."""

    root: Path
    game: str

    @property
    def path(self) -> Path:
        return self.root / self.game

    @property
    def demos(self) -> Path:
        return self.path / "demos"

    @property
    def dagger(self) -> Path:
        return self.path / "dagger"

    @property
    def models(self) -> Path:
        return self.path / "models"

    @property
    def reports(self) -> Path:
        return self.path / "reports"

    @property
    def videos(self) -> Path:
        return self.path / "videos"

    def dagger_round(self, round_index: int) -> Path:
        return self.dagger / f"round-{round_index:03d}"

    def episode_folders(self, *, demos: bool = True, dagger: bool = True) -> list[Path]:
        """The folders that hold episode files: demos first, then the DAgger rounds in order (those that exist)."""
        folders = [self.demos] if demos and self.demos.is_dir() else []
        if dagger and self.dagger.is_dir():
            folders += sorted(p for p in self.dagger.iterdir() if p.is_dir() and p.name.startswith("round-"))
        return folders

    def command(self, verb: str, *options: str) -> str:
        """The command line that runs `mimic VERB` on this game's data, for a message to suggest."""
        data = [] if self.root == Path("data") else ["--data", str(self.root)]
        return " ".join(["mimic", verb, "--game", self.game, *data, *options])

    def episode_paths(self, *, demos: bool = True, dagger: bool = True) -> list[Path]:
        """Every episode file of the game: demos first, then DAgger rounds in order."""
        return [path for folder in self.episode_folders(demos=demos, dagger=dagger) for path in _episode_files(folder)]

    def journals(self) -> list[Path]:
        """The journals of episodes in progress, or of ones whose process ended before saving them."""
        return [path for folder in self.episode_folders() for path in sorted(folder.glob(f".*{JOURNAL_SUFFIX}"))]

    def tidy(self) -> list[Recovered]:
        """Make the game's folder whole after a kill: the temporaries of writers that are gone are removed, and
        unfinished episodes are recovered from their journals (returned, each with the line that says so)."""
        remove_stale_temporaries(self.path)
        return recover_journals(self)

    def remove(self, path: Path) -> None:
        """Delete one file of the game's (`mimic data rm`); a `StoreError` of one line when it cannot be."""
        try:
            Path(path).unlink()
        except OSError as exc:
            raise store_error(path, exc) from exc

    def find(self, episode_id: str) -> Path | None:
        for path in self.episode_paths():
            if path.stem == episode_id:
                return path
        return None

    def scan(self, **kinds: bool) -> tuple[list[tuple[Path, EpisodeInfo]], list[str]]:
        """(path, info) of every readable episode, and one warning per damaged file."""
        good, damaged = [], []
        for path in self.episode_paths(**kinds):
            try:
                good.append((path, read_info(path)))
            except DamagedEpisodeError as exc:
                damaged.append(str(exc))
        return good, damaged

    def iter_episodes(self, warn=None, **kinds: bool) -> Iterator[Episode]:
        """Load every readable episode; damaged ones are skipped and passed to `warn`."""
        for path in self.episode_paths(**kinds):
            try:
                yield load_episode(path)
            except DamagedEpisodeError as exc:
                if warn is not None:
                    warn(str(exc))


def _episode_files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.glob(f"*{EPISODE_SUFFIX}") if not p.name.startswith("."))


def games_with_data(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir()
                  if p.is_dir() and (GameStore(root, p.name).episode_paths() or GameStore(root, p.name).journals()))


# ---------------------------------------------------------------------------------------------
# The journal: the episode in progress, on disk, recovered when its process is gone


def journal_path(directory: Path, episode_id: str) -> Path:
    """The journal of episode `episode_id`, beside where its file `episode_id.npz` will go."""
    return Path(directory) / f".{episode_id}{JOURNAL_SUFFIX}"


def journal_id(journal: Path) -> str:
    """The id of the episode a journal holds (its file will be `ID.npz`)."""
    return Path(journal).name[1:].removesuffix(JOURNAL_SUFFIX)


class EpisodeJournal:
    """The episode in progress beside where its file will go: a hidden folder `.ID.journal/` of chunk files
    (`000000.npz`, ...), each holding the episode's arrays since the chunk before (`pack_arrays`, with the frame
    stream's part and its ending, `FrameEncoder.flush_part`), written whole (`atomic_write`) by a thread of its
    own. The process writing it holds a lock on the folder (flock) for as long as it lives; `recover_journals`
    takes only journals whose lock is free. The folder appears with the first chunk."""

    def __init__(self, directory: Path, episode_id: str) -> None:
        self.path = journal_path(directory, episode_id)
        self.failed: str | None = None  # why chunks are no longer written (the data root cannot be written)
        self._fd: int | None = None
        self._writer: ThreadPoolExecutor | None = None
        self._chunks = 0

    def add(self, arrays: dict[str, np.ndarray]) -> None:
        """Queue one chunk for writing; returns at once."""
        if self._writer is None:
            self._writer = ThreadPoolExecutor(1, thread_name_prefix="journal")
        self._writer.submit(self._write, self._chunks, arrays)
        self._chunks += 1

    def _write(self, index: int, arrays: dict[str, np.ndarray]) -> None:
        if self.failed:
            return
        try:
            if self._fd is None:
                with atomic_path(self.path) as tmp:  # the folder appears under its name locked
                    tmp.mkdir()
                    self._fd = os.open(tmp, os.O_RDONLY)
                    fcntl.flock(self._fd, fcntl.LOCK_EX)
            atomic_write(self.path / f"{index:06d}{EPISODE_SUFFIX}", lambda handle: np.savez(handle, **arrays))
        except Exception as exc:  # a journal that cannot be written must not stop the play
            self.failed = error_words(exc)

    def close(self, *, remove: bool) -> None:
        """Wait for the chunks queued; with `remove` delete the journal (its episode is saved, or thrown away)."""
        if self._writer is not None:
            self._writer.shutdown(wait=True)
            self._writer = None
        if self._fd is not None:
            if remove:
                shutil.rmtree(self.path, ignore_errors=True)
            os.close(self._fd)
            self._fd = None


@dataclass(frozen=True)
class Recovered:
    """An episode recovered from the journal of a process that ended before saving it (or, with `problem`, one
    that could not be: its journal stays for the next run)."""

    journal: Path
    path: Path | None = None  # the episode file written
    info: EpisodeInfo | None = None
    problem: str | None = None

    @property
    def line(self) -> str:
        if self.problem is not None:
            return (f"warning: an unfinished episode in {self.journal} could not be recovered ({self.problem}); "
                    "it stays there for the next run")
        info, where = self.info, self.path.stem
        if self.path.parent.name != "demos":
            where = f"{self.path.parent.name}/{where}"
        started = dt.datetime.fromisoformat(info.started).astimezone()
        when = f"{started:%H:%M}" if started.date() == dt.date.today() else f"{started:%Y-%m-%d %H:%M}"
        return (f"recovered an unfinished episode of {info.game}: {info.length:,} frames ({info.duration_s:.1f} s) "
                f"by {info.player} from {when}, now {where}")


def recover_journals(store: GameStore) -> list[Recovered]:
    """Turn every journal of the game whose writer is gone into its episode file (marked "interrupted"; up to
    its last whole chunk) and remove the journal; journals still being written are left alone."""
    recovered = (recover_journal(path) for path in store.journals())
    return [r for r in recovered if r is not None]


def recover_journal(journal: Path) -> Recovered | None:
    """One journal (see `recover_journals`); None when there was nothing to recover or its writer lives."""
    try:
        fd = os.open(journal, os.O_RDONLY)
    except OSError:  # gone: another run recovered it
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:  # its writer is alive
            return None
        target = journal.with_name(journal_id(journal) + EPISODE_SUFFIX)
        arrays = None if target.exists() else read_journal(journal)  # the file there: saved, then stopped
        if arrays is not None:
            write_episode_file(target, arrays)
        shutil.rmtree(journal)
        return None if arrays is None else Recovered(journal, target, read_info(target))
    except (OSError, StoreError, DamagedEpisodeError) as exc:
        return Recovered(journal, problem=error_words(exc))
    finally:
        os.close(fd)


def read_journal(journal: Path) -> dict[str, np.ndarray] | None:
    """The arrays of the episode file a journal holds, up to its last whole chunk; None when it holds none."""
    chunks: list[dict[str, np.ndarray]] = []
    for path in sorted(Path(journal).glob(f"[0-9]*{EPISODE_SUFFIX}")):
        if path.stem != f"{len(chunks):06d}":
            break
        try:
            with np.load(path, allow_pickle=False) as data:
                chunks.append({name: data[name] for name in data.files})
        except Exception:  # a damaged chunk: what came before it is the episode
            break
    if not chunks:
        return None
    arrays = {name: np.concatenate([chunk[name] for chunk in chunks]) for name in chunks[0]
              if name not in ("meta", "frames", "tail", "state_offsets")}
    arrays["frames"] = np.concatenate([chunk["frames"] for chunk in chunks] + [chunks[-1]["tail"]])
    sizes = np.concatenate([np.diff(chunk["state_offsets"]) for chunk in chunks])
    arrays["state_offsets"] = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    info = EpisodeInfo.from_json(bytes(chunks[-1]["meta"]).decode())
    info = replace(info, ended=INTERRUPTED, extra={**info.extra, "id": journal_id(journal)})
    if len(arrays["actions"]) != info.length or len(arrays["lives"]) != info.length + 1:
        raise DamagedEpisodeError(f"its chunks hold {len(arrays['actions'])} steps, their metadata {info.length}")
    arrays["meta"] = np.frombuffer(info.to_json().encode(), dtype=np.uint8)
    return arrays


# ---------------------------------------------------------------------------------------------
# Streaming (added for training: decode a long episode a chunk at a time)


def iter_frames(path: Path, chunk: int = 512) -> Iterator[np.ndarray]:
    """The frames of an episode file in order, `chunk` frames at a time, without decoding all at once.

    A 10-minute episode is 36,000 frames, 3.6 GB as raw RGB; this keeps one chunk in memory.
    Damaged files raise `DamagedEpisodeError` (message starting with the file name).
    """
    path = Path(path)
    try:
        with _open(path) as data:
            info = _info(data)
            blob = data["frames"].tobytes()
        yield from decode_chunks(blob, info.length + 1, tuple(info.frame_shape), chunk)
    except DamagedEpisodeError as exc:
        raise DamagedEpisodeError(f"{path.name}: {exc}") from exc
    except Exception as exc:
        raise DamagedEpisodeError(f"{path.name}: damaged episode file ({error_words(exc)})") from exc


# ---------------------------------------------------------------------------------------------
# What `mimic data ls` shows


def episodes_table(store: GameStore) -> tuple[RenderableType | None, list[str]]:
    """One game's episodes as Rich renderables: a table of them with totals, then the share of
    steps each action was held (None when the game has no readable episode), and one warning
    per file skipped. Cells wrap on a narrow screen rather than being cut."""
    episodes, skipped = store.scan()
    if not episodes:
        return None, skipped
    table = Table(title=f"{store.game}: {len(episodes)} episodes in {store.path}", title_justify="left",
                  box=box.SIMPLE_HEAD)
    for column in ("episode", "player", "frames", "time", "score", "speed", "ended"):
        numeric = column in ("frames", "time", "score", "speed")
        table.add_column(column, justify="right" if numeric else "left", overflow="fold")
    held = np.zeros(len(episodes[-1][1].action_names), dtype=np.int64)
    for path, info in episodes:
        name = path.stem if path.parent == store.demos else f"{path.parent.name}/{path.stem}"
        speed = "step" if info.speed == STEP_MODE else f"{info.speed:.0%}"
        table.add_row(name, info.player, f"{info.length:,}", _clock(info.duration_s), f"{info.score:,.0f}",
                      speed, info.ended)
        try:
            actions = load_episode(path, frames=False).actions
        except DamagedEpisodeError as exc:  # damaged after its metadata was read: report, keep going
            skipped.append(str(exc))
            continue
        held += np.bincount(actions, minlength=len(held))[: len(held)]
    steps = sum(info.length for _, info in episodes)
    players = len({info.player for _, info in episodes})
    table.add_section()
    table.add_row("total (mean score)", f"{players} player" + "s" * (players > 1), f"{steps:,}",
                  _clock(steps / 60), f"{np.mean([info.score for _, info in episodes]):,.0f}", "", "")
    bars = Table(title="actions held", title_justify="left", show_header=False, box=None)
    for name, share in zip(episodes[-1][1].action_names, held / max(held.sum(), 1)):
        bars.add_row(name, f"{share:6.1%}", "[cyan]" + "█" * round(share * 40) + "[/]")
    return Group(table, bars), skipped


def _clock(seconds: float) -> str:
    """Seconds as m:ss."""
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}:{secs:02d}"
