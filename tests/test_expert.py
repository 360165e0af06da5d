"""The planning expert on the real ROMs: determinism, labelling stored states, the pool, strength, the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.planner import Expert, ExpertConfig, ExpertPool, label_states, play_episode
from recorder.games import make_env, resolve_game
from recorder.recording import EpisodeRecorder, verify_episode
from recorder.store import GameStore, load_episode
from tests.conftest import record_scripted

ROOT = Path(__file__).resolve().parent.parent
SMALL = ExpertConfig(budget=200, depth=10)


@pytest.fixture(scope="module")
def pacman_states(tmp_path_factory) -> list[bytes]:
    """Serialized states every 50 frames of a real scripted pacman recording, as the store keeps them."""
    path = record_scripted("pacman", tmp_path_factory.mktemp("rec"), frames=500, seed=3, state_every=50)
    return load_episode(path, frames=False).states


def test_config_rejects_bad_values():
    with pytest.raises(ValueError, match="budget"):
        ExpertConfig(budget=2, frameskip=4)
    with pytest.raises(ValueError, match="discount"):
        ExpertConfig(discount=0.0)
    with pytest.raises(ValueError, match="depth"):
        ExpertConfig(depth=0)


def test_same_seed_same_labels_in_any_order(pacman_states):
    game = resolve_game("pacman")
    first = Expert(game, SMALL, seed=7).label(pacman_states)
    again = Expert(game, SMALL, seed=7).label(pacman_states[::-1])[::-1]
    assert first == again
    assert all(0 <= a < game.n_actions for a in first)
    assert len(set(first)) > 1  # it reacts to the state, not a constant
    judged = Expert(game, SMALL, seed=7).judge_all(pacman_states)
    assert [j.action for j in judged] == first
    assert all(j.as_good >> j.action & 1 for j in judged)  # the set holds the action itself
    assert any(j.as_good != 1 << j.action for j in judged)  # and, somewhere, more than it


def test_action_values_are_what_the_expert_chooses_by(pacman_states):
    """The best actions by `action_values` are exactly the judgement's set, and they hold its action."""
    game = resolve_game("pacman")
    values = [Expert(game, SMALL, seed=7).action_values(s) for s in pacman_states]
    judged = Expert(game, SMALL, seed=7).judge_all(pacman_states)
    for v, judgement in zip(values, judged):
        assert v.shape == (game.n_actions,)
        best = np.flatnonzero(v >= v.max() - 1e-9)
        assert judgement.action in best
        assert judgement.as_good == sum(1 << int(a) for a in best)
    assert any(np.ptp(v) > 0 for v in values)  # somewhere the look-ahead tells the actions apart


def test_label_of_a_stored_state_is_the_action_taken_live_from_it(tmp_path):
    game = resolve_game("mspacman")
    path = record_scripted("mspacman", tmp_path, frames=1300, seed=1)
    episode = load_episode(path, frames=False)
    assert episode.state_steps.tolist()[:3] == [0, 600, 1200]
    held = [int(episode.actions[599]), int(episode.actions[1199])]
    labels = Expert(game, SMALL, seed=5).label(episode.states[1:3], held)

    # Live: replay the recorded actions in a fresh emulator and let a fresh expert act there.
    recorder = EpisodeRecorder(game, seed=episode.info.seed, player="live")
    recorder.reset()
    expert = Expert(game, SMALL, seed=5)
    expert.decide(recorder.clone_state())  # a decision elsewhere first: nothing carries over
    live = []
    for t, action in enumerate(episode.actions.tolist()):
        if t in (600, 1200):
            live.append(expert.decide(recorder.clone_state(), int(episode.actions[t - 1])))
        recorder.step(int(action))
    recorder.close()
    assert live == labels


def test_where_the_game_ignores_the_joystick_the_expert_keeps_holding():
    game = resolve_game("mspacman")  # the first seconds of Ms. Pac-Man: the maze shows, nothing moves
    recorder = EpisodeRecorder(game, seed=0, player="t")
    recorder.reset()
    start = recorder.clone_state()
    recorder.close()
    expert = Expert(game, SMALL, seed=0)
    assert [expert.decide(start, held) for held in range(game.n_actions)] == list(range(game.n_actions))
    every_action = (1 << game.n_actions) - 1
    assert expert.judge(start, 3) == (3, every_action)  # all as good as each other
    with pytest.raises(ValueError, match="previous"):
        expert.label([start], [])


def test_pool_labels_equal_serial_labels(pacman_states):
    game = resolve_game("pacman")
    held = [i % game.n_actions for i in range(len(pacman_states))]
    serial = Expert(game, SMALL, seed=11).label(pacman_states, held)
    with ExpertPool(game, SMALL, seed=11, workers=2) as pool:
        assert pool.label(pacman_states, held) == serial
        assert pool.judge_all(pacman_states, held) == Expert(game, SMALL, seed=11).judge_all(pacman_states, held)
        assert pool.label(pacman_states[:3], held[:3]) == serial[:3]  # the pool stays usable
    assert label_states(game, pacman_states[:2], held[:2], SMALL, seed=11, workers=1) == serial[:2]


def _random_score(game, seed: int, frames: int, hold: int = 4) -> float:
    env = make_env(game, max_frames=frames)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    score, done, t = 0.0, False, 0
    while not done:
        if t % hold == 0:
            action = int(rng.integers(game.n_actions))
        _, reward, terminated, truncated, _ = env.step(action)
        score, done, t = score + reward, terminated or truncated, t + 1
    env.close()
    return score


def test_expert_beats_a_random_agent_on_pacman():
    game = resolve_game("pacman")
    frames = 1000
    random_best = max(_random_score(game, seed, frames) for seed in range(3))
    result = play_episode(game, ExpertConfig(budget=400, depth=20), seed=0, max_frames=frames)
    assert result.ended == "frame_cap" and result.frames > 900
    assert result.score > 2 * random_best, (result.score, random_best)


def test_mimic_expert_records_episodes_a_person_could_have(tmp_path):
    data = tmp_path / "data"
    command = [sys.executable, "-m", "cli", "expert", "--game", "pacman", "--episodes", "2", "--workers", "2",
               "--budget", "100", "--max-frames", "300", "--seed", "4", "--data", str(data)]
    run = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "decisions/s" in run.stdout and "mean" in run.stdout
    paths = GameStore(data, "pacman").episode_paths()
    assert len(paths) == 2
    for path in paths:
        assert verify_episode(path).ok
        episode = load_episode(path, frames=False)
        info = episode.info
        assert (info.player, info.source, info.frameskip, info.sticky) == ("expert", "expert", 1, 0.0)
        assert info.seed in (4, 5) and info.extra["expert"]["budget"] == 100
        # The expert decides every 4 frames and holds its action on each of them.
        blocks = episode.actions[: len(episode) // 4 * 4].reshape(-1, 4)
        assert (blocks == blocks[:, :1]).all()
        assert (episode.labels == episode.actions).all()
    listing = subprocess.run([sys.executable, "-m", "cli", "data", "ls", "--game", "pacman", "--data", str(data)],
                             cwd=ROOT, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "200"})
    assert listing.returncode == 0 and listing.stdout.count("expert") >= 2 and paths[0].stem in listing.stdout


def test_mimic_expert_rejects_a_budget_below_one_decision(tmp_path):
    run = subprocess.run([sys.executable, "-m", "cli", "expert", "--game", "pacman", "--budget", "2",
                          "--data", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "budget" in run.stderr and "Traceback" not in run.stderr
