"""End-to-end: the real `mimic play --record` in a real window on a virtual X server (Xvfb),
real key presses sent with xdotool, then the stored episodes checked as a user would."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from recorder.games import resolve_game
from recorder.recording import verify_episode
from recorder.store import GameStore, load_episode
from tests.xvfb import find_window, wait_recorded, x_env, xdotool, xvfb

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
PACMAN = resolve_game("pacman")
A = {name: i for i, name in enumerate(PACMAN.action_names)}


@pytest.fixture(scope="module")
def display():
    with xvfb() as number:
        yield number


def start_play(display: str, data: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "cli", "play", "--record", "--game", "pacman", "--data", str(data), *options],
        cwd=ROOT, env=x_env(display), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def runs(values) -> list[tuple[int, int]]:
    return [(k, len(list(g))) for k, g in itertools.groupby(values)]


def test_keys_sent_to_the_window_are_the_actions_stored(display, tmp_path):
    data = tmp_path / "data"
    play = start_play(display, data, "--player", "e2e", "--seed", "4", "--scale", "2")
    try:
        wait_recorded(display, find_window(display), play, 6)  # the first episode is being played
        xdotool(display, "keydown", "Right")
        time.sleep(1.0)
        xdotool(display, "keyup", "Right")
        time.sleep(0.4)
        xdotool(display, "key", "2")  # half speed from here on
        xdotool(display, "keydown", "a")
        time.sleep(1.0)
        xdotool(display, "keyup", "a")
        time.sleep(0.4)
        xdotool(display, "key", "Escape")
        output, _ = play.communicate(timeout=30)
    finally:
        if play.poll() is None:
            play.kill()
    assert play.returncode == 0, output
    assert "1 episode saved" in output and "Traceback" not in output

    [path] = GameStore(data, "pacman").episode_paths()
    episode = load_episode(path)
    pattern = runs(episode.actions.tolist())
    # Nothing, Right held ~1 s, nothing, Left (the A key) held ~1 s at half speed, nothing:
    # the exact frame each key landed on depends on timing, the order and the lengths do not.
    assert [a for a, _ in pattern] == [A["NOOP"], A["RIGHT"], A["NOOP"], A["LEFT"], A["NOOP"]], pattern
    right, left = pattern[1][1], pattern[3][1]
    assert 30 <= right <= 100, f"Right held 1 s at 60 frames/s, stored for {right} frames"
    assert 15 <= left <= 50, f"A held 1 s at 30 frames/s, stored for {left} frames"
    # The 2 key (half speed) was pressed in the pause between the two holds: the speed stored
    # changes once, from 1.0 to 0.5, somewhere in that stretch of NOOP.
    speeds = runs(episode.speeds.tolist())
    assert [s for s, _ in speeds] == [1.0, 0.5], speeds
    end_right, start_left = sum(n for _, n in pattern[:2]), sum(n for _, n in pattern[:3])
    assert end_right <= speeds[0][1] <= start_left
    assert episode.labels.tolist() == episode.actions.tolist()
    assert episode.info.ended == "quit" and episode.info.player == "e2e" and episode.info.seed == 4
    assert episode.frames.shape == (len(episode) + 1, 250, 160, 3)
    assert len({f.tobytes() for f in episode.frames[:: 30]}) > 3  # the game moved
    result = verify_episode(path)
    assert result.ok, result.message


def test_sigkill_during_recording_leaves_every_finished_episode_intact(display, tmp_path):
    data = tmp_path / "data"
    demos = GameStore(data, "pacman").demos
    play = start_play(display, data, "--player", "kill", "--seed", "1", "--scale", "1", "--max-frames", "40")
    try:
        deadline = time.monotonic() + 60
        while len(list(demos.glob("*.npz"))) < 2:  # two episodes of 40 frames (2/3 s each) finished
            assert play.poll() is None, play.communicate()[0]
            assert time.monotonic() < deadline, "no finished episodes after 60 s"
            time.sleep(0.05)
        time.sleep(0.3)  # into the next episode
        os.kill(play.pid, signal.SIGKILL)
        play.wait(timeout=10)
    finally:
        if play.poll() is None:
            play.kill()
        play.stdout.close()
    assert play.returncode == -signal.SIGKILL

    episodes, damaged = GameStore(data, "pacman").scan()
    assert damaged == [] and len(episodes) >= 2
    leftovers = [p.name for p in demos.iterdir() if not p.name.endswith(".npz") or p.name.startswith(".")]
    assert all(name.startswith(".") and name.endswith((".tmp", ".journal")) for name in leftovers), leftovers
    for path, info in episodes:
        assert info.ended == "frame_cap" and info.length == 40 and info.player == "kill"
        result = verify_episode(path)
        assert result.ok, f"{path.name}: {result.message}"


def test_sigterm_saves_the_episode_in_progress(display, tmp_path):
    data = tmp_path / "data"
    play = start_play(display, data, "--player", "term", "--seed", "2", "--scale", "1")
    try:
        wait_recorded(display, find_window(display), play, 12)
        play.terminate()
        output, _ = play.communicate(timeout=30)
    finally:
        if play.poll() is None:
            play.kill()
    assert play.returncode == 0 and "1 episode saved" in output, output
    [path] = GameStore(data, "pacman").episode_paths()
    episode = load_episode(path)
    assert episode.info.ended == "quit" and len(episode) > 10
    assert verify_episode(path).ok


def test_no_display_is_one_clear_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")}
    done = subprocess.run(
        [sys.executable, "-m", "cli", "play", "--game", "pacman", "--data", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "DISPLAY" in done.stderr and "xvfb-run" in done.stderr
