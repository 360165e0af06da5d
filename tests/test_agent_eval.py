"""Evaluation under the protocol, on the real ROM with a short frame cap."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from agent.evaluate import EvalConfig, evaluate_checkpoint, human_normalized
from agent.obs import ObsConfig
from agent.policy import CheckpointError, Policy, PolicyConfig, save_checkpoint
from recorder.games import resolve_game
from recorder.store import GameStore
from tests.conftest import record_scripted


@pytest.fixture
def pacman_checkpoint(tmp_path):
    game = resolve_game("pacman")
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(n_actions=game.n_actions))
    return save_checkpoint(tmp_path / "models" / "best.pt", policy, game, ObsConfig())


def test_eval_on_two_short_episodes_reports_agent_random_and_players(tmp_path, pacman_checkpoint):
    game = resolve_game("pacman")
    store = GameStore(tmp_path / "data", "pacman")
    demos = [record_scripted("pacman", store.demos, frames=200, seed=s, player="ana") for s in range(2)]
    config = EvalConfig(episodes=2, envs=2, max_frames=400, seed=3)
    report, saved = evaluate_checkpoint(pacman_checkpoint, game, config, store=store)
    for scores in (report.agent, report.random):
        assert scores.n == 2 and len(scores.lengths) == 2
        assert all(0 < length <= 400 for length in scores.lengths)
        assert scores.min <= scores.median <= scores.max
    assert report.players_episodes == 2
    from recorder.store import read_info

    assert report.players_mean == pytest.approx(np.mean([read_info(p).score for p in demos]))
    assert "NOT the standard protocol" in report.protocol and "frame cap 400" in report.protocol
    assert "sticky actions 0.25" in report.protocol and not report.standard
    assert report.agent_normalized is None  # no published reference for 2600 Pac-Man
    assert saved.parent == store.reports
    on_disk = json.loads(saved.read_text())
    assert on_disk["agent"]["scores"] == report.agent.scores and on_disk["random"]["episodes"] == 2


def test_the_standard_protocol_is_named_as_such():
    config = EvalConfig()
    assert config.standard and (config.sticky, config.noop_max, config.max_frames) == (0.25, 30, 108_000)
    assert "NOT" not in config.protocol(ObsConfig()) and "108,000-frame cap" in config.protocol(ObsConfig())


def test_human_normalized_uses_the_published_mspacman_numbers():
    assert human_normalized("mspacman", 307.3) == pytest.approx(0.0)
    assert human_normalized("mspacman", 6951.6) == pytest.approx(100.0)
    assert human_normalized("pacman", 1000.0) is None


def test_a_checkpoint_for_another_game_is_refused_in_one_line(pacman_checkpoint):
    with pytest.raises(CheckpointError) as info:
        evaluate_checkpoint(pacman_checkpoint, resolve_game("mspacman"), EvalConfig(episodes=1), save=False)
    assert "pacman" in str(info.value) and "mspacman" in str(info.value) and "\n" not in str(info.value)
