"""What a hostile but fair user can do to `mimic`, through the real CLI as a process.

Every case that fails ends with one line on stderr and a non-zero exit, never a traceback, and
nothing stored before it is lost or left unloadable. Cases that hold today stay here so they
stay held. BENCHMARKS.md counts the cases of this module.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from recorder.games import resolve_game
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
    from tests.xvfb import xdotool

    xdotool(display, "keydown", key)
    deadline = time.monotonic() + 120
    while (played := recorded_frames(display, window)) < frames:
        assert play.poll() is None, play.communicate()[0]
        assert time.monotonic() < deadline, f"the title says {played} frames after 120 s"
        time.sleep(0.05)
    return played


def recorded_frames(display: str, window: str) -> int:
    """The recording's length the window's title shows ("mimic play pacman [REC 0:21, 1,260 frames]"); 0 before
    the first frame is drawn (the title is pygame's or the game's alone)."""
    from tests.xvfb import xdotool

    title = xdotool(display, "getwindowname", window)
    found = re.search(r"\[REC \d+:\d\d, ([\d,]+) frames\]", title)
    assert found or "[REC" not in title, title
    return int(found[1].replace(",", "")) if found else 0


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
