"""The one decision loop on the real ROM: the environment step, the driver, the controllers."""

from __future__ import annotations

import numpy as np
import pytest

from agent.env import protocol_envs, recording_env
from agent.obs import ObsConfig, episode_observations, grayscale
from agent.rollout import Decisions, RandomController, play
from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder
from recorder.store import load_episode


class Watching:
    """A random controller that keeps every observation it was shown."""

    def __init__(self, n_actions: int) -> None:
        self.inner = RandomController(n_actions, np.random.default_rng(3))
        self.seen: list[np.ndarray] = []

    def decide(self, observations, states, previous) -> Decisions:
        self.seen.append(observations.copy())
        return self.inner.decide(observations, states, previous)


def test_what_the_agent_saw_while_recording_is_what_training_rebuilds_from_the_file(tmp_path):
    game = resolve_game("pacman")
    config = ObsConfig(stack=4, frameskip=4)
    recorder = EpisodeRecorder(game, seed=11, player="agent", max_frames=203)  # the last decision is short
    controller = Watching(game.n_actions)
    logs = [log for turn in play(recording_env(recorder, config), controller, games=1) for log in turn.ended]
    path = recorder.save(tmp_path)

    stored = episode_observations(load_episode(path).frames, config)
    live = np.concatenate(controller.seen)
    assert stored.shape == live.shape == (51, 4, 84, 84)
    assert np.array_equal(stored, live)
    assert len(np.unique(live.reshape(len(live), -1), axis=0)) > 30  # the game moved: not a trivial match
    assert logs[0].decisions == 51 and load_episode(path).actions[::4].tolist() == logs[0].actions


def test_the_protocol_envs_see_what_a_recording_sees_when_nothing_is_random():
    """ale-py's vector env and the recorder's emulator give the same frames, so the same observations."""
    game = resolve_game("pacman")  # a 250-line screen: nothing may resize it before agent.obs does
    config = ObsConfig(stack=4, frameskip=4)
    fast = protocol_envs(game, config, 1, sticky=0.0, noop_max=0, rgb=True)
    recording = recording_env(EpisodeRecorder(game, seed=3, player="agent"), config)
    a, _ = fast.reset(seed=3)
    b, _ = recording.reset(seed=3)
    assert np.array_equal(a, b)
    rng = np.random.default_rng(1)
    for _ in range(60):
        action = rng.integers(game.n_actions, size=1)
        a, *_ = fast.step(action)
        b, *_ = recording.step(action)
        assert np.array_equal(a, b)
    assert np.array_equal(fast.last_frames(0)[0], recording.last_frames(0)[0])
    fast.close()
    recording.close()


@pytest.mark.parametrize("name", ["pacman", "mspacman"])
def test_the_emulators_gray_screens_pooled_in_pairs_are_opencvs_gray_of_its_colours(name):
    """Evaluation reads the emulator's gray screens, pooled in pairs; training converts the recorded
    colours with OpenCV and pools a decision's four frames."""
    game = resolve_game(name)
    gray = protocol_envs(game, ObsConfig(), 2, sticky=0.0, noop_max=0)
    colour = protocol_envs(game, ObsConfig(), 2, sticky=0.0, noop_max=0, rgb=True)
    a, _ = gray.reset(seed=4)
    b, _ = colour.reset(seed=4)
    rng = np.random.default_rng(0)
    for _ in range(150):
        actions = rng.integers(game.n_actions, size=2)
        a, *_ = gray.step(actions)
        b, *_ = colour.step(actions)
        assert np.array_equal(a, b)
        pairs, colours = gray.last_frames(1)[0], grayscale(colour.last_frames(1)[0])
        assert len(pairs) == 2 and np.array_equal(pairs, np.maximum(colours[0::2], colours[1::2]))
    gray.close()
    colour.close()


def test_protocol_games_start_after_random_noops_and_step_a_decision_of_frameskip_frames():
    game = resolve_game("pacman")
    envs = protocol_envs(game, ObsConfig(), 4, rgb=True)
    observations, _ = envs.reset(seed=0)
    assert observations.shape == (4, 4, 84, 84) and observations.dtype == np.uint8
    assert len(set(envs.start_frames.tolist())) > 1  # the no-op starts differ
    assert envs.frame_numbers.tolist() == [0, 0, 0, 0]
    envs.step(np.zeros(4, dtype=np.int64))
    envs.step(np.ones(4, dtype=np.int64))
    assert envs.frame_numbers.tolist() == [8, 8, 8, 8]
    frames, rewards = envs.last_frames(2)
    assert frames.shape == (4, 250, 160, 3) and rewards.shape == (4,)  # 2600 Pac-Man draws 250 lines
    assert envs.single_action_space.n == game.n_actions
    envs.close()


def test_every_game_started_is_finished_and_counted_once():
    game = resolve_game("pacman")
    envs = protocol_envs(game, ObsConfig(), 2, max_frames=600)
    turns = list(play(envs, RandomController(game.n_actions, np.random.default_rng(0)), games=3, seed=5))
    ended = [log for turn in turns for log in turn.ended]
    assert len(ended) == 3
    assert all(log.frames == 600 for log in ended)  # the frame cap ended them
    assert all(log.decisions >= 600 // 4 - 1 for log in ended)
    envs.close()


def test_asking_for_no_games_is_refused():
    envs = protocol_envs(resolve_game("pacman"), ObsConfig(), 1)
    with pytest.raises(ValueError, match="games must be at least 1"):
        next(play(envs, RandomController(5, np.random.default_rng()), games=0))
    envs.close()


def test_games_pooled_together_see_what_each_would_alone():
    from agent.obs import pool_frames

    envs = protocol_envs(resolve_game("pacman"), ObsConfig(), 3, rgb=True)
    envs.reset(seed=1)
    rng = np.random.default_rng(2)
    for _ in range(30):
        observations, *_ = envs.step(rng.integers(5, size=3))
    for i in range(3):
        frames, _ = envs.last_frames(i)
        assert len(frames) == 4 and np.array_equal(observations[i, -1], pool_frames(frames))
    assert not np.array_equal(observations[0], observations[1])  # three games, not one
    envs.close()
