"""The planning expert: looks ahead with the emulator's own saved states, for any game.

At a decision the expert restores the emulator state and plays each action of the game's
minimal set for one decision (`frameskip` frames). Actions that leave the emulator in the same
state are one choice (Ms. Pac-Man reads the joystick only now and then: often all nine actions
are one); when there is only one, no look-ahead is needed. Otherwise each distinct choice gets
random rollouts (each decision held for `frameskip` frames, `depth` decisions in all) in rounds
until the budget is spent; a rollout scores its discounted reward minus a penalty when a life
is lost (and stops there). The best mean wins; among equally good choices the expert keeps
holding the action it held before, as a person does. The budget is counted in emulator frames,
so the expert plays the same on a fast machine and a slow one. A judgement also names every
action as good as the chosen one (its group and the groups tied with it); recordings store that
set beside the label; training leaves out the decisions where every action is as good (moot).

A decision is a pure function of (game, config, seed, state, previous action): the random
numbers of a decision come from the seed and a digest of the serialized state. So the expert
labels a stored state exactly as it would act from it live, and a process pool labels a list
of states exactly as one process does, in any order.

    expert = Expert(resolve_game("mspacman"), ExpertConfig(budget=2000), seed=0)
    action = expert.decide(recorder.clone_state(), previous)   # index into the minimal action set
    action, as_good = expert.judge(state, previous)            # and the bitmask of equally good actions
    labels = expert.label(states, previous_actions)            # one process
    with ExpertPool(game, config, seed=0) as pool:             # every core
        labels = pool.label(states, previous_actions)
"""

from __future__ import annotations

import ctypes
import hashlib
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import NamedTuple

import ale_py
import numpy as np
from ale_py import ALEState, roms

from recorder.games import Game, resolve_game
from recorder.recording import EpisodeRecorder
from recorder.store import EXPERT_PLAYER, GameStore, ensure_writable

_POOL_START = "spawn"  # each worker builds its own emulator; nothing inherited from the parent


@dataclass(frozen=True)
class ExpertConfig:
    """How hard the expert thinks.

    budget:       emulator frames of look-ahead per decision, over all actions and rollouts
    depth:        decisions per rollout (the first is the action being judged); a rollout must reach
                  past the frame where the game shows a lost life: Ms. Pac-Man shows it 78 frames
                  after the last move that could avoid it (40 decisions = 160 frames leaves room),
                  Pac-Man 130 (use 50 there)
    frameskip:    emulator frames each decision is held, in rollouts and in play
    life_penalty: points a rollout loses when a life is lost (and it stops there)
    discount:     weight per decision of later rewards (1.0: none); favours rewards that come sooner
    repeat:       probability that a rollout's random policy keeps its previous action
    common_random_numbers: in each round of rollouts every choice draws the same random numbers
                  (False: one stream for all rollouts of a decision, for comparison)
    """

    budget: int = 2000
    depth: int = 40
    frameskip: int = 4
    life_penalty: float = 1000.0
    discount: float = 0.98
    repeat: float = 0.5
    common_random_numbers: bool = True

    def __post_init__(self) -> None:
        if self.frameskip < 1:
            raise ValueError(f"frameskip must be at least 1, got {self.frameskip}")
        if self.depth < 1:
            raise ValueError(f"depth must be at least 1 decision, got {self.depth}")
        if self.budget < self.frameskip:
            raise ValueError(
                f"budget must be at least one decision of {self.frameskip} frames, got {self.budget} frames"
            )
        if self.life_penalty < 0:
            raise ValueError(f"life_penalty must be >= 0, got {self.life_penalty}")
        if not 0.0 < self.discount <= 1.0:
            raise ValueError(f"discount must be in (0, 1], got {self.discount}")
        if not 0.0 <= self.repeat < 1.0:
            raise ValueError(f"repeat must be in [0, 1), got {self.repeat}")


class Judgement(NamedTuple):
    """What the expert says about one state."""

    action: int  # the action it takes (index into the game's minimal set)
    as_good: int  # bitmask: bit a set when action a is as good as `action` (its own bit included)


def _state_digest(state: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(state, digest_size=8).digest(), "little")


class Expert:
    """A rollout planner with its own emulator (one per process)."""

    def __init__(self, game: Game, config: ExpertConfig | None = None, *, seed: int = 0) -> None:
        self.game = game
        self.config = config or ExpertConfig()
        self.seed = int(seed)
        if self.seed < 0:
            raise ValueError(f"seed must be >= 0, got {self.seed}")
        self.ale = ale_py.ALEInterface()
        self.ale.setFloat("repeat_action_probability", 0.0)  # the recording settings
        self.ale.setInt("frame_skip", 1)
        self.ale.loadROM(roms.get_rom_path(game.rom))
        self._actions = [ale_py.Action(a) for a in game.ale_actions]
        self.frames_used = 0  # emulator frames spent looking ahead, over the expert's life
        self.decisions = 0

    # -- the two uses: play and label -------------------------------------------------------------

    def decide(self, state: bytes, previous: int | None = None) -> int:
        """The action (index into the game's minimal set) the expert takes from a serialized state.

        `previous` is the action held before this state, if known. Where it is as good as the
        best (the game ignores the joystick this moment, or nothing is in reach), the expert
        keeps holding it, as a person would; a label then agrees with the play it came from.
        """
        return self.judge(state, previous).action

    def judge(self, state: bytes, previous: int | None = None) -> Judgement:
        """The action `decide` gives and the set of actions as good as it."""
        if previous is not None and not 0 <= previous < self.game.n_actions:
            raise ValueError(f"previous action {previous} is outside {self.game.name}'s {self.game.n_actions} actions")
        groups, values, key = self._look_ahead(state)
        return self._choose(groups, values, previous, np.random.default_rng(key))

    def action_values(self, state: bytes) -> np.ndarray:
        """(n_actions,) float: the value the expert's look-ahead gives each action from a serialized state.

        The numbers `judge` chooses by (an action's value is its group's: the reward of its
        decision, minus `life_penalty` if it loses a life, plus the discounted mean of the
        rollouts after it), for a learner to imitate more than the argmax: how much worse each
        other action is.
        """
        groups, group_values, _ = self._look_ahead(state)
        values = np.empty(self.game.n_actions)
        for group, value in zip(groups, group_values):
            values[group.actions] = value
        return values

    def label(self, states: Sequence[bytes], previous: Sequence[int | None] | None = None) -> list[int]:
        """The expert's action for each serialized state, in order (one process).

        `previous[i]` is the action held before `states[i]` (None where unknown).
        """
        return [judgement.action for judgement in self.judge_all(states, previous)]

    def judge_all(self, states: Sequence[bytes], previous: Sequence[int | None] | None = None) -> list[Judgement]:
        """`judge` for each serialized state, in order (one process)."""
        previous = _check_previous(states, previous)
        return [self.judge(state, held) for state, held in zip(states, previous)]

    # -- steps of a decision ------------------------------------------------------------------------

    def _look_ahead(self, state: bytes) -> tuple[list[_Group], np.ndarray, list[int]]:
        """The groups of equivalent actions, the value of each, and the decision's random-number key."""
        key = [self.seed, _state_digest(state)]
        groups = self._expand(ALEState(state))
        values = self._evaluate_groups(groups, key)
        self.decisions += 1
        return groups, values, key

    def _expand(self, root: ALEState) -> list[_Group]:
        """Play each action for one decision; actions that leave the same emulator state form one group."""
        cfg, ale = self.config, self.ale
        ale.restoreState(root)
        start_lives = ale.lives()
        by_state: dict[bytes, _Group] = {}
        for index, action in enumerate(self._actions):
            ale.restoreState(root)
            reward = 0
            for _ in range(cfg.frameskip):
                reward += ale.act(action)
            self.frames_used += cfg.frameskip
            after = ale.cloneState()
            key = after.serialize()
            group = by_state.get(key)
            if group is None:
                lost = ale.game_over() or ale.lives() < start_lives
                by_state[key] = _Group([index], after, float(reward), lost, start_lives)
            else:
                group.actions.append(index)
        return list(by_state.values())

    def _evaluate_groups(self, groups: list[_Group], key: list[int]) -> np.ndarray:
        """Mean rollout value of each group: rounds of one rollout per open group until the budget is spent.

        Common random numbers: in each round every group's rollout draws the same random numbers
        (from `key` and the round), so groups are compared on the same futures and a difference
        in value is a difference the first action made, not luck.
        """
        cfg = self.config
        values = np.array([g.reward - cfg.life_penalty * g.lost for g in groups])
        open_groups = [i for i, g in enumerate(groups) if not g.lost]
        if len(groups) == 1 or not open_groups or cfg.depth == 1:
            return values  # nothing to choose between, or nothing left to look at
        totals = np.zeros(len(groups))
        counts = np.zeros(len(groups))
        used = len(self._actions) * cfg.frameskip
        round_index, stream = 0, np.random.default_rng(key)
        while used < cfg.budget:
            for i in open_groups:
                rng = np.random.default_rng([*key, round_index]) if cfg.common_random_numbers else stream
                value, frames = self._run_rollout(groups[i], rng)
                totals[i] += value
                counts[i] += 1
                used += frames
            round_index += 1
        self.frames_used += used - len(self._actions) * cfg.frameskip
        done = counts > 0
        values[done] += cfg.discount * totals[done] / counts[done]
        return values

    def _run_rollout(self, group: _Group, rng: np.random.Generator) -> tuple[float, int]:
        """From after the group's first decision, random decisions; the discounted return and frames taken."""
        cfg = self.config
        ale, actions = self.ale, self._actions
        ale.restoreState(group.state)
        value, weight, frames = 0.0, 1.0, 0
        action = group.actions[0]
        for _ in range(cfg.depth - 1):
            if rng.random() >= cfg.repeat:
                action = int(rng.integers(len(actions)))
            reward = 0
            for _ in range(cfg.frameskip):
                reward += ale.act(actions[action])
            frames += cfg.frameskip
            value += weight * reward
            if ale.game_over() or ale.lives() < group.start_lives:
                return value - cfg.life_penalty, frames
            weight *= cfg.discount
        return value, frames

    @staticmethod
    def _choose(groups: list[_Group], values: np.ndarray, previous: int | None, rng: np.random.Generator) -> Judgement:
        """The best group; among equally good ones, the one holding `previous`, else one at random.

        Within the group: `previous` if it is there, else the group's first action. Every
        action of every best group is as good.
        """
        best = np.flatnonzero(values >= values.max() - 1e-9)
        holding = [i for i in best if previous in groups[i].actions]
        chosen = groups[holding[0] if holding else int(best[rng.integers(len(best))])]
        action = previous if previous in chosen.actions else chosen.actions[0]
        return Judgement(action, sum(1 << a for i in best for a in groups[i].actions))


@dataclass
class _Group:
    """Actions that lead to the same emulator state after one decision, and what that decision gave."""

    actions: list[int]
    state: ALEState
    reward: float
    lost: bool
    start_lives: int


def _check_previous(states: Sequence[bytes], previous: Sequence[int | None] | None) -> list[int | None]:
    if previous is None:
        return [None] * len(states)
    if len(previous) != len(states):
        raise ValueError(f"previous holds {len(previous)} actions for {len(states)} states; expected one per state")
    return [None if p is None else int(p) for p in previous]


# ---------------------------------------------------------------------------------------------
# Worker processes that leave Ctrl-C to this process and never outlive it

_PR_SET_PDEATHSIG = 1  # prctl option (linux/prctl.h): the signal a process gets when its parent dies


def _start_worker(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    """First thing in a worker: ignore Ctrl-C, die with the parent, then `initializer(*initargs)`."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a terminal sends it to every process; the parent stops us
    signal.pthread_sigmask(signal.SIG_UNBLOCK, [signal.SIGINT])  # held while the parent started us (_held)
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before the kernel was asked to tell us
        os._exit(1)
    if initializer is not None:
        initializer(*initargs)


@contextmanager
def _held() -> Iterator[None]:
    """Ctrl-C held (blocked) in this thread while it starts workers: a worker inherits the mask, so one pressed
    while it starts up waits until `_start_worker` ignores it; this process gets it on leaving."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGINT])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


class WorkerPool:
    """A process pool ("spawn": each worker imports afresh) whose workers never outlive this process.

    Workers ignore Ctrl-C: a terminal sends SIGINT to every process in the foreground, and this process
    decides; leaving the `with` block by an exception (KeyboardInterrupt: Ctrl-C, SIGTERM, SIGHUP) kills
    the workers at once instead of waiting for their work. On Linux the kernel kills a worker when the
    thread that started it ends (PR_SET_PDEATHSIG), so none survives even a SIGKILL of this process:
    `submit` and `map` start workers, so call them from a thread that outlives the pool (the main one).
    """

    def __init__(self, workers: int, initializer: Callable | None = None, initargs: tuple = ()) -> None:
        self.workers = int(workers)
        if self.workers < 1:
            raise ValueError(f"workers must be at least 1, got {self.workers}")
        self._executor = ProcessPoolExecutor(self.workers, mp_context=mp.get_context(_POOL_START),
                                             initializer=_start_worker, initargs=(os.getpid(), initializer, initargs))

    def submit(self, fn: Callable, /, *args) -> Future:
        with _held():
            return self._executor.submit(fn, *args)

    def map(self, fn: Callable, items) -> Iterator:
        with _held():
            return self._executor.map(fn, items)

    def close(self) -> None:
        """Wait for the work submitted, then let the workers go."""
        self._executor.shutdown(wait=True)

    def kill(self) -> None:
        """Kill the workers now; work not finished is dropped (its futures fail)."""
        for process in list((self._executor._processes or {}).values()):  # no public way before Python 3.14
            process.kill()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> WorkerPool:
        return self

    def __exit__(self, error_type, *_) -> None:
        self.kill() if error_type is not None else self.close()


# ---------------------------------------------------------------------------------------------
# Labelling many states on every core

_worker_expert: Expert | None = None


def _init_worker(game_name: str, config: ExpertConfig, seed: int) -> None:
    global _worker_expert
    _worker_expert = Expert(resolve_game(game_name), config, seed=seed)


def _judge_chunk(chunk: tuple[list[bytes], list[int | None]]) -> list[Judgement]:
    assert _worker_expert is not None, "worker not initialised"
    return _worker_expert.judge_all(*chunk)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


class ExpertPool:
    """A process pool of experts, each worker with its own emulator; keep it open across calls.

    `label(states)` gives exactly what `Expert(game, config, seed=seed).label(states)` gives.
    """

    def __init__(self, game: Game, config: ExpertConfig | None = None, *, seed: int = 0,
                 workers: int | None = None) -> None:
        self.game = game
        self.config = config or ExpertConfig()
        self.seed = int(seed)
        self._pool = WorkerPool(default_workers() if workers is None else workers, _init_worker,
                                (game.name, self.config, self.seed))
        self.workers = self._pool.workers

    def label(self, states: Sequence[bytes], previous: Sequence[int | None] | None = None) -> list[int]:
        """The expert's action for each serialized state (`previous`: the action held before each)."""
        return [judgement.action for judgement in self.judge_all(states, previous)]

    def judge_all(self, states: Sequence[bytes], previous: Sequence[int | None] | None = None) -> list[Judgement]:
        """`Expert.judge` for each serialized state, over the pool."""
        states = [bytes(s) for s in states]
        previous = _check_previous(states, previous)
        if not states:
            return []
        size = max(1, -(-len(states) // (4 * self.workers)))  # a few chunks per worker balance the load
        chunks = [(states[i : i + size], previous[i : i + size]) for i in range(0, len(states), size)]
        return [judgement for part in self._pool.map(_judge_chunk, chunks) for judgement in part]

    def close(self) -> None:
        self._pool.close()

    def __enter__(self) -> ExpertPool:
        return self

    def __exit__(self, *exc) -> None:
        self._pool.__exit__(*exc)  # an exception (Ctrl-C included) kills the workers at once


def label_states(game: Game, states: Sequence[bytes], previous: Sequence[int | None] | None = None,
                 config: ExpertConfig | None = None, *, seed: int = 0, workers: int = 1) -> list[int]:
    """The expert's action for each serialized ALE state; `workers` > 1 fans out over processes."""
    if workers <= 1:
        return Expert(game, config, seed=seed).label(states, previous)
    with ExpertPool(game, config, seed=seed, workers=workers) as pool:
        return pool.label(states, previous)


# ---------------------------------------------------------------------------------------------
# Playing and recording


@dataclass(frozen=True)
class EpisodeProgress:
    """Where one expert episode stands; sent while it plays and once at the end."""

    index: int
    seed: int
    frames: int
    decisions: int
    score: float
    lives: int
    seconds: float
    think_seconds: float = 0.0  # of `seconds`, the time spent deciding (the rest: emulating, recording)
    lookahead_frames: int = 0  # emulator frames the expert simulated while deciding
    done: bool = False
    ended: str | None = None
    path: str | None = None

    @property
    def decisions_per_s(self) -> float:
        """Decisions a second of play, recording included."""
        return self.decisions / self.seconds if self.seconds > 0 else 0.0

    @property
    def labels_per_s(self) -> float:
        """Decisions a second of thinking alone: the rate at which this process labels states."""
        return self.decisions / self.think_seconds if self.think_seconds > 0 else 0.0


def play_episode(
    game: Game,
    config: ExpertConfig,
    *,
    seed: int,
    directory: Path | None = None,
    max_frames: int | None = None,
    index: int = 0,
    report: Callable[[EpisodeProgress], None] | None = None,
    report_every: int = 50,
) -> EpisodeProgress:
    """The expert plays one episode, recorded frame by frame as a person's would be; saved if `directory`.

    It plays in the one decision loop (`agent.rollout.play` in a `recording_env`): every
    `config.frameskip` frames it judges the emulator state and holds its action; each step is
    labelled with its decision's action and the set of actions as good as it. The recording
    seed and the expert's seed are both `seed`.
    """
    from agent.env import recording_env
    from agent.obs import ObsConfig
    from agent.rollout import PlannerController, label_steps, play

    expert = Expert(game, config, seed=seed)
    controller = PlannerController(expert)
    recorder = EpisodeRecorder(
        game, seed=seed, player=EXPERT_PLAYER, source="expert", max_frames=max_frames,
        extra={"expert": {"planner": "rollouts", "seed": seed, **asdict(config)}},
    )
    envs = recording_env(recorder, ObsConfig(frameskip=config.frameskip))
    started = time.perf_counter()

    def progress(done: bool = False, path: Path | None = None) -> EpisodeProgress:
        return EpisodeProgress(
            index=index, seed=seed, frames=recorder.length, decisions=expert.decisions, score=recorder.score,
            lives=recorder.lives, seconds=time.perf_counter() - started, think_seconds=controller.seconds,
            lookahead_frames=expert.frames_used, done=done,
            ended=recorder.ended or ("quit" if done else None), path=str(path) if path else None,
        )

    try:
        for turn in play(envs, controller, games=1):
            if report is not None and expert.decisions % report_every == 0 and not turn.ended:
                report(progress())
            if turn.ended:
                label_steps(recorder, turn.ended[0].judgements, config.frameskip)
        path = recorder.save(directory) if directory is not None else None
    finally:
        envs.close()
    final = progress(done=True, path=path)
    if report is not None:
        report(final)
    return final


_worker_reports = None  # in a worker of `play_episodes`: where its progress goes


def _keep_reports(reports) -> None:
    global _worker_reports
    _worker_reports = reports


def _play_in_worker(game_name: str, config: ExpertConfig, seed: int, directory: str | None,
                    max_frames: int | None, index: int) -> EpisodeProgress:
    return play_episode(
        resolve_game(game_name), config, seed=seed, directory=Path(directory) if directory else None,
        max_frames=max_frames, index=index, report=_worker_reports.put,
    )


def play_episodes(
    game: Game,
    config: ExpertConfig,
    seeds: Sequence[int],
    *,
    directory: Path | None = None,
    max_frames: int | None = None,
    workers: int = 1,
    report: Callable[[EpisodeProgress], None] | None = None,
) -> list[EpisodeProgress]:
    """Play one episode per seed, `workers` at a time (one process each, a `WorkerPool`); results in seed order.

    `report` is called in this process with every progress message, from every worker. A KeyboardInterrupt
    (Ctrl-C, SIGTERM, SIGHUP) stops every episode at once; those saved before it stay saved.
    """
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if workers == 1 or len(seeds) == 1:
        return [
            play_episode(game, config, seed=s, directory=directory, max_frames=max_frames, index=i, report=report)
            for i, s in enumerate(seeds)
        ]
    reports = mp.get_context(_POOL_START).SimpleQueue()  # a put is in the pipe when it returns
    with WorkerPool(min(workers, len(seeds)), _keep_reports, (reports,)) as pool:
        futures = [pool.submit(_play_in_worker, game.name, config, s, str(directory) if directory else None,
                               max_frames, i) for i, s in enumerate(seeds)]
        pending = list(futures)
        while pending:
            wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(reports, report)
            for future in [future for future in pending if future.done()]:
                future.result()  # a worker's error ends the run here (and the pool kills the others)
                pending.remove(future)
    _drain(reports, report)
    return [future.result() for future in futures]


def _drain(reports, report: Callable[[EpisodeProgress], None] | None) -> None:
    while not reports.empty():
        message = reports.get()
        if report is not None:
            report(message)


def episodes_table(game: Game, results: Sequence[EpisodeProgress]):
    """The episodes the expert recorded, one row each, and their mean."""
    from rich import box
    from rich.table import Table

    table = Table(title=f"{game.name}: expert episodes", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("episode", "seed", "frames", "decisions", "decisions/s", "score", "ended"):
        table.add_column(column, justify="left" if column in ("episode", "ended") else "right", no_wrap=True)
    for r in results:
        table.add_row(Path(r.path).stem if r.path else "", str(r.seed), f"{r.frames:,}", f"{r.decisions:,}",
                      f"{r.decisions_per_s:.1f}", f"{r.score:,.0f}", r.ended or "")
    table.add_section()
    table.add_row("mean", "", f"{sum(r.frames for r in results) / len(results):,.0f}", "", "",
                  f"{sum(r.score for r in results) / len(results):,.0f}", "")
    return table


def expert_seeds(store: GameStore) -> set[int]:
    """The seeds of the episodes the expert recorded into the game's demos."""
    return {info.seed for _, info in store.scan(dagger=False)[0] if info.player == EXPERT_PLAYER}


def next_expert_seed(store: GameStore) -> int:
    """The seed after the highest one the expert recorded into the game's demos (0 when none): where a new run
    starts, so that it plays games not yet recorded."""
    return max(expert_seeds(store), default=-1) + 1


def record_episodes(game: Game, config: ExpertConfig, store: GameStore, episodes: int, *, console,
                    seed: int | None = None, max_frames: int | None = None, workers: int = 1) -> list[EpisodeProgress]:
    """`mimic expert`: `episodes` episodes recorded into the game's demos (proved writable first:
    `ensure_writable`), with seeds from `seed` (default: `next_expert_seed`) on, `workers` at a time, said on a
    Rich `console`: what runs, on a terminal a bar per episode, then a table of the episodes and where they are.
    Stopped (Ctrl-C, SIGTERM, SIGHUP), it raises a KeyboardInterrupt saying what was kept and how to record the
    rest."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    directory, before = store.demos, set(store.episode_paths(dagger=False))
    first = next_expert_seed(store) if seed is None else seed
    seeds = [first + i for i in range(episodes)]
    after = " (after those the expert recorded there)" if seed is None and first > 0 else ""
    console.print(
        f"Expert on {game.name}: {len(seeds)} episode(s), seeds {first}..{seeds[-1]}{after}, budget {config.budget:,} "
        f"frames a decision (rollouts of {config.depth} decisions x {config.frameskip} frames), {workers} worker(s), "
        f"into {directory}/", highlight=False,
    )
    ensure_writable(directory)
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[status]}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console, disable=not console.is_terminal) as progress:
            tasks = [progress.add_task(f"episode {i + 1} (seed {s})", total=max_frames, status="waiting")
                     for i, s in enumerate(seeds)]

            def show(p: EpisodeProgress) -> None:
                status = (f"score {p.score:>7,.0f}  lives {p.lives}  {p.frames:>7,} frames  "
                          f"{p.decisions_per_s:5.1f} decisions/s")
                if p.done:  # the bar ends full, whether the game or the frame cap ended it
                    progress.update(tasks[p.index], total=p.frames, completed=p.frames, status=f"{status}  {p.ended}")
                else:
                    progress.update(tasks[p.index], completed=p.frames, status=status)

            results = play_episodes(game, config, seeds, directory=directory, max_frames=max_frames, workers=workers,
                                    report=show)
    except KeyboardInterrupt:  # Ctrl-C, SIGTERM, SIGHUP: the episodes saved before it are what is kept
        kept = len(set(store.episode_paths(dagger=False)) - before)
        raise KeyboardInterrupt(f"kept {kept} of {len(seeds)} episodes in {directory}; run "
                                f"{store.command('expert', '--episodes', str(len(seeds) - kept))} to record the rest"
                                ) from None
    console.print(episodes_table(game, results))
    console.print(f"Saved {len(results)} episode(s) to {directory}/; `mimic data ls --game {game.name}` lists them.")
    return results
