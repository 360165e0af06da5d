"""The observation pipeline: live equals stored on the real ROM, flicker, decision alignment."""

from __future__ import annotations

import numpy as np
import pytest

from agent.obs import (
    NO_LABEL,
    EpisodePooler,
    FrameStack,
    ObsConfig,
    decision_labels,
    episode_observations,
    grayscale,
    pool_frames,
    resize,
    stack_indices,
)
from agent.train import load_data
from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder
from recorder.store import iter_frames, load_episode
from tests.conftest import record_scripted

GHOST_PINK = np.array([252, 144, 200], dtype=np.uint8)  # Pac-Man's ghosts (and power pills)


@pytest.fixture(scope="module")
def pacman_episode(tmp_path_factory):
    path = record_scripted("pacman", tmp_path_factory.mktemp("obs"), frames=401, hold=12, seed=3)
    return path, load_episode(path)


def test_live_observations_equal_the_ones_rebuilt_from_the_stored_episode(tmp_path):
    """An agent plays the real ROM deciding every 4 frames; training data rebuilt from the file matches."""
    game = resolve_game("pacman")
    config = ObsConfig(stack=4, frameskip=4)
    rng = np.random.default_rng(7)
    recorder = EpisodeRecorder(game, seed=11, player="live", state_every=10_000)
    live_stack = FrameStack(config)
    live = [live_stack.reset(recorder.reset())]
    frames_of_decision = []
    while recorder.length < 203:  # not a multiple of 4: the last decision is short
        if recorder.length % config.frameskip == 0:
            action = int(rng.integers(game.n_actions))
        frames_of_decision.append(recorder.step(action).frame)
        if len(frames_of_decision) == config.frameskip:
            live.append(live_stack.push(np.stack(frames_of_decision)))
            frames_of_decision = []
    path = recorder.save(tmp_path / "demos")
    live = np.stack(live)[:51]  # decisions 0..50 start at steps 0, 4, ..., 200

    stored = episode_observations(load_episode(path).frames, config)
    assert stored.shape == (51, 4, 84, 84) and stored.dtype == np.uint8
    assert np.array_equal(stored, live)
    data = load_data([path], game, config)  # the training path: streamed, pooled once, gathered by index
    assert np.array_equal(data.pooled[data.stacks], live)
    assert data.pooled.shape == (51, 84, 84)  # each pooled frame stored once, not 4 times
    assert len(np.unique(live.reshape(len(live), -1), axis=0)) > 30  # the game moved: not a trivial match


def test_the_mirrored_screen_gives_the_mirrored_observation(tmp_path):
    """What `mimic train --mirror` relies on: flipping an observation is observing the flipped screen."""
    path = record_scripted("mspacman", tmp_path, frames=200, hold=8, seed=2)
    frames = load_episode(path).frames
    config = ObsConfig(stack=4, frameskip=4)
    observed = episode_observations(frames, config)
    assert np.array_equal(episode_observations(np.ascontiguousarray(frames[:, :, ::-1]), config), observed[..., ::-1])
    assert not np.array_equal(observed, observed[..., ::-1])  # the sprites and the score are not symmetric


def test_streaming_pooler_equals_pooling_the_whole_episode(pacman_episode):
    path, episode = pacman_episode
    for frameskip in (1, 3, 4):
        pooler = EpisodePooler(len(episode), frameskip)
        for chunk in iter_frames(path, chunk=37):
            pooler.add(chunk)
        whole = episode_observations(episode.frames, ObsConfig(stack=1, frameskip=frameskip))[:, 0]
        assert np.array_equal(pooler.finish(), whole)


def test_every_ghost_is_in_every_observation_despite_flicker(pacman_episode):
    """Pac-Man draws one ghost per frame; the max over all 4 frames of a decision shows them all."""
    _, episode = pacman_episode
    frames = episode.frames
    k = 4
    ghost = (frames == GHOST_PINK).all(axis=-1)  # (T+1, H, W)
    flickering, covered_cells, missed_by_last_two = 0, 0, 0
    for i in range(50, len(episode) // k):  # after the start, when the ghosts roam
        block = slice((i - 1) * k + 1, i * k + 1)
        union = ghost[block].any(axis=0)
        flickering += any(not np.array_equal(union, g) for g in ghost[block])
        # 84x84 cells that ghost pixels fill completely in at least one frame of the decision
        cells = resize(union.astype(np.uint8) * 255) == 255
        obs = pool_frames(frames[block])
        assert (obs[cells] >= 180).all(), f"decision {i}: a ghost is missing from the observation"
        covered_cells += int(cells.sum())
        missed_by_last_two += int((pool_frames(frames[block][-2:])[cells] < 180).sum())
    assert flickering > 10  # the ROM does flicker: single frames miss ghosts the decision showed
    assert covered_cells > 100
    assert missed_by_last_two > 0  # and the usual max over the last two frames would lose some


def test_decision_labels_on_a_hand_made_episode(tmp_path):
    """Majority label over the 4 steps of a decision, unlabelled steps ignored, ties to the label held first."""
    game = resolve_game("pacman")
    labels = [1, 1, 2, 2,  # tie 1/2: 1 was held first
              3, 3, 3, 0,  # majority 3
              -1, -1, -1, -1,  # nobody labelled: not trained on
              -1, 4, -1, 2,  # DAgger-style sparse labels, tie: 4 first
              0, 0]  # a short last decision
    recorder = EpisodeRecorder(game, seed=0, player="hand", state_every=10_000)
    recorder.reset()
    for label in labels:
        recorder.step(0, label=label)
    path = recorder.save(tmp_path)
    assert decision_labels(np.array(labels), 4).tolist() == [1, 3, NO_LABEL, 4, 0]
    data = load_data([path], game, ObsConfig(stack=4, frameskip=4))
    assert data.labels.tolist() == [1, 3, NO_LABEL, 4, 0]
    assert data.samples().tolist() == [0, 1, 3, 4]  # the unlabelled decision is left out


def test_stack_indices_repeat_the_first_frame_and_stay_inside_the_episode():
    assert stack_indices(3, 4).tolist() == [[0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 2]]
    assert stack_indices(2, 2, offset=10).tolist() == [[10, 10], [10, 11]]


@pytest.mark.parametrize("height", [210, 250])  # Ms. Pac-Man's screen, and Pac-Man's
def test_pixels_are_the_same_alone_or_in_a_batch(height):
    """Live pools one decision at a time, training many at once: the pixels must not depend on that."""
    rng = np.random.default_rng(0)
    many = rng.integers(0, 256, (150, height, 160), dtype=np.uint8)  # more than one resize call takes
    assert all(np.array_equal(resize(many)[i], resize(many[i])) for i in range(len(many)))
    frames = rng.integers(0, 256, (6, 210, 160, 3), dtype=np.uint8)
    gray = grayscale(frames)
    assert gray.shape == (6, 210, 160) and gray.dtype == np.uint8
    luma = frames @ np.array([0.299, 0.587, 0.114])  # the usual luma weights, to within rounding
    assert np.abs(gray - luma).max() <= 1
    assert all(np.array_equal(gray[i], grayscale(frames[i])) for i in range(len(frames)))
    batched = resize(gray)
    assert batched.shape == (6, 84, 84)
    assert all(np.array_equal(batched[i], resize(gray[i])) for i in range(len(gray)))
    assert np.array_equal(resize(gray.reshape(2, 3, 210, 160)).reshape(6, 84, 84), batched)
    flat = np.full((210, 160), 77, dtype=np.uint8)
    assert (resize(flat) == 77).all()  # area averaging keeps a flat image flat
    stripes = np.zeros((210, 160), dtype=np.uint8)
    stripes[:, ::2] = 255
    assert ((resize(stripes) > 100) & (resize(stripes) < 155)).all()  # each cell averages the columns it covers


def test_bad_settings_are_refused_with_what_was_expected():
    with pytest.raises(ValueError, match="stack must be between 1 and 16"):
        ObsConfig(stack=0)
    with pytest.raises(ValueError, match="frameskip"):
        ObsConfig(frameskip=40)
    with pytest.raises(ValueError, match="uint8 RGB"):
        grayscale(np.zeros((4, 4), dtype=np.float32))


def test_an_episode_the_live_agent_plays_rebuilds_the_observations_it_acted_on(tmp_path):
    import torch

    from agent.actor import PolicyActor
    from agent.policy import Checkpoint, Policy, PolicyConfig

    game = resolve_game("pacman")
    config = ObsConfig(stack=3, frameskip=4)
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(game.n_actions, stack=3)).eval()
    actor = PolicyActor(Checkpoint(policy, game.name, game.action_names, config, meta={}),
                        rng=np.random.default_rng(0))
    recorder = EpisodeRecorder(game, seed=2, player="agent", source="expert", state_every=10_000)
    actor.reset(recorder.reset())
    action, _ = actor.act(None)
    seen, actions, recent = [actor.observation.copy()], [action], []
    while recorder.length < 120:
        recent.append(recorder.step(action).frame)
        if len(recent) == config.frameskip:
            action, _ = actor.act(np.stack(recent))
            recent = []
            seen.append(actor.observation.copy())
            actions.append(action)
    path = recorder.save(tmp_path)
    episode = load_episode(path)
    stored = episode_observations(episode.frames, config)
    assert np.array_equal(stored, np.stack(seen)[: len(stored)])
    assert episode.actions[::4].tolist() == actions[: len(stored)]  # each decision held for 4 frames
    assert len(set(actions)) > 1
