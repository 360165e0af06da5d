"""A real X server for end-to-end tests: a fresh Xvfb on a free display number, and xdotool."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest


@contextmanager
def xvfb() -> Iterator[str]:
    """Start Xvfb on a free display number (Xvfb picks it and writes it to -displayfd); yield ":N"."""
    for tool in ("Xvfb", "xdotool"):
        if shutil.which(tool) is None:
            pytest.fail(f"{tool} is missing: install xvfb and xdotool (make system-deps)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_end), "-screen", "0", "1280x1100x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_end)
    with os.fdopen(read_end) as pipe:
        number = pipe.readline().strip()
    if not number:
        server.kill()
        pytest.fail("Xvfb did not start")
    try:
        yield f":{number}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def x_env(display: str, **extra: str) -> dict[str, str]:
    """The environment of a process that opens its window on `display` (no dummy video driver)."""
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    return env | {"DISPLAY": display} | extra


def _run_xdotool(display: str, *args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run(["xdotool", *args], env=x_env(display), capture_output=True, text=True, timeout=timeout)


def xdotool(display: str, *args: str, timeout: float = 30) -> str:
    done = _run_xdotool(display, *args, timeout=timeout)
    assert done.returncode == 0, f"xdotool {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def find_window(display: str, timeout: float = 60.0) -> str:
    """The game window (X11 class "mimic") once it is mapped; the pointer moved onto it.

    A window the search finds can be gone by the time the pointer moves (BadWindow: seen once
    in a clean-clone run, not reproduced); then search again, until one stays or `timeout` passes.
    """
    deadline = time.monotonic() + timeout
    while True:
        window = xdotool(display, "search", "--sync", "--onlyvisible", "--classname", "^mimic$",
                         timeout=timeout).split()[0]
        moved = _run_xdotool(display, "mousemove", "--window", window, "40", "40")
        if moved.returncode == 0:
            return window
        if "BadWindow" not in moved.stderr or time.monotonic() > deadline:
            pytest.fail(f"xdotool mousemove --window {window}: {moved.stderr}")
        time.sleep(0.1)


def recorded_frames(display: str, window: str) -> int:
    """The recording's length the window's title shows ("mimic play pacman [REC 0:21, 1,260 frames]"); 0 before
    the first frame is drawn (the title is pygame's or the game's alone)."""
    title = xdotool(display, "getwindowname", window)
    found = re.search(r"\[REC \d+:\d\d, ([\d,]+) frames\]", title)
    assert found or "[REC" not in title, title
    return int(found[1].replace(",", "")) if found else 0


def wait_recorded(display: str, window: str, process: subprocess.Popen, frames: int, timeout: float = 120) -> int:
    """Wait until the window's title says the recording is at least `frames` long (a loaded machine may take a
    while to play the first frames); the frames it says then."""
    deadline = time.monotonic() + timeout
    while (played := recorded_frames(display, window)) < frames:
        assert process.poll() is None, process.communicate()[0]
        assert time.monotonic() < deadline, f"the title says {played} frames after {timeout} s"
        time.sleep(0.05)
    return played
