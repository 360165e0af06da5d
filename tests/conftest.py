"""Shared fixtures: small real recordings on the real ROMs."""

from __future__ import annotations

import signal
from pathlib import Path

import numpy as np
import pytest

from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder

# The tests stop mimic as a terminal does (Ctrl-C, kill, hang-up). Started in the background or under nohup,
# pytest gets some of these signals ignored, and every process it starts would inherit that (mimic leaves an
# ignored signal ignored): undo it here, once, as a terminal's command has them.
for _signum, _handler in ((signal.SIGINT, signal.default_int_handler), (signal.SIGTERM, signal.SIG_DFL),
                          (signal.SIGHUP, signal.SIG_DFL)):
    if signal.getsignal(_signum) is signal.SIG_IGN:
        signal.signal(_signum, _handler)


def record_scripted(game_name: str, directory: Path, *, frames: int, seed: int = 0, player: str = "test",
                    hold: int = 8, state_every: int = 600) -> Path:
    """Record `frames` emulator frames of the real game, changing the held action every `hold` frames."""
    game = resolve_game(game_name)
    rng = np.random.default_rng(seed)
    recorder = EpisodeRecorder(game, seed=seed, player=player, state_every=state_every)
    recorder.reset()
    action = 0
    while not recorder.done and recorder.length < frames:
        if recorder.length % hold == 0:
            action = int(rng.integers(game.n_actions))
        recorder.step(action)
    return recorder.save(directory)


@pytest.fixture
def data_root(tmp_path: Path) -> Path:
    return tmp_path / "data"
