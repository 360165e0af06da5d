"""What a hostile but fair user can do to `mimic`, through the real CLI as a process.

Every case that fails ends with one line on stderr and a non-zero exit, never a traceback, and
nothing stored before it is lost or left unloadable. Cases that hold today stay here so they
stay held. BENCHMARKS.md counts the cases of this module.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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


# ---------------------------------------------------------------------------------------------
# A person's play survives a kill: the episode in progress is journalled and recovered
# (section "journal")
