"""Behavioural cloning and checkpoints, on tiny real recordings."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agent.obs import NO_LABEL, ObsConfig
from agent.policy import (
    Checkpoint, CheckpointError, Policy, PolicyConfig, ensemble_of, load_checkpoint, save_checkpoint,
)
from agent.dagger import DaggerConfig, round_training
from agent.train import (
    Batcher, NoDataError, TrainConfig, WeightAverage, argmax_in_set, describe, load_data, members_loss, random_shift,
    resumed_config, set_cross_entropy, soft_cross_entropy, train, train_game,
)
from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder
from recorder.store import GameStore, read_info
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
    config = TrainConfig(epochs=8, batch_size=5, lr=1e-3, val_fraction=0, device="cpu", threads=1)
    result = train(game, [path, *map(Path, copies)], tmp_path / "models", config)
    assert result.train_samples == 40
    assert result.final.train_loss < 0.1 * result.history[0].train_loss
    data = load_data([path], game, config.obs)
    ids = data.samples()
    policy = load_checkpoint(result.last_checkpoint, game).policy
    actions, _ = policy.act(data.pooled[data.stacks[ids]], greedy=True)
    assert actions.tolist() == data.labels[ids].tolist()
    assert result.best_checkpoint.is_file() and result.last_checkpoint.is_file()


def test_the_same_recordings_load_in_the_same_order_whatever_their_file_names(tmp_path):
    """Parallel workers name episodes by the second they start: the order must come from the seeds."""
    game = resolve_game("pacman")
    first = [record_scripted("pacman", tmp_path / "a" / "demos", frames=40, seed=s) for s in (7, 3, 5)]
    renamed = tmp_path / "b" / "demos"
    renamed.mkdir(parents=True)
    second = [Path(shutil.copy(path, renamed / name)) for path, name in zip(first, ("c.npz", "b.npz", "a.npz"))]
    one = load_data(first, game, ObsConfig())
    two = load_data([second[1], second[2], second[0]], game, ObsConfig())
    assert [read_info(p).seed for p in one.paths] == [3, 5, 7] == [read_info(p).seed for p in two.paths]
    assert np.array_equal(one.labels, two.labels) and np.array_equal(one.pooled, two.pooled)
    assert np.array_equal(one.episode, two.episode)


def test_set_loss_is_cross_entropy_for_one_action_and_minus_log_of_the_sets_probability():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]])
    labels = torch.tensor([1, 0])
    alone = F.one_hot(labels, 3).bool()
    assert torch.allclose(set_cross_entropy(logits, alone), F.cross_entropy(logits, labels))
    weights = torch.tensor([2.0, 0.5, 1.0])
    assert torch.allclose(set_cross_entropy(logits, alone, weights[labels]),
                          F.cross_entropy(logits, labels, weight=weights))
    allowed = torch.tensor([[True, True, False], [True, False, True]])
    expected = -torch.log((logits.softmax(1) * allowed).sum(1)).mean()
    assert torch.allclose(set_cross_entropy(logits, allowed), expected)
    assert argmax_in_set(logits, allowed).tolist() == [True, True]
    assert argmax_in_set(logits, alone).tolist() == [True, False]


def test_soft_loss_is_cross_entropy_to_a_distribution():
    logits = torch.tensor([[1.0, 2.0, 0.5], [0.0, 0.0, 3.0]])
    labels = torch.tensor([1, 0])
    weights = torch.tensor([2.0, 0.5, 1.0])
    one_hot = F.one_hot(labels, 3).float()
    assert torch.allclose(soft_cross_entropy(logits, one_hot), F.cross_entropy(logits, labels))
    assert torch.allclose(soft_cross_entropy(logits, one_hot, weights[labels]),
                          F.cross_entropy(logits, labels, weight=weights))
    targets = torch.tensor([[0.2, 0.5, 0.3], [0.0, 0.25, 0.75]])
    assert torch.allclose(soft_cross_entropy(logits, targets), F.cross_entropy(logits, targets))


def test_with_soft_targets_the_policy_learns_the_distribution_not_the_label(tmp_path):
    """Labels all say 1; the targets say 70% action 2, 30% action 1: the policy follows the targets."""
    game = resolve_game("pacman")
    path = record_scripted("pacman", tmp_path / "demos", frames=400, seed=0)  # the start screen: stacks alike
    data = load_data([path], game, ObsConfig())
    data.labels[:] = 1
    soft = np.zeros((len(data.labels), game.n_actions), dtype=np.float32)
    soft[:, 2], soft[:, 1] = 0.7, 0.3
    config = TrainConfig(epochs=4, batch_size=20, lr=1e-3, val_fraction=0, device="cpu", threads=1)
    result = train(game, [path], tmp_path / "soft", config, data=replace(data, soft=soft))
    _, probs = load_checkpoint(result.last_checkpoint, game).policy.act(data.pooled[data.stacks[:1]], greedy=True)
    assert abs(probs[0, 2] - 0.7) < 0.1 and abs(probs[0, 1] - 0.3) < 0.1


def test_the_policy_learns_a_label_set_where_single_labels_would_contradict_each_other(tmp_path):
    """The same screens labelled now 1, now 2, both as good: with sets it puts its mass on {1, 2}."""
    game = resolve_game("pacman")
    recorder = EpisodeRecorder(game, seed=0, player="sets", state_every=10_000)
    recorder.reset()
    for t in range(400):  # the start screen: nothing moves for the first seconds, every stack alike
        label = 1 + (t // 4) % 2
        recorder.step(0, label=label, label_set=0b110)
    path = recorder.save(tmp_path / "demos")
    data = load_data([path], game, ObsConfig())
    assert set(data.labels.tolist()) == {1, 2} and set(data.sets.tolist()) == {0b110}
    config = TrainConfig(epochs=3, batch_size=20, lr=1e-3, val_fraction=0, device="cpu", threads=1, label_sets=True)
    result = train(game, [path], tmp_path / "sets", config)
    assert result.final.train_accuracy == 1.0
    policy = load_checkpoint(result.last_checkpoint, game).policy
    _, probs = policy.act(data.pooled[data.stacks[:1]], greedy=True)
    assert probs[0, 1] + probs[0, 2] > 0.95
    single = train(game, [path], tmp_path / "single", TrainConfig(**{**config.__dict__, "label_sets": False}))
    assert single.final.train_accuracy < 0.75  # one label of two, at best about half right


def test_decisions_where_every_action_is_as_good_are_not_learned_unless_kept(tmp_path):
    """On the same screens half the decisions say 'every action is as good' (labelled 1, the action
    held) and half say 'only 2': the policy learns 2 from the others alone, or both with keep_moot."""
    game = resolve_game("pacman")
    every = (1 << game.n_actions) - 1
    recorder = EpisodeRecorder(game, seed=0, player="moot", state_every=10_000)
    recorder.reset()
    for t in range(400):  # the start screen: nothing moves for the first seconds, every stack alike
        decisive = (t // 4) % 2 == 0
        recorder.step(0, label=2 if decisive else 1, label_set=0b100 if decisive else every)
    path = recorder.save(tmp_path / "demos")
    config = TrainConfig(epochs=3, batch_size=20, lr=1e-3, val_fraction=0, device="cpu", threads=1)
    skipped = train(game, [path], tmp_path / "skip", config)
    kept = train(game, [path], tmp_path / "keep", replace(config, keep_moot=True))
    assert (skipped.train_samples, skipped.moot_samples) == (50, 50) and (kept.train_samples, kept.moot_samples) == (100, 0)
    data = load_data([path], game, config.obs)
    _, probs = load_checkpoint(skipped.last_checkpoint, game).policy.act(data.pooled[data.stacks[:1]], greedy=True)
    assert probs[0, 2] > 0.9
    _, probs = load_checkpoint(kept.last_checkpoint, game).policy.act(data.pooled[data.stacks[:1]], greedy=True)
    assert abs(probs[0, 1] - 0.5) < 0.15 and abs(probs[0, 2] - 0.5) < 0.15


def test_split_is_by_episode_and_metrics_cover_every_action(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=120, seed=s, hold=8) for s in range(4)]
    result = train(game, paths, tmp_path / "models", TrainConfig(epochs=1, val_fraction=0.25, device="cpu"))
    assert len(result.train_episodes) == 3 and len(result.val_episodes) == 1
    assert not set(result.train_episodes) & set(result.val_episodes)
    assert result.train_samples == 90 and result.val_samples == 30  # 30 decisions an episode
    assert set(result.final.recall) == set(game.action_names)
    assert result.final.val_loss is not None and 0 <= result.final.val_accuracy <= 1


def test_a_warm_started_run_keeps_the_split_of_the_weights_it_starts_from(tmp_path):
    """A DAgger round retrains on more episodes from the last round's weights: none the weights
    learned may validate them, those they held out still do, and new episodes are split too."""
    game = resolve_game("pacman")
    demos = [record_scripted("pacman", tmp_path / "demos", frames=40, seed=s) for s in range(6)]
    rounds = [record_scripted("pacman", tmp_path / "rounds", frames=40, seed=s) for s in range(10, 20)]
    config = TrainConfig(epochs=1, val_fraction=0.34, device="cpu", threads=1)
    first = train(game, demos, tmp_path / "bc", config)
    second = train(game, demos + rounds, tmp_path / "round", config, init_from=first.last_checkpoint)
    names = lambda paths: {p.name for p in paths}  # noqa: E731
    assert names(first.val_episodes) <= names(second.val_episodes)
    assert not names(first.train_episodes) & names(second.val_episodes)
    new_held_out = names(second.val_episodes) & names(rounds)
    assert 0 < len(new_held_out) < len(rounds)
    assert names(second.train_episodes) | names(second.val_episodes) == names(demos + rounds)
    # A round retrained from fresh weights (DAgger with retrain="scratch") keeps the same split.
    fresh = train(game, demos + rounds, tmp_path / "fresh", config, split_from=first.last_checkpoint)
    assert fresh.val_episodes == second.val_episodes and fresh.train_episodes == second.train_episodes
    with pytest.raises(ValueError, match="split_from is for fresh weights"):
        train(game, demos, tmp_path / "both", config, init_from=first.last_checkpoint, split_from=first.last_checkpoint)


def test_a_seeded_cpu_run_repeats_exactly_and_resume_continues_it(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s) for s in range(2)]
    config = TrainConfig(epochs=2, batch_size=16, augment=True, class_weights=True, seed=5, device="cpu", threads=1)
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
    # a resume that would train otherwise (no shifts, another seed) is refused, naming what differs
    with pytest.raises(CheckpointError, match="was trained with augment True, seed 5, this run asks for augment False, seed 6"):
        train(game, paths, tmp_path / "c", replace(config, epochs=3, augment=False, seed=6), resume=True)


def test_a_training_cut_short_resumes_to_its_end_and_a_finished_one_resumes_as_it_is(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=16, seed=5, device="cpu", threads=1)

    def interrupt(_metrics) -> None:  # killed once the first epoch is saved
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(game, paths, tmp_path / "run", config, on_epoch=interrupt)
    assert torch.load(tmp_path / "run" / "last.pt", weights_only=True)["meta"]["epoch"] == 1
    finished = train(game, paths, tmp_path / "run", config, resume=True)
    assert [m.epoch for m in finished.history] == [1, 2]
    weights = torch.load(finished.last_checkpoint, weights_only=True)["state_dict"]
    # resumed again, a finished training has nothing left to train: it is returned as it is
    again = train(game, paths, tmp_path / "run", config, resume=True)
    assert again.history == finished.history
    kept = torch.load(again.last_checkpoint, weights_only=True)["state_dict"]
    assert all(torch.equal(weights[k], kept[k]) for k in weights)


def test_a_resume_takes_the_saved_runs_settings_where_none_are_given(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s) for s in range(2)]
    started = TrainConfig(epochs=2, batch_size=16, mirror=True, average=1.0, seed=5, device="cpu", threads=1)

    def interrupt(_metrics) -> None:  # Ctrl-C once the first epoch is saved
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(game, paths, tmp_path / "run", started, on_epoch=interrupt)
    asked = TrainConfig(epochs=7, device="cpu", threads=2)  # `mimic train --resume --threads 2`
    assert resumed_config(tmp_path / "run", asked, given=["threads"]) == replace(started, threads=2)
    assert resumed_config(tmp_path / "run", asked, given=["epochs", "threads", "mirror"]) == replace(
        started, epochs=7, threads=2, mirror=False)
    assert resumed_config(tmp_path / "nothing", asked, given=[]) == asked  # `train` says there is nothing to resume


def test_the_weight_average_is_the_mean_of_the_steps_then_an_exponential_average():
    policy = Policy(PolicyConfig(n_actions=3))
    average = WeightAverage(policy, horizon=4)

    def step(value: float) -> None:
        with torch.no_grad():
            for param in policy.parameters():
                param.fill_(value)
        average.update(policy)

    for value in (1.0, 2.0, 6.0):
        step(value)
    assert all(torch.allclose(p, torch.full_like(p, 3.0)) for p in average.policy.parameters())  # (1 + 2 + 6) / 3
    step(7.0)  # step 4 of a horizon of 4: still the mean, (1 + 2 + 6 + 7) / 4
    step(8.0)  # past the horizon: a quarter of the way from 4 to 8
    assert all(torch.allclose(p, torch.full_like(p, 5.0)) for p in average.policy.parameters())
    assert all(not p.requires_grad for p in average.policy.parameters())


def test_averaged_weights_are_kept_beside_the_last_without_changing_the_training(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=8, val_fraction=0.34, seed=3, device="cpu", threads=1)
    plain = train(game, paths, tmp_path / "plain", config)
    assert plain.avg_checkpoint is None and plain.final.avg_val_loss is None
    with pytest.raises(ValueError, match="--average"):
        plain.checkpoint("avg")

    averaged = train(game, paths, tmp_path / "avg", replace(config, average=1.0))
    assert averaged.checkpoint("avg") == tmp_path / "avg" / "avg.pt"
    last = lambda result: torch.load(result.last_checkpoint, weights_only=True)["state_dict"]  # noqa: E731
    assert all(torch.equal(last(plain)[k], last(averaged)[k]) for k in last(plain))  # same steps, same last weights
    kept = load_checkpoint(averaged.avg_checkpoint, game)
    assert averaged.train_samples == 48  # two episodes of 24 decisions: 6 batches of 8 an epoch
    assert kept.meta["averaged"] == {"epochs": 1.0, "steps": 2 * 6}
    assert not all(torch.equal(v, last(averaged)[k]) for k, v in kept.policy.state_dict().items())
    assert all(m.avg_val_loss is not None and 0 <= m.avg_val_accuracy <= 1 for m in averaged.history)
    # interrupted after one epoch and resumed, the average ends where the uninterrupted run's did
    train(game, paths, tmp_path / "resumed", replace(config, average=1.0, epochs=1))
    resumed = train(game, paths, tmp_path / "resumed", replace(config, average=1.0), resume=True)
    again = load_checkpoint(resumed.avg_checkpoint, game).policy.state_dict()
    assert all(torch.equal(again[k], v) for k, v in kept.policy.state_dict().items())


def test_an_ensemble_is_networks_side_by_side_each_learning_as_it_would_alone():
    torch.manual_seed(0)
    ensemble = Policy(PolicyConfig(n_actions=5, ensemble=3))
    obs = torch.randint(0, 256, (6, 4, 84, 84), dtype=torch.uint8)
    members = []
    for k in range(3):  # member k alone: a single network holding member k's slice of every layer
        single = Policy(PolicyConfig(n_actions=5))
        single.load_state_dict({name: value.chunk(3)[k] for name, value in ensemble.state_dict().items()})
        members.append(single)
    each = ensemble.member_logits(obs)
    assert each.shape == (6, 3, 5)
    for k, single in enumerate(members):
        assert torch.allclose(each[:, k], single(obs), atol=1e-6)
    assert not torch.allclose(each[:, 0], each[:, 1])  # each member starts from its own weights
    vote = torch.stack([torch.log_softmax(m(obs), dim=-1) for m in members]).mean(dim=0)
    assert torch.allclose(ensemble(obs), vote, atol=1e-6)
    # separately trained networks stacked into one ensemble: the inverse of the slicing
    as_checkpoint = lambda policy: Checkpoint(policy, "pacman", ("A",) * 5, ObsConfig(), {})  # noqa: E731
    stacked = ensemble_of([as_checkpoint(m) for m in members]).policy
    assert all(torch.equal(v, ensemble.state_dict()[k]) for k, v in stacked.state_dict().items())
    with pytest.raises(CheckpointError, match="must be"):
        ensemble_of([as_checkpoint(members[0]), as_checkpoint(ensemble)])
    probs = ensemble.probabilities(obs.numpy(), temperature=0.5)
    assert torch.allclose(probs.sum(dim=1), torch.ones(6))

    labels = torch.tensor([0, 1, 2, 3, 4, 0])
    allowed = F.one_hot(labels, 5).bool()
    members_loss(ensemble.member_logits(obs), allowed, None).backward()
    for k, single in enumerate(members):
        set_cross_entropy(single(obs), allowed).backward()
        for (name, mine), theirs in zip(ensemble.named_parameters(), single.parameters(), strict=True):
            assert torch.allclose(mine.grad.chunk(3)[k], theirs.grad, atol=1e-6), name

    # each member its own batch, (B, members, ...): member k sees, and learns from, its own alone
    own_obs = torch.randint(0, 256, (6, 3, 4, 84, 84), dtype=torch.uint8)
    own_labels = torch.randint(0, 5, (6, 3))
    each = ensemble.member_logits(own_obs)
    for k, single in enumerate(members):
        assert torch.allclose(each[:, k], single(own_obs[:, k]), atol=1e-6)
    ensemble.zero_grad()
    members_loss(each, F.one_hot(own_labels, 5).bool(), None).backward()
    for k, single in enumerate(members):
        single.zero_grad()
        set_cross_entropy(single(own_obs[:, k]), F.one_hot(own_labels[:, k], 5).bool()).backward()
        for (name, mine), theirs in zip(ensemble.named_parameters(), single.parameters(), strict=True):
            assert torch.allclose(mine.grad.chunk(3)[k], theirs.grad, atol=1e-6), name


def test_an_ensemble_trains_into_one_checkpoint_and_resumes_only_as_one(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=1, batch_size=8, val_fraction=0.34, seed=3, device="cpu", threads=1, ensemble=2)
    assert "an ensemble of 2 networks" in describe(config)
    result = train(game, paths, tmp_path / "run", config)
    loaded = load_checkpoint(result.last_checkpoint, game)
    assert loaded.policy.config.ensemble == 2 and loaded.meta["train"]["ensemble"] == 2
    actions, probs = loaded.policy.act(np.zeros((2, 4, 84, 84), np.uint8), rng=np.random.default_rng(0))
    assert actions.shape == (2,) and np.allclose(probs.sum(axis=1), 1)
    with pytest.raises(CheckpointError, match="is an ensemble of 2 networks, this run trains one network; pass --ensemble 2"):
        train(game, paths, tmp_path / "run", replace(config, epochs=2, ensemble=1), resume=True)
    assert train(game, paths, tmp_path / "run", replace(config, epochs=2), resume=True).final.epoch == 2
    with pytest.raises(ValueError, match="1 to 16 networks"):
        TrainConfig(ensemble=0)
    with pytest.raises(ValueError, match="are for an ensemble's networks; pass --ensemble N"):
        TrainConfig(member_batches="bootstrap")
    with pytest.raises(ValueError, match="one of shared, shuffled, bootstrap"):
        TrainConfig(ensemble=2, member_batches="bagged")


@pytest.mark.parametrize("member_batches", ["shuffled", "bootstrap"])
def test_ensemble_members_can_train_on_batches_of_their_own(tmp_path, member_batches):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=8, val_fraction=0.34, seed=3, device="cpu", threads=1, ensemble=2,
                         member_batches=member_batches, augment=True, class_weights=True)
    assert f"an ensemble of 2 networks ({member_batches} batches)" in describe(config)
    shared = train(game, paths, tmp_path / "shared", replace(config, member_batches="shared"))
    own = train(game, paths, tmp_path / member_batches, config)
    assert own.train_samples == shared.train_samples and own.val_samples == shared.val_samples  # the same split
    weights = lambda result: load_checkpoint(result.last_checkpoint, game).policy.state_dict()  # noqa: E731
    mine, theirs = weights(own), weights(shared)
    assert load_checkpoint(own.last_checkpoint, game).meta["train"]["member_batches"] == member_batches
    # member 0 sees the shared order when shuffled; member 1 trains on other batches either way
    first, second = (lambda v: v.chunk(2)[0]), (lambda v: v.chunk(2)[1])  # noqa: E731
    assert not all(torch.equal(second(v), second(theirs[k])) for k, v in mine.items())
    if member_batches == "bootstrap":
        assert not all(torch.equal(first(v), first(theirs[k])) for k, v in mine.items())
    # the same seed trains the same ensemble, and a run stopped after one epoch resumes to it
    train(game, paths, tmp_path / "resumed", replace(config, epochs=1))
    resumed = train(game, paths, tmp_path / "resumed", config, resume=True)
    assert all(torch.equal(v, mine[k]) for k, v in weights(resumed).items())
    assert [(m.train_loss, m.val_loss) for m in resumed.history] == [(m.train_loss, m.val_loss) for m in own.history]


def test_mirroring_flips_about_half_the_training_decisions_with_their_labels(tmp_path):
    game = resolve_game("mspacman")
    paths = [record_scripted("mspacman", tmp_path, frames=400, seed=s, hold=8) for s in range(2)]
    data = load_data(paths, game, ObsConfig())
    ids = data.samples()
    mirror = torch.tensor(game.mirror_actions)
    plain = Batcher(data, torch.device("cpu"), game.n_actions)
    batcher = Batcher(data, torch.device("cpu"), game.n_actions, mirror=game.mirror_actions)
    obs0, labels0, allowed0, _ = plain.batch(ids)
    obs, labels, allowed, _ = batcher.batch(ids, torch.Generator().manual_seed(0))
    flipped = ~(obs == obs0).flatten(1).all(1)
    assert 0.3 < float(flipped.float().mean()) < 0.7
    assert torch.equal(obs[flipped], obs0[flipped].flip(-1))
    assert torch.equal(labels[flipped], mirror[labels0[flipped]]) and torch.equal(labels[~flipped], labels0[~flipped])
    assert torch.equal(allowed[flipped], allowed0[flipped][:, mirror]) and torch.equal(allowed[~flipped], allowed0[~flipped])
    assert (labels != labels0).any()  # LEFT and RIGHT were among the labels
    assert torch.equal(batcher.batch(ids)[0], obs0)  # validation batches (no generator) are never mirrored
    members = batcher.batch(np.stack([ids, ids]), torch.Generator().manual_seed(0))[0]  # an ensemble's own batches
    assert members.shape == (len(ids), 2, 4, 84, 84) and not torch.equal(members[:, 0], members[:, 1])


def test_a_mirrored_training_repeats_exactly_and_dagger_rounds_train_mirrored_too(tmp_path):
    game = resolve_game("mspacman")
    paths = [record_scripted("mspacman", tmp_path / "demos", frames=160, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=16, seed=1, device="cpu", threads=1, mirror=True)
    assert "mirrored half the time" in describe(config)
    weights = lambda result: load_checkpoint(result.last_checkpoint, game).policy.state_dict()  # noqa: E731
    first, again = train(game, paths, tmp_path / "a", config), train(game, paths, tmp_path / "b", config)
    plain = train(game, paths, tmp_path / "plain", replace(config, mirror=False))
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(first).items())
    assert not all(torch.equal(v, weights(plain)[k]) for k, v in weights(first).items())
    started = load_checkpoint(first.last_checkpoint, game).meta["train"]
    assert started["mirror"] is True and round_training(DaggerConfig(), started, config.obs).mirror
    lopsided = replace(game, action_names=("NOOP", "LEFT"), ale_actions=(0, 4))
    with pytest.raises(ValueError, match="no mirror image left to right"):
        train(lopsided, paths, tmp_path / "lopsided", config)


def test_a_mirror_voting_policy_acts_on_a_screen_as_it_does_on_its_mirror_image(tmp_path):
    game = resolve_game("mspacman")
    mirror = torch.tensor(game.mirror_actions)
    torch.manual_seed(0)
    plain = Policy(PolicyConfig(n_actions=game.n_actions, ensemble=2))
    voting = Policy(PolicyConfig(n_actions=game.n_actions, ensemble=2, mirror=game.mirror_actions))
    voting.load_state_dict(plain.state_dict())  # the map is no weight
    obs = torch.randint(0, 256, (5, 4, 84, 84), dtype=torch.uint8)
    both_views = torch.cat([plain.member_logits(obs), plain.member_logits(obs.flip(-1))[..., mirror]], dim=1)
    assert torch.allclose(voting(obs), torch.log_softmax(both_views, -1).mean(1))
    assert torch.allclose(voting.probabilities(obs.flip(-1)), voting.probabilities(obs)[:, mirror], atol=1e-6)
    assert not torch.allclose(plain.probabilities(obs.flip(-1)), plain.probabilities(obs)[:, mirror], atol=1e-3)
    save_checkpoint(tmp_path / "vote.pt", voting, game, ObsConfig())
    assert load_checkpoint(tmp_path / "vote.pt", game).policy.config.mirror == game.mirror_actions
    with pytest.raises(ValueError, match="pairs up the 3 actions"):
        PolicyConfig(n_actions=3, mirror=(1, 2, 0))


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
    obs = np.zeros((800, 4, 84, 84), dtype=np.uint8)
    rng = np.random.default_rng(0)
    sampled, probs = policy.act(obs, rng=rng)
    share = np.bincount(sampled, minlength=5) / len(sampled)
    assert np.allclose(share, probs[0], atol=0.05) and len(set(sampled.tolist())) == 5
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
