"""Behavioural cloning and checkpoints, on tiny real recordings."""

from __future__ import annotations

import shutil
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from agent.obs import NO_LABEL, ObsConfig
from agent.policy import CheckpointError, Policy, PolicyConfig, load_checkpoint, save_checkpoint
from agent.dagger import DaggerConfig, round_training
from agent.train import (
    AVERAGE_EPOCHS, ENSEMBLE_MIN_LABELS, ENSEMBLE_NETWORKS, Batcher, NoDataError, TrainConfig, TrainHooks,
    default_networks, describe, load_data, members_loss, resumed_config, train, train_game, weight_average,
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


def test_the_defaults_are_the_recipe():
    config = TrainConfig()
    assert (config.epochs, config.lr, config.batch_size, config.networks, config.obs) == (20, 2.5e-4, 64, None, ObsConfig())
    assert (ENSEMBLE_NETWORKS, ENSEMBLE_MIN_LABELS, AVERAGE_EPOCHS) == (3, 20_000, 5)
    assert [default_networks(n) for n in (0, 6_000, 19_999, 20_000, 96_000)] == [1, 1, 1, 3, 3]
    # the game table: mazes that are the same mirrored left to right; not Pong, whose players keep their sides
    assert [resolve_game(name).symmetric for name in ("pacman", "mspacman", "pong")] == [True, True, False]
    assert resolve_game("mspacman").mirror == resolve_game("mspacman").mirror_actions
    assert resolve_game("pong").mirror is None
    with pytest.raises(ValueError, match="1 to 16 networks"):
        TrainConfig(networks=0)


def test_an_older_checkpoints_settings_still_load():
    """meta["train"] of a checkpoint written before the recipe became the default: removed settings are ignored."""
    old = {"epochs": 10, "batch_size": 32, "lr": 1e-3, "stack": 2, "frameskip": 3, "val_fraction": 0.2,
           "class_weights": True, "label_sets": False, "keep_moot": False, "augment": True, "shift": 4, "mirror": True,
           "average": 5.0, "ensemble": 3, "member_batches": "shuffled", "seed": 1, "device": "auto", "threads": None}
    config = TrainConfig.from_meta(old)
    assert (config.epochs, config.batch_size, config.lr, config.networks) == (10, 32, 1e-3, 3)
    assert config.obs == ObsConfig(stack=2, frameskip=3)
    assert TrainConfig.from_meta(asdict(config)) == config == TrainConfig(**asdict(config))


def test_training_drives_the_loss_down_and_fits_a_handful_of_samples_exactly(tmp_path):
    game = replace(resolve_game("pacman"), symmetric=False)  # a mirrored screen would show its label's mirror image
    path = record_handful(tmp_path / "demos")
    copies = [shutil.copy(path, path.with_name(f"copy-{i}.npz")) for i in range(7)]  # 8 passes an epoch
    config = TrainConfig(epochs=12, batch_size=5, lr=1e-3, val_fraction=0, device="cpu", threads=1)
    result = train(game, [path, *map(Path, copies)], tmp_path / "models", config)
    assert result.train_samples == 40
    assert result.final.train_loss < 0.1 * result.history[0].train_loss
    data = load_data([path], game, config.obs)
    ids = data.samples()
    policy = load_checkpoint(result.last_checkpoint, game).policy
    actions, _ = policy.act(data.pooled[data.stacks[ids]], greedy=True)
    assert actions.tolist() == data.labels[ids].tolist()
    assert all(p.is_file() for p in (result.best_checkpoint, result.last_checkpoint, result.avg_checkpoint))


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


def test_decisions_where_every_action_is_as_good_are_left_out(tmp_path):
    """On the same screens half the decisions say 'every action is as good' (labelled 2, the action
    held) and half say 'only UP': the policy learns UP from the others alone."""
    game = resolve_game("pacman")
    every = (1 << game.n_actions) - 1
    recorder = EpisodeRecorder(game, seed=0, player="moot", state_every=10_000)
    recorder.reset()
    for t in range(400):  # the start screen: nothing moves for the first seconds, every stack alike
        decisive = (t // 4) % 2 == 0
        recorder.step(0, label=1 if decisive else 2, label_set=0b10 if decisive else every)
    path = recorder.save(tmp_path / "demos")
    config = TrainConfig(epochs=3, batch_size=20, lr=1e-3, val_fraction=0, device="cpu", threads=1)
    result = train(game, [path], tmp_path / "skip", config)
    assert (result.train_samples, result.moot_samples) == (50, 50)
    data = load_data([path], game, config.obs)
    _, probs = load_checkpoint(result.last_checkpoint, game).policy.act(data.pooled[data.stacks[:1]], greedy=True)
    assert probs[0, 1] > 0.9  # UP is its own mirror image: mirroring leaves the label alone


def test_split_is_by_episode_and_metrics_cover_every_action(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=120, seed=s, hold=8) for s in range(4)]
    result = train(game, paths, tmp_path / "models", TrainConfig(epochs=1, val_fraction=0.25, device="cpu"))
    assert len(result.train_episodes) == 3 and len(result.val_episodes) == 1
    assert not set(result.train_episodes) & set(result.val_episodes)
    assert result.train_samples == 90 and result.val_samples == 30  # 30 decisions an episode
    assert set(result.final.recall) == set(game.action_names)
    assert result.final.val_loss is not None and 0 <= result.final.val_accuracy <= 1


def test_a_warm_started_run_keeps_the_split_and_the_networks_of_the_weights_it_starts_from(tmp_path):
    """A DAgger round retrains on more episodes from the last round's weights: none the weights
    learned may validate them, those they held out still do, and new episodes are split too."""
    game = resolve_game("pacman")
    demos = [record_scripted("pacman", tmp_path / "demos", frames=40, seed=s) for s in range(6)]
    rounds = [record_scripted("pacman", tmp_path / "rounds", frames=40, seed=s) for s in range(10, 20)]
    config = TrainConfig(epochs=1, val_fraction=0.34, networks=2, device="cpu", threads=1)
    first = train(game, demos, tmp_path / "bc", config)
    plans = []
    second = train(game, demos + rounds, tmp_path / "round", replace(config, networks=None),
                   init_from=first.avg_checkpoint, hooks=TrainHooks(on_plan=plans.append))
    assert plans[0].config.networks == 2 and plans[0].networks_why == "as the weights it starts from"
    names = lambda paths: {p.name for p in paths}  # noqa: E731
    assert names(first.val_episodes) <= names(second.val_episodes)
    assert not names(first.train_episodes) & names(second.val_episodes)
    new_held_out = names(second.val_episodes) & names(rounds)
    assert 0 < len(new_held_out) < len(rounds)
    assert names(second.train_episodes) | names(second.val_episodes) == names(demos + rounds)
    with pytest.raises(CheckpointError, match="is an ensemble of 2 networks, this run asks for one network"):
        train(game, demos, tmp_path / "other", replace(config, networks=1), init_from=first.avg_checkpoint)


def test_a_seeded_cpu_run_repeats_exactly_and_resume_continues_it(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s) for s in range(2)]
    config = TrainConfig(epochs=2, batch_size=16, seed=5, device="cpu", threads=1)
    first = train(game, paths, tmp_path / "a", config)
    second = train(game, paths, tmp_path / "b", config)
    assert [m.train_loss for m in first.history] == [m.train_loss for m in second.history]
    weights = lambda path, key="state_dict": torch.load(path, weights_only=True)[key]  # noqa: E731
    a, b = weights(first.last_checkpoint), weights(second.last_checkpoint)
    assert all(torch.equal(a[k], b[k]) for k in a)
    # an interrupted run (1 epoch) resumed to 2 epochs ends where the uninterrupted one did, its average too
    train(game, paths, tmp_path / "c", replace(config, epochs=1))
    resumed = train(game, paths, tmp_path / "c", config, resume=True)
    assert [m.epoch for m in resumed.history] == [1, 2]
    c = weights(resumed.last_checkpoint)
    assert all(torch.equal(a[k], c[k]) for k in a)
    averaged, again = weights(first.avg_checkpoint), weights(resumed.avg_checkpoint)
    assert all(torch.equal(averaged[k], again[k]) for k in averaged)
    # a resume that would train otherwise (another rate, another seed) is refused, naming what differs
    with pytest.raises(CheckpointError, match="was trained with lr 0.00025, seed 5, this run asks for lr 0.001, seed 6"):
        train(game, paths, tmp_path / "c", replace(config, epochs=3, lr=1e-3, seed=6), resume=True)


def test_a_training_cut_short_resumes_to_its_end_and_a_finished_one_resumes_as_it_is(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=16, seed=5, device="cpu", threads=1)

    def interrupt(_metrics) -> None:  # killed once the first epoch is saved
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(game, paths, tmp_path / "run", config, hooks=TrainHooks(on_epoch=interrupt))
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
    started = TrainConfig(epochs=2, batch_size=16, lr=1e-3, seed=5, device="cpu", threads=1)

    def interrupt(_metrics) -> None:  # Ctrl-C once the first epoch is saved
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(game, paths, tmp_path / "run", started, hooks=TrainHooks(on_epoch=interrupt))
    ran = started
    asked = TrainConfig(epochs=7, device="cpu", threads=2)  # `mimic train --resume --threads 2`
    assert resumed_config(tmp_path / "run", asked, given=["threads"]) == replace(ran, threads=2)
    assert resumed_config(tmp_path / "run", asked, given=["epochs", "threads", "lr"]) == replace(
        ran, epochs=7, threads=2, lr=asked.lr)
    assert resumed_config(tmp_path / "nothing", asked, given=[]) == asked  # `train` says there is nothing to resume


def test_the_weight_average_is_the_mean_of_the_steps_then_an_exponential_average():
    policy = Policy(PolicyConfig(n_actions=3))
    average = weight_average(policy, horizon=4)

    def step(value: float) -> None:
        with torch.no_grad():
            for param in policy.parameters():
                param.fill_(value)
        average.update_parameters(policy)

    for value in (1.0, 2.0, 6.0):
        step(value)
    assert all(torch.allclose(p, torch.full_like(p, 3.0)) for p in average.module.parameters())  # (1 + 2 + 6) / 3
    step(7.0)  # step 4 of a horizon of 4: still the mean, (1 + 2 + 6 + 7) / 4
    step(8.0)  # past the horizon: a quarter of the way from 4 to 8
    assert all(torch.allclose(p, torch.full_like(p, 5.0)) for p in average.module.parameters())
    with pytest.raises(ValueError, match="horizon of at least one step"):
        weight_average(policy, horizon=0.5)


def test_averaged_weights_are_kept_beside_the_last_and_validated(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=8, val_fraction=0.34, seed=3, device="cpu", threads=1)
    result = train(game, paths, tmp_path / "avg", config)
    assert result.avg_checkpoint == tmp_path / "avg" / "avg.pt"
    kept = load_checkpoint(result.avg_checkpoint, game)
    assert result.train_samples == 48  # two episodes of 24 decisions: 6 batches of 8 an epoch
    assert kept.meta["averaged"] == {"epochs": AVERAGE_EPOCHS, "steps": 2 * 6}
    last = torch.load(result.last_checkpoint, weights_only=True)["state_dict"]
    assert not all(torch.equal(v, last[k]) for k, v in kept.policy.state_dict().items())
    assert all(m.avg_val_loss is not None and 0 <= m.avg_val_accuracy <= 1 for m in result.history)
    assert result.accuracy == result.final.avg_val_accuracy


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
    probs = ensemble.probabilities(obs.numpy(), temperature=0.5)
    assert torch.allclose(probs.sum(dim=1), torch.ones(6))

    # each member its own batch, (B, members, ...): member k sees, and learns from, its own alone
    own_obs = torch.randint(0, 256, (6, 3, 4, 84, 84), dtype=torch.uint8)
    own_labels = torch.randint(0, 5, (6, 3))
    each = ensemble.member_logits(own_obs)
    for k, single in enumerate(members):
        assert torch.allclose(each[:, k], single(own_obs[:, k]), atol=1e-6)
    members_loss(each, own_labels).backward()
    for k, single in enumerate(members):
        F.cross_entropy(single(own_obs[:, k]), own_labels[:, k]).backward()
        for (name, mine), theirs in zip(ensemble.named_parameters(), single.parameters(), strict=True):
            assert torch.allclose(mine.grad.chunk(3)[k], theirs.grad, atol=1e-6), name


def test_an_ensemble_trains_into_one_checkpoint_each_network_on_its_own_order(tmp_path):
    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=96, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=2, batch_size=8, val_fraction=0.34, seed=3, device="cpu", threads=1, networks=2)
    result = train(game, paths, tmp_path / "run", config)
    assert "an ensemble of 2 networks (asked for)" in describe(result.plan)
    loaded = load_checkpoint(result.avg_checkpoint, game)
    assert loaded.policy.config.ensemble == 2 and loaded.meta["train"]["networks"] == 2
    actions, probs = loaded.policy.act(np.zeros((2, 4, 84, 84), np.uint8), rng=np.random.default_rng(0))
    assert actions.shape == (2,) and np.allclose(probs.sum(axis=1), 1)
    # a run stopped after one epoch resumes to the same weights, and only as an ensemble of 2
    train(game, paths, tmp_path / "resumed", replace(config, epochs=1))
    with pytest.raises(CheckpointError, match="is an ensemble of 2 networks, this run asks for one network; pass --networks 2"):
        train(game, paths, tmp_path / "resumed", replace(config, networks=1), resume=True)
    resumed = train(game, paths, tmp_path / "resumed", replace(config, networks=None), resume=True)
    weights = lambda result: load_checkpoint(result.last_checkpoint, game).policy.state_dict()  # noqa: E731
    assert all(torch.equal(v, weights(result)[k]) for k, v in weights(resumed).items())
    assert [(m.train_loss, m.val_loss) for m in resumed.history] == [(m.train_loss, m.val_loss) for m in result.history]


def test_the_ensemble_is_chosen_from_the_labelled_decisions_the_data_holds(tmp_path, monkeypatch):
    import agent.train

    game = resolve_game("pacman")
    paths = [record_scripted("pacman", tmp_path / "demos", frames=80, seed=s, hold=8) for s in range(2)]
    config = TrainConfig(epochs=1, batch_size=8, device="cpu", threads=1)
    small = train(game, paths, tmp_path / "small", config)
    assert small.plan.labelled == 40 and small.plan.config.networks == 1
    assert "one network (40 labelled decisions, under 20,000)" in describe(small.plan)
    monkeypatch.setattr(agent.train, "ENSEMBLE_MIN_LABELS", 40)  # the real threshold is out of reach at toy sizes
    large = train(game, paths, tmp_path / "large", config)
    assert large.plan.config.networks == ENSEMBLE_NETWORKS
    assert load_checkpoint(large.avg_checkpoint, game).policy.config.ensemble == ENSEMBLE_NETWORKS
    assert "an ensemble of 3 networks (40 labelled decisions, at least 40)" in describe(large.plan)


def test_mirroring_flips_about_half_the_training_decisions_with_their_labels(tmp_path):
    game = resolve_game("mspacman")
    paths = [record_scripted("mspacman", tmp_path, frames=400, seed=s, hold=8) for s in range(2)]
    data = load_data(paths, game, ObsConfig())
    ids = data.samples()
    mirror = torch.tensor(game.mirror_actions)
    plain = Batcher(data, torch.device("cpu"))
    batcher = Batcher(data, torch.device("cpu"), mirror=game.mirror)
    obs0, labels0 = plain.batch(ids)
    obs, labels = batcher.batch(ids, torch.Generator().manual_seed(0))
    flipped = ~(obs == obs0).flatten(1).all(1)
    assert 0.3 < float(flipped.float().mean()) < 0.7
    assert torch.equal(obs[flipped], obs0[flipped].flip(-1))
    assert torch.equal(labels[flipped], mirror[labels0[flipped]]) and torch.equal(labels[~flipped], labels0[~flipped])
    assert (labels != labels0).any()  # LEFT and RIGHT were among the labels
    assert torch.equal(batcher.batch(ids)[0], obs0)  # validation batches (no generator) are never mirrored
    members = batcher.batch(np.stack([ids, ids]), torch.Generator().manual_seed(0))[0]  # an ensemble's own batches
    assert members.shape == (len(ids), 2, 4, 84, 84) and not torch.equal(members[:, 0], members[:, 1])


def test_the_game_table_decides_mirroring_and_dagger_rounds_train_alike(tmp_path):
    game = resolve_game("mspacman")
    paths = [record_scripted("mspacman", tmp_path / "demos", frames=160, seed=s, hold=8) for s in range(3)]
    config = TrainConfig(epochs=1, batch_size=16, seed=1, device="cpu", threads=1)
    weights = lambda result: load_checkpoint(result.last_checkpoint, game).policy.state_dict()  # noqa: E731
    first, again = train(game, paths, tmp_path / "a", config), train(game, paths, tmp_path / "b", config)
    assert first.plan.mirror and "each decision also seen mirrored left to right (mspacman's screen is symmetric)" in (
        describe(first.plan))
    assert all(torch.equal(v, weights(again)[k]) for k, v in weights(first).items())
    flat = replace(game, symmetric=False)  # were Ms. Pac-Man's screen not symmetric
    plain = train(flat, paths, tmp_path / "plain", config)
    assert not plain.plan.mirror and "not mirrored (mspacman's screen is not symmetric)" in describe(plain.plan)
    assert not all(torch.equal(v, weights(plain)[k]) for k, v in weights(first).items())
    # a round trains on the game, not on a setting of its checkpoint: mirrored as the training it starts from
    plans = []
    rounds = round_training(DaggerConfig(epochs=1), load_checkpoint(first.avg_checkpoint, game).meta["train"], config.obs)
    train(game, paths, tmp_path / "round", replace(rounds, device="cpu", threads=1), init_from=first.avg_checkpoint,
          hooks=TrainHooks(on_plan=plans.append))
    assert plans[0].mirror
    with pytest.raises(ValueError, match="no mirror image left to right"):
        replace(game, action_names=("NOOP", "LEFT"), ale_actions=(0, 4))


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


def test_no_recordings_and_damaged_files(tmp_path):
    game = resolve_game("pacman")
    store = GameStore(tmp_path, "pacman")
    with pytest.raises(NoDataError, match="mimic play --record --game pacman"):
        train_game(store, game, TrainConfig(epochs=1))
    good = record_scripted("pacman", store.demos, frames=64)
    (store.demos / "zz-broken.npz").write_bytes(b"PK\x03\x04 broken")
    warnings = []
    result = train_game(store, game, TrainConfig(epochs=1, device="cpu"),
                        hooks=TrainHooks(warn=warnings.append))
    assert result.train_episodes == [good]
    assert len(warnings) == 1 and warnings[0].startswith("zz-broken.npz")
