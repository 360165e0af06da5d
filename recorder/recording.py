"""Record an episode while something (a person, the expert, an agent) plays, and replay it.

`EpisodeRecorder` owns the real emulator at the recording settings (frameskip 1, sticky
actions off), steps it, and streams every frame into the store's compressed form, so a long
episode costs a few hundred bytes a frame in memory, not 100 KB. `verify_episode` replays a
stored episode in a fresh emulator and checks every frame and every stored state bit for bit.
With `journal=FOLDER` the recorder also journals the episode in progress beside where it will be
saved (`recorder.store.EpisodeJournal`), so that a kill loses at most a second of it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
from ale_py import ALEState

from recorder.games import Game, ale_version, make_env, resolve_game
from recorder.store import (
    DamagedEpisodeError,
    EPISODE_SUFFIX,
    JOURNAL_EVERY,
    STATE_EVERY,
    Episode,
    EpisodeInfo,
    EpisodeJournal,
    FrameEncoder,
    error_words,
    load_episode,
    new_episode_id,
    pack_arrays,
    single_label_sets,
    write_episode_file,
)


@dataclass(frozen=True)
class Step:
    frame: np.ndarray
    reward: float
    terminated: bool
    truncated: bool
    lives: int


@dataclass
class _Buffers:
    actions: list[int] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    label_sets: list[int] = field(default_factory=list)
    rewards: list[int] = field(default_factory=list)
    lives: list[int] = field(default_factory=list)
    terminated: list[bool] = field(default_factory=list)
    truncated: list[bool] = field(default_factory=list)
    speeds: list[float] = field(default_factory=list)
    state_steps: list[int] = field(default_factory=list)
    states: list[bytes] = field(default_factory=list)


class EpisodeRecorder:
    """One episode of the real game, recorded frame by frame.

    >>> rec = EpisodeRecorder(resolve_game("pacman"), seed=1, player="ana")
    >>> frame = rec.reset()
    >>> step = rec.step(action=2)          # index into the game's minimal action set
    >>> path = rec.save(Path("data/pacman/demos"))

    With `journal` (the folder the episode will be saved in) every second of play is also written to
    the episode's journal there, removed once the episode is saved or thrown away (`discard`).
    """

    def __init__(
        self,
        game: Game,
        *,
        seed: int,
        player: str,
        source: str = "human",
        extra: dict | None = None,
        max_frames: int | None = None,
        state_every: int = STATE_EVERY,
        env=None,
        journal: Path | None = None,
    ) -> None:
        self.game = game
        self.seed = int(seed)
        self.player = player
        self.source = source
        self.extra = dict(extra or {})
        self.state_every = state_every
        # The cap counts recorded steps (ALE's own cap would also count the frames its reset plays).
        self.max_frames = max_frames
        if max_frames is not None:
            self.extra.setdefault("max_frames", max_frames)
        self.env = env if env is not None else make_env(game)
        self._buf = _Buffers()
        self._encoder = FrameEncoder()
        self._started: dt.datetime | None = None
        self._speeds: Counter[float] = Counter()
        self.journal_folder = journal
        self._journal: EpisodeJournal | None = None
        self._journalled: dict[str, int] = {}  # entries of each buffer written to the journal
        self._journal_time = 0.0
        self.episode_id = ""  # chosen at reset; the file's name unless a file has it already
        self.frame: np.ndarray | None = None
        self.score = 0.0
        self.done = False
        self.ended: str | None = None

    @property
    def ale(self):
        return self.env.unwrapped.ale

    @property
    def length(self) -> int:
        return len(self._buf.actions)

    @property
    def lives(self) -> int:
        return self._buf.lives[-1] if self._buf.lives else 0

    @property
    def step_lives(self) -> list[int]:
        """Lives at the start, then after every step."""
        return list(self._buf.lives)

    def reset(self, state: bytes | None = None, frame: np.ndarray | None = None) -> np.ndarray:
        """Start the episode from the seed, or from a serialized ALE state and its screen.

        The emulator does not keep its screen in a saved state, so a start from a state (a
        rewind) passes the screen that was showing when the state was taken.
        """
        obs, info = self.env.reset(seed=self.seed)
        if state is not None:
            if frame is None:
                raise ValueError("a start from a saved state needs the frame shown at that state")
            self.ale.restoreState(ALEState(state))
            obs = np.asarray(frame, dtype=np.uint8)
            self.extra["start"] = "state"
        self.discard()
        self._buf = _Buffers()
        self._encoder = FrameEncoder()
        self._speeds = Counter()
        self._started = dt.datetime.now(dt.timezone.utc)
        self.episode_id = new_episode_id(self.player, self._started)
        if self.journal_folder is not None:
            self._journal = EpisodeJournal(self.journal_folder, self.episode_id)
            self._journalled = {f.name: 0 for f in fields(_Buffers)}
            self._journal_time = time.monotonic()
        self.score, self.done, self.ended = 0.0, False, None
        self._buf.lives.append(int(self.ale.lives()))
        self._snapshot()
        self._encoder.add(obs)
        self.frame = obs
        return obs

    def _snapshot(self) -> None:
        self._buf.state_steps.append(self.length)
        self._buf.states.append(self.ale.cloneState().serialize())

    def step(self, action: int, *, label: int | None = None, label_set: int | None = None,
             speed: float = 1.0) -> Step:
        """Execute `action` for one emulator frame and record it.

        `label` defaults to `action`; `label_set` (a bitmask of the actions as good as the
        label, see `recorder.store`) defaults to the label's own bit.
        """
        if self._started is None:
            raise RuntimeError("call reset() before step()")
        if self.done:
            raise RuntimeError("the episode is over: save it or reset")
        if not 0 <= action < self.game.n_actions:
            raise ValueError(f"action {action} is outside {self.game.name}'s {self.game.n_actions} actions")
        label = int(action if label is None else label)
        label_set = ((1 << label) if label >= 0 else 0) if label_set is None else _check_set(label, int(label_set))
        if self.length and self.length % self.state_every == 0:
            self._snapshot()
        obs, reward, terminated, truncated, info = self.env.step(int(action))
        truncated = truncated or (self.max_frames is not None and self.length + 1 >= self.max_frames)
        buf = self._buf
        buf.actions.append(int(action))
        buf.labels.append(label)
        buf.label_sets.append(label_set)
        buf.rewards.append(int(reward))
        buf.lives.append(int(info.get("lives", self.ale.lives())))
        buf.terminated.append(bool(terminated))
        buf.truncated.append(bool(truncated))
        buf.speeds.append(float(speed))
        self._speeds[float(speed)] += 1
        self._encoder.add(obs)
        self.frame = obs
        self.score += float(reward)
        if terminated or truncated:
            self.done = True
            self.ended = "game_over" if terminated else "frame_cap"
        if self._journal is not None and (self.length - self._journalled["actions"] >= JOURNAL_EVERY
                                          or time.monotonic() - self._journal_time >= 1.0):
            self._journal_chunk()
        return Step(obs, float(reward), bool(terminated), bool(truncated), buf.lives[-1])

    def _journal_chunk(self) -> None:
        """Hand the journal what was recorded since its last chunk (it writes it on a thread of its own)."""
        part, ending = self._encoder.flush_part()
        done, self._journalled = self._journalled, {name: len(getattr(self._buf, name)) for name in self._journalled}
        since = _Buffers(**{name: getattr(self._buf, name)[start:] for name, start in done.items()})
        arrays = pack_arrays(self.info(self.episode_id), part, since)
        self._journal.add(arrays | {"tail": np.frombuffer(ending, dtype=np.uint8)})
        self._journal_time = time.monotonic()

    def discard(self) -> None:
        """Throw the episode in progress away: its journal goes (nothing when it has none)."""
        if self._journal is not None:
            self._journal.close(remove=True)
            self._journal = None

    def relabel(self, labels, label_sets=None) -> None:
        """Replace the per-step labels before saving (DAgger: the expert labels after the rollout).

        `label_sets` (bitmasks, one per step) default to each label's own bit.
        """
        labels = [int(x) for x in labels]
        if len(labels) != self.length:
            raise ValueError(f"{len(labels)} labels for an episode of {self.length} steps")
        if label_sets is None:
            sets = single_label_sets(labels).tolist()
        else:
            if len(label_sets) != len(labels):
                raise ValueError(f"{len(label_sets)} label sets for {len(labels)} labels")
            sets = [_check_set(label, int(s)) for label, s in zip(labels, label_sets)]
        self._buf.labels, self._buf.label_sets = labels, sets

    def cut(self) -> None:
        """End the episode here, before the game is over (e.g. a rewound stretch handed back).

        The last step is marked truncated and the episode ends as "frame_cap", as when
        `max_frames` stops it.
        """
        if not self.length:
            raise RuntimeError("nothing played to cut")
        if not self.done:
            self._buf.truncated[-1] = True
            self.done, self.ended = True, "frame_cap"
        if self._journal is not None and self.length > self._journalled["actions"]:
            self._journal_chunk()  # it may wait a while before it is saved (a rewound stretch)

    def clone_state(self) -> bytes:
        return self.ale.cloneState().serialize()

    def info(self, episode_id: str) -> EpisodeInfo:
        speeds = self._speeds
        return EpisodeInfo(
            game=self.game.name,
            rom=self.game.rom,
            ale_version=ale_version(),
            seed=self.seed,
            player=self.player,
            source=self.source,
            started=self._started.isoformat(timespec="seconds"),
            length=self.length,
            score=self.score,
            ended=self.ended or "quit",
            speed=speeds.most_common(1)[0][0] if speeds else 1.0,
            action_names=self.game.action_names,
            frame_shape=tuple(int(x) for x in self._encoder.shape),
            extra={**self.extra, "id": episode_id},
        )

    def save(self, directory: Path) -> Path:
        """Write the episode (finished, or cut short: marked `quit`) atomically into `directory`."""
        if self._started is None:
            raise RuntimeError("nothing recorded: call reset() first")
        episode_id = self.episode_id
        while (path := Path(directory) / f"{episode_id}{EPISODE_SUFFIX}").exists():  # never replace a recording
            episode_id = new_episode_id(self.player, self._started)
        info = self.info(episode_id)
        arrays = pack_arrays(info, self._encoder.finish(), self._buf)
        path = write_episode_file(path, arrays)
        self.discard()  # after the file is in place: a kill in between leaves both, and recovery sees the file
        self._started = None  # the encoder is spent; reset() starts the next episode
        return path

    def close(self) -> None:
        self.env.close()


def _check_set(label: int, label_set: int) -> int:
    if label < 0:
        if label_set:
            raise ValueError(f"an unlabelled step has label set {label_set:#b}; expected 0")
        return 0
    if not (label_set >> label) & 1:
        raise ValueError(f"label set {label_set:#b} does not hold its label {label}")
    return int(label_set)


def rollout_seed(seed: int, round_index: int, episode: int) -> int:
    """The emulator seed of DAgger rollout `episode` of round `round_index` (planner and human alike)."""
    return seed * 1_000_003 + round_index * 1_000 + episode


# ---------------------------------------------------------------------------------------------
# Replay


@dataclass(frozen=True)
class VerifyResult:
    path: Path
    ok: bool
    steps: int
    message: str


def replay_episode(episode: Episode, env=None) -> str | None:
    """Replay in a fresh emulator; None when every frame and state matches, else what differs."""
    info = episode.info
    game = resolve_game(info.game)
    env = env if env is not None else make_env(game)
    ale = env.unwrapped.ale
    obs, _ = env.reset(seed=info.seed)
    states = dict(zip(episode.state_steps.tolist(), episode.states))
    outside = np.flatnonzero(episode.actions >= game.n_actions)
    if outside.size:
        t = int(outside[0])
        return f"action {int(episode.actions[t])} at step {t} is out of range: {game.name} has {game.n_actions} actions"
    if info.extra.get("start") == "state":  # a rewind: no screen is kept in a saved state
        ale.restoreState(ALEState(states[0]))
    elif not np.array_equal(obs, episode.frames[0]):
        return "frame 0 differs from a fresh start with the recorded seed"
    for t, action in enumerate(episode.actions.tolist()):
        if t in states and ale.cloneState().serialize() != states[t]:
            return f"emulator state before step {t} differs from the stored one"
        obs, *_ = env.step(int(action))
        if not np.array_equal(obs, episode.frames[t + 1]):
            return f"frame {t + 1} differs on replay"
    return None


def verify_episode(path: Path) -> VerifyResult:
    episode = load_episode(path)
    problem = replay_episode(episode)
    n = len(episode)
    return VerifyResult(Path(path), problem is None, n, problem or f"{n} frames replay exactly")


def verify_line(path: Path) -> tuple[bool, str]:
    """Replay one episode file (`verify_episode`): whether it verified, and a line of Rich markup saying so
    ("ok", "FAILED" or "DAMAGED", with the game, folder and file). A file that cannot be replayed at all is
    DAMAGED, with the reason; the caller goes on to the next."""
    name = f"{path.parent.parent.name}/{path.parent.name}/{path.name}"
    try:
        result = verify_episode(path)
    except DamagedEpisodeError as exc:
        return False, f"[red]DAMAGED[/]  {exc}"
    except Exception as exc:  # stored values the emulator refuses (an unknown game, a broken state)
        return False, f"[red]DAMAGED[/]  {name}: cannot be replayed ({error_words(exc)})"
    mark = "[green]ok[/]" if result.ok else "[red]FAILED[/]"
    return result.ok, f"{mark}  {name}: {result.message}"
