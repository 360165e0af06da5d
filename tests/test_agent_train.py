"""Behavioural cloning and checkpoints, on tiny real recordings."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from agent.obs import NO_LABEL, ObsConfig
from agent.policy import CheckpointError, Policy, PolicyConfig, load_checkpoint, save_checkpoint
from agent.train import NoDataError, TrainConfig, load_data, random_shift, train, train_game
from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder
from recorder.store import GameStore
from tests.conftest import record_scripted


def record_handful(directory, *, seed: int = 0, samples: int = 5):
    """Real play with 4-frame holds where only every 10th decision after the start screen is labelled."""
    game = resolve_game("pacman")
    rng = np.random.default_rng(seed)
    recorder = EpisodeRecorder(game, seed=seed, player="handful", state_every=10_000)
    recorder.reset()
    for t in range(160 + 40 * samples):
        if t % 4 == 0:
            action = int(rng.integers(game.n_actions))
        labelled = t >= 160 and (t // 4) % 10 == 0
        recorder.step(action, label=action if labelled else NO_LABEL)
    return recorder.save(directory)


def test_training_drives_the_loss_down_and_fits_a_handful_of_samples_exactly(tmp_path):
    game = resolve_game("pacman")
    path = record_handful(tmp_path / "demos")
    copies = [shutil.copy(path, path.with_name(f"copy-{i}.npz")) for i in range(7)]  # 8 passes an epoch
    config = TrainConfig(epochs=8, batch_size=5, lr=1e-3, val_fraction=0, device="cpu")
    result = train(game, [path, *map(Path, copies)], tmp_path / "models", config)
    assert result.train_samples == 40
    assert result.final.train_loss < 0.1 * result.history[0].train_loss
    data = load_data([path], game, config.obs)
    ids = data.samples()
    policy = load_checkpoint(result.last_checkpoint, game).policy
    actions, _ = policy.act(data.pooled[data.stacks[ids]], greedy=True)
    assert actions.tolist() == data.labels[ids].tolist()
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()


def test_split_is_by_episode_and_metrics_cover_every_action(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=120, seed=s, hold=8) for s in range(4)]
    result = train(game, paths, tmp_path / "models", TrainConfig(epochs=1, val_fraction=0.25, device="cpu"))
    assert len(result.train_episodes) == 3 and len(result.val_episodes) == 1
    assert not set(result.train_episodes) & set(result.val_episodes)
    assert result.train_samples == 90 and result.val_samples == 30  # 30 decisions an episode
    assert set(result.final.recall) == set(game.action_names)
    assert result.final.val_loss is not None and 0 <= result.final.val_accuracy <= 1


def test_a_seeded_cpu_run_repeats_exactly_and_resume_continues_it(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s) for s in range(2)]
    config = TrainConfig(epochs=2, batch_size=16, augment=True, class_weights=True, seed=5, device="cpu")
    first = train(game, paths, tmp_path / "a", config)
    second = train(game, paths, tmp_path / "b", config)
    assert [m.train_loss for m in first.history] == [m.train_loss for m in second.history]
    a = torch.load(first.last_checkpoint, weights_only=True)["state_dict"]
    b = torch.load(second.last_checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    # an interrupted run (1 epoch) resumed to 2 epochs ends where the uninterrupted one did
    train(game, paths, tmp_path / "c", TrainConfig(**{**config.__dict__, "epochs": 1}))
    resumed = train(game, paths, tmp_path / "c", config, resume=True)
    assert [m.epoch for m in resumed.history] == [1, 2]
    c = torch.load(resumed.last_checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(a[k], c[k]) for k in a)


def test_checkpoint_round_trip_and_the_mismatch_error(tmp_path):
    pacman, mspacman = resolve_game("pacman"), resolve_game("mspacman")
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(n_actions=pacman.n_actions, stack=3)).eval()
    obs_config = ObsConfig(stack=3, frameskip=2)
    path = save_checkpoint(tmp_path / "m.pt", policy, pacman, obs_config, meta={"note": "x"})
    assert not list(tmp_path.glob(".*tmp"))  # written under a temporary name, then renamed
    loaded = load_checkpoint(path, pacman)
    assert loaded.obs == obs_config and loaded.action_names == pacman.action_names and loaded.meta == {"note": "x"}
    x = torch.randint(0, 256, (5, 3, 84, 84), dtype=torch.uint8)
    assert torch.equal(policy(x), loaded.policy(x))
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path, mspacman)
    message = str(info.value)
    assert "\n" not in message and "pacman (5 actions" in message and "mspacman (9 actions" in message
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(tmp_path / "junk.pt", pacman)


def test_acting_samples_by_default_greedy_takes_the_argmax_and_temperature_sharpens():
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(n_actions=5)).eval()
    with torch.no_grad():
        policy.head.bias.copy_(torch.tensor([0.0, 1.0, 0.0, 0.0, 0.0]))
        policy.head.weight.zero_()
    obs = np.zeros((2000, 4, 84, 84), dtype=np.uint8)
    rng = np.random.default_rng(0)
    sampled, probs = policy.act(obs, rng=rng)
    share = np.bincount(sampled, minlength=5) / len(sampled)
    assert np.allclose(share, probs[0], atol=0.03) and len(set(sampled.tolist())) == 5
    greedy, _ = policy.act(obs[:3], greedy=True)
    assert greedy.tolist() == [1, 1, 1]
    cold, cold_probs = policy.act(obs, temperature=0.1, rng=rng)
    assert cold_probs[0, 1] > 0.99 and (cold == 1).mean() > 0.98


def test_random_shift_moves_pixels_by_at_most_the_shift():
    obs = torch.zeros((64, 2, 84, 84), dtype=torch.uint8)
    obs[:, :, 40, 40] = 255
    shifted = random_shift(obs, 4, torch.Generator().manual_seed(0))
    assert shifted.dtype == torch.uint8 and shifted.shape == obs.shape
    ys, xs = np.nonzero(shifted[:, 0].numpy().max(axis=0))
    assert abs(ys - 40).max() <= 4 and abs(xs - 40).max() <= 4 and len(set(zip(ys, xs))) > 5
    assert torch.equal(shifted[:, 0], shifted[:, 1])  # the same shift for every frame of a stack


def test_no_recordings_and_damaged_files(tmp_path):
    game = resolve_game("pacman")
    store = GameStore(tmp_path, "pacman")
    with pytest.raises(NoDataError, match="mimic play --record --game pacman"):
        train_game(store, game, TrainConfig(epochs=1))
    good = record_scripted("pacman", store.demos, frames=64)
    (store.demos / "zz-broken.npz").write_bytes(b"PK\x03\x04 broken")
    warnings = []
    result = train_game(store, game, TrainConfig(epochs=1, device="cpu"), warn=warnings.append)
    assert result.train_episodes == [good]
    assert len(warnings) == 1 and warnings[0].startswith("zz-broken.npz")
