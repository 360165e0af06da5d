"""End-to-end: the real `mimic dagger --expert human --mode takeover` in a real window on a virtual
X server, a real key held with xdotool while the agent plays, then the round folder checked."""

from __future__ import annotations

import itertools
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from agent.obs import ObsConfig
from agent.policy import Policy, PolicyConfig, save_checkpoint
from recorder.games import resolve_game
from recorder.recording import verify_episode
from recorder.store import NO_LABEL, GameStore, load_episode
from tests.conftest import record_scripted
from tests.xvfb import find_window, x_env, xdotool, xvfb

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parent.parent
PACMAN = resolve_game("pacman")
RIGHT = PACMAN.action_names.index("RIGHT")


def runs(values) -> list[tuple[int, int]]:
    return [(k, len(list(g))) for k, g in itertools.groupby(values)]


def test_takeover_keys_sent_to_the_window_become_the_rounds_labels(tmp_path):
    data = tmp_path / "data"
    store = GameStore(data, "pacman")
    record_scripted("pacman", store.demos, frames=300, seed=0)  # something for the retraining to start from
    torch.manual_seed(0)
    save_checkpoint(store.models / "best.pt", Policy(PolicyConfig(n_actions=PACMAN.n_actions)), PACMAN, ObsConfig())

    with xvfb() as display:
        dagger = subprocess.Popen(
            [sys.executable, "-m", "cli", "dagger", "--game", "pacman", "--expert", "human", "--mode", "takeover",
             "--rounds", "1", "--episodes", "1", "--max-frames", "360", "--epochs", "1", "--eval-episodes", "1",
             "--eval-max-frames", "200", "--scale", "2", "--data", str(data)],
            cwd=ROOT, env=x_env(display, OMP_NUM_THREADS="1"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            find_window(display)  # opens after the starting policy's evaluation
            time.sleep(0.5)  # the agent plays alone
            xdotool(display, "keydown", "Right")
            time.sleep(1.0)  # the person holds Right for a second
            xdotool(display, "keyup", "Right")
            output, _ = dagger.communicate(timeout=180)  # the rollout ends at 360 frames, then retrain + eval
        finally:
            if dagger.poll() is None:
                dagger.kill()
                dagger.communicate()
    assert dagger.returncode == 0, output
    assert "Traceback" not in output
    assert "take over: hold the game keys" in output and "Esc" in output  # told before the window opened
    assert "decisions labelled by you" in output and "round 1" in output

    folder = store.dagger_round(1)
    [path] = sorted(folder.glob("*.npz"))
    assert (folder / "round.json").is_file()
    episode = load_episode(path)
    assert episode.info.source == "dagger" and episode.info.extra["mode"] == "takeover"
    assert len(episode) == 360 and episode.info.ended == "frame_cap"
    pattern = runs(episode.labels.tolist())
    # Unlabelled while the agent played, RIGHT while the key was held (1 s, 60 frames a second), then
    # unlabelled again: the exact frames depend on timing, the order and the length do not.
    assert [label for label, _ in pattern] == [NO_LABEL, RIGHT, NO_LABEL], pattern
    assert 30 <= pattern[1][1] <= 100, f"Right held 1 s, labelled for {pattern[1][1]} frames"
    held = episode.labels >= 0
    assert (episode.actions[held] == RIGHT).all()  # the key drove the game while held
    result = verify_episode(path)
    assert result.ok, result.message
