"""What a hostile but fair user can do to `mimic`, through the real CLI as a process.

Every case that fails ends with one line on stderr and a non-zero exit, never a traceback, and
nothing stored before it is lost or left unloadable. Cases that hold today stay here so they
stay held. BENCHMARKS.md counts the cases of this module.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from recorder.store import GameStore, load_episode
from tests.conftest import record_scripted

REPO = Path(__file__).resolve().parent.parent


@dataclass
class Ran:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return [line for line in self.err.splitlines() if line.strip()]


def mimic(*args: str, cwd: Path = REPO, timeout: float = 300, env: dict[str, str] | None = None) -> Ran:
    """`mimic ARGS` as a real process, its output to pipes (as a user's `mimic ... > log`)."""
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MIMIC_DATA")}
    done = subprocess.run([sys.executable, "-m", "cli", *args], cwd=cwd, env=base | (env or {}),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    return Ran(done.returncode, done.stdout, done.stderr)


def failed_in_one_line(ran: Ran, *words: str) -> str:
    """The case failed as a user should see it: a non-zero exit, one `error:` line naming `words`, no traceback."""
    assert "Traceback" not in ran.out + ran.err, ran.err
    assert ran.code != 0, ran.out
    errors = [line for line in ran.err_lines if line.startswith("error:")]
    assert len(errors) == 1 and len(ran.err_lines) == 1, ran.err
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def loadable(store: GameStore) -> int:
    """Every episode file of the game loads; returns how many there are."""
    paths = store.episode_paths()
    for path in paths:
        load_episode(path)
    return len(paths)


@pytest.fixture
def pacman(data_root: Path) -> GameStore:
    """A data root with two short recorded Pac-Man episodes."""
    store = GameStore(data_root, "pacman")
    for seed in (0, 1):
        record_scripted("pacman", store.demos, frames=60, seed=seed, player="ana")
    return store


# ---------------------------------------------------------------------------------------------
# Bad arguments and damaged files: one line each (these held before and stay held)

BAD_ARGUMENTS = [
    (("train", "--game", "nosuchgame"), "nosuchgame"),
    (("train", "--game", "pacman", "--epochs", "0"), "epochs"),
    (("train", "--game", "pacman", "--lr", "-1"), "learning rate"),
    (("eval", "--game", "pacman", "--checkpoint", "missing.pt"), "missing.pt"),
    (("watch", "--game", "pacman", "--checkpoint", "missing.pt"), "missing.pt"),
    (("dagger", "--game", "pacman", "--checkpoint", "missing.pt"), "missing.pt"),
    (("data", "rm", "nosuchepisode", "--game", "pacman"), "nosuchepisode"),
    (("expert", "--game", "pacman", "--budget", "1", "--frameskip", "4"), "budget"),
]


@pytest.mark.parametrize("args, word", BAD_ARGUMENTS, ids=[" ".join(a) for a, _ in BAD_ARGUMENTS])
def test_a_bad_argument_is_one_line(pacman, args, word):
    before = loadable(pacman)
    failed_in_one_line(mimic(*args, "--data", str(pacman.root)), word)
    assert loadable(pacman) == before


def test_a_damaged_checkpoint_is_one_line(pacman):
    pacman.models.mkdir(parents=True)
    (pacman.models / "avg.pt").write_bytes(b"not a checkpoint")
    for command in ("eval", "watch", "dagger"):
        failed_in_one_line(mimic(command, "--game", "pacman", "--data", str(pacman.root)), "avg.pt")


def test_a_damaged_episode_is_named_and_skipped_by_ls_and_train(pacman):
    (pacman.demos / "zero.npz").write_bytes(b"")
    listed = mimic("data", "ls", "--game", "pacman", "--data", str(pacman.root))
    assert listed.code == 0 and "zero.npz" in listed.err and "Traceback" not in listed.err
    trained = mimic("train", "--game", "pacman", "--data", str(pacman.root), "--epochs", "1")
    assert trained.code == 0 and "zero.npz" in trained.err and "Traceback" not in trained.err, trained.err
    assert (pacman.models / "avg.pt").is_file()


# ---------------------------------------------------------------------------------------------
# Where the data cannot be written: read-only, a file, a full disk; locks; checkpoints kept
# (section "store")


# ---------------------------------------------------------------------------------------------
# Signals and worker processes: Ctrl-C, SIGTERM, orphans; DAgger and damaged files; expert seeds
# (section "processes")

# Long enough to be stopped: two workers, four episodes of a few seconds each.
EXPERT = ("expert", "--game", "pacman", "--episodes", "4", "--workers", "2", "--max-frames", "800", "--budget", "40",
          "--depth", "5")
DAGGER = ("dagger", "--game", "pacman", "--rounds", "1", "--episodes", "1", "--max-frames", "200", "--epochs", "1",
          "--eval-episodes", "1", "--eval-max-frames", "200", "--budget", "20", "--workers", "2")


def start(*args: str) -> subprocess.Popen:
    """`mimic ARGS` as a real process leading its own session and process group, as a terminal starts a command."""
    base = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "MIMIC_DATA")}
    return subprocess.Popen([sys.executable, "-m", "cli", *args], cwd=REPO, env=base, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def session_processes(session: int) -> list[str]:
    """The processes of a session still alive (zombies aside), each as "pid command line"."""
    alive = []
    for entry in Path("/proc").iterdir():
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if entry.name.isdigit() and int(fields[3]) == session and fields[0] != "Z":
                command = (entry / "cmdline").read_bytes().replace(bytes(1), b" ").decode()
                alive.append(f"{entry.name} {command}")
        except (OSError, IndexError, ValueError):
            continue  # not a process, or it ended while being read
    return alive


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"waited {timeout:.0f} s for {what}"
        time.sleep(0.1)
    return value


def stopped(process: subprocess.Popen, send, timeout: float = 60) -> Ran:
    """`send(process)` a signal; the process's outcome, once it and every process of its session have ended."""
    send(process)
    out, err = process.communicate(timeout=timeout)  # its output ends when every process holding it has ended
    deadline = time.monotonic() + 15
    while (left := session_processes(process.pid)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not left, f"still running after the command ended: {left}"
    return Ran(process.returncode, out, err)


def interrupted_in_one_line(ran: Ran, *words: str) -> str:
    assert ran.code == 130, ran.err
    return failed_in_one_line(ran, "stopped", *words)


@pytest.mark.parametrize("send", [
    lambda p: os.killpg(p.pid, signal.SIGINT),  # Ctrl-C: the terminal signals the whole foreground group
    lambda p: os.kill(p.pid, signal.SIGTERM),  # kill PID: the main process alone
    lambda p: os.kill(p.pid, signal.SIGKILL),  # kill -9 PID: the workers are left to themselves
], ids=["SIGINT to the group", "SIGTERM to the main process", "SIGKILL to the main process"])
def test_a_stopped_expert_keeps_its_finished_episodes_and_leaves_no_process(data_root, send):
    store = GameStore(data_root, "pacman")
    expert = start(*EXPERT, "--data", str(data_root))
    try:
        wait_for(store.episode_paths, 240, "the expert's first episode")
        ran = stopped(expert, send)
    finally:
        if expert.poll() is None:
            os.killpg(expert.pid, signal.SIGKILL)
    kept = loadable(store)
    assert 1 <= kept < 4
    if ran.code == -signal.SIGKILL:
        return
    line = interrupted_in_one_line(ran, f"kept {kept} of 4 episodes", str(store.demos), f"--episodes {4 - kept}")
    assert "mimic expert --game pacman" in line


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A data root with two short Pac-Man episodes and a policy trained on them for one epoch."""
    root = tmp_path_factory.mktemp("trained") / "data"
    for seed in (0, 1):
        record_scripted("pacman", GameStore(root, "pacman").demos, frames=60, seed=seed, player="ana")
    ran = mimic("train", "--game", "pacman", "--epochs", "1", "--data", str(root))
    assert ran.code == 0, ran.err
    return root


@pytest.fixture
def policy(trained, tmp_path) -> GameStore:
    """A copy of `trained` for one test."""
    shutil.copytree(trained, tmp_path / "data")
    return GameStore(tmp_path / "data", "pacman")


def test_a_training_stopped_keeps_its_finished_epochs_and_says_resume(pacman):
    from agent.policy import load_checkpoint
    from recorder.games import resolve_game

    kept = [pacman.models / name for name in ("last.pt", "best.pt", "avg.pt")]
    training = start("train", "--game", "pacman", "--epochs", "1000", "--data", str(pacman.root))
    try:
        wait_for(lambda: all(path.is_file() for path in kept), 240, "the first epoch's checkpoints")
        ran = stopped(training, lambda p: os.kill(p.pid, signal.SIGTERM))
    finally:
        if training.poll() is None:
            os.killpg(training.pid, signal.SIGKILL)
    interrupted_in_one_line(ran, "--resume", str(pacman.models))
    for path in kept:
        load_checkpoint(path, resolve_game("pacman"))
    assert not [p.name for p in pacman.models.iterdir() if p.name.startswith(".")]


def test_a_video_stopped_leaves_no_partial_file(policy, tmp_path):
    video = tmp_path / "videos" / "agent.mp4"
    watching = start("watch", "--game", "pacman", "--video", str(video), "--max-frames", "100000",
                     "--data", str(policy.root))
    try:
        wait_for(lambda: video.parent.is_dir() and any(video.parent.iterdir()), 240, "the video being written")
        ran = stopped(watching, lambda p: os.killpg(p.pid, signal.SIGINT))
    finally:
        if watching.poll() is None:
            os.killpg(watching.pid, signal.SIGKILL)
    interrupted_in_one_line(ran, "no video written", str(video))
    assert list(video.parent.iterdir()) == []


def test_a_dagger_stopped_by_ctrl_c_prints_one_line_and_leaves_no_worker(policy):
    dagger = start(*DAGGER, "--data", str(policy.root))
    try:
        spawned = lambda: [p for p in session_processes(dagger.pid) if "spawn_main" in p]  # noqa: E731
        wait_for(lambda: len(spawned()) >= 2, 240, "the planner's two workers")
        ran = stopped(dagger, lambda p: os.killpg(p.pid, signal.SIGINT))
    finally:
        if dagger.poll() is None:
            os.killpg(dagger.pid, signal.SIGKILL)
    interrupted_in_one_line(ran, "0 of 1 rounds finished", str(policy.dagger_round(1)), "run the same command")
    loadable(policy)


def test_dagger_skips_a_damaged_episode_with_one_warning(policy):
    (policy.demos / "zero.npz").write_bytes(b"")
    ran = mimic(*DAGGER, "--data", str(policy.root))
    assert ran.code == 0 and "Traceback" not in ran.err, ran.err
    assert [line for line in ran.err_lines if "zero.npz" in line] == ran.err_lines and len(ran.err_lines) == 1, ran.err
    assert ran.err_lines[0].startswith("warning:")
    assert (policy.dagger_round(1) / "round.json").is_file()


def test_a_second_expert_run_plays_new_seeds_unless_told(data_root):
    store = GameStore(data_root, "pacman")
    tiny = ("expert", "--game", "pacman", "--episodes", "1", "--workers", "1", "--max-frames", "500", "--budget", "40",
            "--depth", "5", "--data", str(data_root))
    runs = [mimic(*tiny), mimic(*tiny), mimic(*tiny, "--seed", "0")]
    assert [run.code for run in runs] == [0, 0, 0], runs[-1].err
    assert "seeds 0..0" in runs[0].out and "seeds 1..1" in runs[1].out and "seeds 0..0" in runs[2].out
    episodes = [load_episode(path) for path in sorted(store.episode_paths(), key=lambda path: path.stat().st_mtime)]
    assert [e.info.seed for e in episodes] == [0, 1, 0]
    assert not np.array_equal(episodes[0].frames, episodes[1].frames)
    assert np.array_equal(episodes[0].frames, episodes[2].frames)


# ---------------------------------------------------------------------------------------------
# A person's play survives a kill: the episode in progress is journalled and recovered
# (section "journal")
