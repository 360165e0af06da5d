"""What a hostile but fair user can do to `mimic`, through the real CLI as a process.

Every case that fails ends with one line on stderr and a non-zero exit, never a traceback, and
nothing stored before it is lost or left unloadable. Cases that hold today stay here so they
stay held. BENCHMARKS.md counts the cases of this module.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from recorder.games import resolve_game
from recorder.store import LOCK_NAME, GameStore, load_episode
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


DAGGER_TINY = ("--rounds", "1", "--episodes", "1", "--max-frames", "100", "--epochs", "1", "--eval-episodes", "1",
               "--eval-max-frames", "200", "--budget", "40", "--workers", "1")
EXPERT_TINY = ("--episodes", "1", "--max-frames", "200", "--budget", "40", "--depth", "5", "--workers", "1")


@contextmanager
def tmpfs(where: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of `size` mounted at `where` (tests run as root), unmounted afterwards."""
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=True)


def fill(disk: Path, leave: int) -> None:
    """Fill the file system of `disk` until `leave` bytes are free."""
    free = os.statvfs(disk)
    (disk / "filler").write_bytes(bytes(free.f_bavail * free.f_frsize - leave))


def files(root: Path) -> dict[str, bytes]:
    """Every file under `root` by relative path, with its bytes (hidden lock files aside)."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != LOCK_NAME}


def no_temporaries(root: Path) -> bool:
    return not [p for p in root.rglob(".*") if ".tmp" in p.name]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> GameStore:
    """A data root (shared, copy it before writing) with two Pac-Man episodes and a one-epoch training."""
    from agent.train import TrainConfig, train_game

    store = GameStore(tmp_path_factory.mktemp("trained") / "data", "pacman")
    for seed in (0, 1):
        record_scripted("pacman", store.demos, frames=60, seed=seed, player="ana")
    train_game(store, resolve_game("pacman"), TrainConfig(epochs=1, device="cpu"))
    return store


def copy_of(store: GameStore, root: Path) -> GameStore:
    shutil.copytree(store.root, root)
    return GameStore(root, store.game)


@pytest.fixture(scope="module")
def read_only(trained, tmp_path_factory) -> Iterator[GameStore]:
    """The trained data root on a read-only file system."""
    with tmpfs(tmp_path_factory.mktemp("ro"), "64M") as disk:
        store = copy_of(trained, disk / "data")
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        yield store


READ_ONLY = {
    "play": ("play", "--game", "pacman", "--record"),  # with no display: the store's line comes first
    "expert": ("expert", "--game", "pacman", *EXPERT_TINY),
    "train": ("train", "--game", "pacman", "--epochs", "1"),
    "eval": ("eval", "--game", "pacman", "--episodes", "1", "--max-frames", "200"),
    "dagger": ("dagger", "--game", "pacman", *DAGGER_TINY),
}


@pytest.mark.parametrize("command", [*READ_ONLY, "watch --video", "data rm"])
def test_a_read_only_data_root_is_one_line_before_any_work(read_only, command):
    before = files(read_only.root)
    others = {"watch --video": ("watch", "--game", "pacman", "--video", str(read_only.root / "clips" / "agent.mp4")),
              "data rm": ("data", "rm", read_only.episode_paths()[0].stem, "--game", "pacman", "--yes")}
    args = READ_ONLY.get(command) or others[command]
    ran = mimic(*args, "--data", str(read_only.root), env={"DISPLAY": ""}, timeout=120)
    failed_in_one_line(ran, "read-only", str(read_only.root))
    assert files(read_only.root) == before


@pytest.mark.parametrize("command", ["play", "expert", "train"])
def test_a_data_root_that_is_a_file_is_one_line(tmp_path, command):
    root = tmp_path / "data"
    root.write_text("my notes")
    ran = mimic(*READ_ONLY[command], "--data", str(root), env={"DISPLAY": ""}, timeout=120)
    failed_in_one_line(ran, str(root), "is a file")
    assert root.read_text() == "my notes"


def test_a_full_disk_stops_the_expert_in_one_line_and_keeps_every_episode(pacman, tmp_path):
    with tmpfs(tmp_path / "disk", "1M") as disk:
        store = copy_of(pacman, disk / "data")
        before = files(store.root)
        fill(disk, leave=8 * 1024)  # room to prove the folder writable, not for the episode
        ran = mimic("expert", "--game", "pacman", *EXPERT_TINY, "--data", str(store.root), timeout=180)
        failed_in_one_line(ran, "the disk is full", str(store.demos))
        assert files(store.root) == before and loadable(store) == 2
        assert no_temporaries(disk)


def test_a_full_disk_stops_training_in_one_line_and_keeps_every_checkpoint(trained, tmp_path):
    from agent.policy import load_checkpoint

    with tmpfs(tmp_path / "disk", "48M") as disk:
        store = copy_of(trained, disk / "data")
        before = {name: data for name, data in files(store.root).items() if name.endswith(".pt")}
        fill(disk, leave=1 << 20)
        ran = mimic("train", "--game", "pacman", "--epochs", "1", "--data", str(store.root), timeout=180)
        failed_in_one_line(ran, "the disk is full", str(store.models))
        for name in ("avg.pt", "best.pt", "last.pt"):
            assert (store.models / name).read_bytes() == before[f"pacman/models/{name}"]
            load_checkpoint(store.models / name, resolve_game("pacman"))
        assert no_temporaries(disk)


def test_a_second_training_into_one_folder_is_refused_and_the_first_keeps_the_last_ones(trained, tmp_path):
    store = copy_of(trained, tmp_path / "data")
    before = {name: (store.models / name).read_bytes() for name in ("avg.pt", "best.pt", "last.pt")}
    (store.models / "dagger-round-001").mkdir()
    (store.models / "dagger-round-001" / "avg.pt").write_bytes(b"a round's weights")
    first = subprocess.Popen([sys.executable, "-m", "cli", "train", "--game", "pacman", "--epochs", "1", "--data",
                              str(store.root)], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (store.models / LOCK_NAME).read_text().startswith(f"{first.pid} "):
            assert first.poll() is None and time.monotonic() < deadline, first.communicate()
            time.sleep(0.05)
        first.send_signal(signal.SIGSTOP)  # the first holds the folder while the second tries
        second = mimic("train", "--game", "pacman", "--epochs", "1", "--data", str(store.root), timeout=120)
        failed_in_one_line(second, str(store.models), f"pid {first.pid}", "mimic train")
        first.send_signal(signal.SIGCONT)
        out, err = first.communicate(timeout=180)
    finally:
        first.kill()
    assert first.returncode == 0 and "Traceback" not in err, err
    assert "previous" in out.splitlines()[0]  # said at the start, in one line
    for name, data in before.items():
        assert (store.models / "previous" / name).read_bytes() == data
    assert (store.models / "avg.pt").read_bytes() != before["avg.pt"]  # the new training's own
    assert (store.models / "dagger-round-001" / "avg.pt").read_bytes() == b"a round's weights"


def test_demo_refuses_a_data_root_holding_the_users_data(trained, tmp_path):
    store = copy_of(trained, tmp_path / "data")
    before = files(store.root)
    ran = mimic("demo", "--game", "pacman", "--quick", "--data", str(store.root), timeout=120)
    failed_in_one_line(ran, str(store.root), "did not make", "--data")
    assert files(store.root) == before


def test_verify_names_an_episode_with_actions_out_of_range_and_verifies_the_others(pacman):
    good = pacman.episode_paths()
    with np.load(good[0]) as data:
        arrays = {name: data[name] for name in data.files}
    arrays["actions"] = arrays["actions"].copy()
    arrays["actions"][7] = 200
    np.savez_compressed(pacman.demos / "outofrange.npz", **arrays)
    ran = mimic("data", "verify", "--game", "pacman", "--data", str(pacman.root))
    failed_in_one_line(ran, "1 of 3")
    lines = ran.out.splitlines()
    assert any("outofrange.npz" in line and "out of range" in line for line in lines), ran.out
    for path in good:
        assert any(path.name in line and line.startswith("ok") for line in lines), ran.out


def test_a_damaged_round_json_is_one_warning_and_the_round_is_redone(trained, tmp_path):
    store = copy_of(trained, tmp_path / "data")
    folder = store.dagger_round(1)
    folder.mkdir(parents=True)
    rollout = folder / "rollout.npz"
    shutil.copy(store.episode_paths()[0], rollout)  # the round's rollout, stored before the damage
    (folder / "round.json").write_text('{"round": 1, "beta"')
    ran = mimic("dagger", "--game", "pacman", *DAGGER_TINY, "--data", str(store.root), timeout=300)
    assert ran.code == 0 and "Traceback" not in ran.err, ran.err
    warnings = [line for line in ran.err_lines if line.startswith("warning:")]
    assert len(warnings) == 1 and "round.json" in warnings[0] and "unfinished" in warnings[0], ran.err
    assert json.loads((folder / "round.json").read_text())["round"] == 1
    assert rollout.read_bytes() == store.episode_paths()[0].read_bytes()


def test_a_video_path_naming_a_folder_is_one_line(trained, tmp_path):
    folder = tmp_path / "clips.mp4"
    folder.mkdir()
    ran = mimic("watch", "--game", "pacman", "--video", str(folder), "--data", str(trained.root))
    failed_in_one_line(ran, str(folder), "folder")
    assert not list(folder.iterdir())


def test_temporaries_of_killed_writers_are_removed_and_a_live_writers_kept(pacman):
    gone = subprocess.Popen([sys.executable, "-c", ""])
    gone.wait()
    stale = [pacman.demos / f".a.npz.{gone.pid}-0a1b2c.tmp", pacman.models / f".last.pt.{gone.pid}-0a1b2c.tmp",
             pacman.videos / f".agent.{gone.pid}-0a1b2c.tmp.mp4"]
    live = pacman.demos / f".b.npz.{os.getpid()}-0a1b2c.tmp"
    for path in (*stale, live):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"partial")
    ran = mimic("data", "ls", "--game", "pacman", "--data", str(pacman.root))
    assert ran.code == 0 and "2 episodes" in ran.out, ran.out + ran.err
    assert not any(path.exists() for path in stale) and live.exists()


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
def trained_root(tmp_path_factory) -> Path:
    """A data root with two short Pac-Man episodes and a policy trained on them for one epoch."""
    root = tmp_path_factory.mktemp("trained") / "data"
    for seed in (0, 1):
        record_scripted("pacman", GameStore(root, "pacman").demos, frames=60, seed=seed, player="ana")
    ran = mimic("train", "--game", "pacman", "--epochs", "1", "--data", str(root))
    assert ran.code == 0, ran.err
    return root


@pytest.fixture
def policy(trained_root, tmp_path) -> GameStore:
    """A copy of `trained_root` for one test."""
    shutil.copytree(trained_root, tmp_path / "data")
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
    assert no_temporaries(pacman.models)


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

JOURNAL_LOSS = 120  # frames (2 s of play) a kill may lose at most
PACMAN_ACTIONS = resolve_game("pacman").action_names


@pytest.fixture(scope="module")
def display():
    from tests.xvfb import xvfb

    with xvfb() as number:
        yield number


def record_in_window(display: str, data: Path, *options: str) -> tuple[subprocess.Popen, str]:
    """`mimic play --record` in a real window on `display`, and that window once it is up."""
    from tests.xvfb import find_window, x_env

    play = subprocess.Popen([sys.executable, "-m", "cli", "play", "--record", "--game", "pacman", "--data", str(data),
                             "--player", "ana", "--scale", "1", *options], cwd=REPO, env=x_env(display),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return play, find_window(display)


def play_until(display: str, window: str, play: subprocess.Popen, key: str, frames: int) -> int:
    """Hold `key` until the window's title says the recording is `frames` long; the frames it says then."""
    from tests.xvfb import wait_recorded, xdotool

    xdotool(display, "keydown", key)
    return wait_recorded(display, window, play, frames)


def test_a_recording_killed_midway_is_recovered_by_the_next_run_but_2_s_at_most(display, data_root):
    from tests.xvfb import xdotool

    store = GameStore(data_root, "pacman")
    play, window = record_in_window(display, data_root, "--seed", "5")
    try:
        play_until(display, window, play, "Right", 200)
        xdotool(display, "keyup", "Right")
        played = play_until(display, window, play, "Left", 400)  # read right before the kill
        os.kill(play.pid, signal.SIGKILL)
        play.communicate(timeout=60)
    finally:
        if play.poll() is None:
            play.kill()
        xdotool(display, "keyup", "Left")
    assert play.returncode == -signal.SIGKILL and store.episode_paths() == [] and len(store.journals()) == 1

    listed = mimic("data", "ls", "--data", str(data_root))
    assert listed.code == 0 and "Traceback" not in listed.err, listed.err
    [line] = listed.err_lines
    assert line.startswith("recovered an unfinished episode of pacman: ") and "by ana" in line, line
    [path] = store.episode_paths()
    assert line.endswith(f"now {path.stem}") and path.stem in listed.out and "interrupted" in listed.out
    episode = load_episode(path)
    lost = played - len(episode)
    print(f"SIGKILL: the title said {played} frames played, {len(episode)} recovered, {lost} lost")
    assert -JOURNAL_LOSS < lost <= JOURNAL_LOSS, f"{lost} frames lost"
    assert f"{len(episode):,} frames" in line and episode.info.ended == "interrupted" and episode.info.player == "ana"
    assert {"RIGHT", "LEFT"} <= {PACMAN_ACTIONS[a] for a in episode.actions.tolist()}  # the keys held are in it
    assert store.journals() == [] and not [p for p in store.demos.iterdir() if p != path]

    verified = mimic("data", "verify", "--data", str(data_root))
    assert verified.code == 0 and "All 1 episodes replay exactly" in verified.out, verified.out + verified.err
    again = mimic("data", "ls", "--data", str(data_root))
    assert again.code == 0 and again.err == "" and store.episode_paths() == [path]


@pytest.mark.parametrize("how", ["SIGHUP (the terminal closed)", "X connection lost", "window destroyed"])
def test_a_recording_stopped_from_outside_is_saved_whole_at_once(display, data_root, how):
    from tests.xvfb import xdotool

    store = GameStore(data_root, "pacman")
    play, window = record_in_window(display, data_root, "--seed", "6")
    try:
        played = play_until(display, window, play, "Right", 150)
        if how.startswith("SIGHUP"):
            play.send_signal(signal.SIGHUP)
        else:  # the X server drops the connection / the window goes, as a window manager's kill does
            xdotool(display, "windowkill" if how == "X connection lost" else "windowclose", window)
        output, _ = play.communicate(timeout=60)
    finally:
        if play.poll() is None:
            play.kill()
        xdotool(display, "keyup", "Right")
    assert "Traceback" not in output and store.journals() == [], output
    [path] = store.episode_paths()
    if how == "X connection lost":  # the process ends with its display, one line saying so
        assert play.returncode == 1 and output.splitlines()[1:] == [
            f"error: the connection to the display was lost; the episode in progress is saved: {path}"], output
    else:
        assert play.returncode == 0 and "1 episode saved" in output, output
    episode = load_episode(path)
    assert episode.info.ended == "quit" and len(episode) >= played
    assert "RIGHT" in {PACMAN_ACTIONS[a] for a in episode.actions.tolist()}
    listed = mimic("data", "ls", "--data", str(data_root))
    assert listed.code == 0 and listed.err == "" and path.stem in listed.out
