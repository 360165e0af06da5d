"""DAgger on the real ROM with the real planner and real (tiny) training."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from agent.dagger import WARM_EPOCHS, DaggerConfig, DaggerRunner, round_training
from agent.dagger.planner import PlannerCollector, roll_out
from agent.dagger.rounds import RoundResult, beta_for_round, finished_rounds, plot_rounds
from agent.planner import Expert, ExpertConfig
from agent.obs import ObsConfig, decision_labels, decision_targets
from agent.policy import Policy, PolicyConfig
from agent.train import TrainConfig, train
from cli import app
from recorder.games import make_env, resolve_game
from recorder.recording import verify_episode
from recorder.store import GameStore, load_episode
from tests.conftest import record_scripted

FAST_EXPERT = ExpertConfig(budget=120, depth=5)


def test_beta_halves_each_round_and_rejects_nonsense():
    assert [beta_for_round(r, 0.5) for r in (1, 2, 3)] == [0.5, 0.25, 0.125]
    assert beta_for_round(4, 0.0) == 0.0
    with pytest.raises(ValueError, match="rounds count from 1"):
        beta_for_round(0)
    with pytest.raises(ValueError, match=r"beta0 must be within \[0, 1\]"):
        DaggerConfig(beta0=1.5)
    with pytest.raises(ValueError, match="temperature must be > 0"):
        DaggerConfig(temperature=0.0)
    # the recipe: rounds of 2 rollouts of at most 3,000 frames, 5 warm epochs, sampled at temperature 0.25
    config = DaggerConfig()
    assert (config.rounds, config.episodes, config.max_frames, config.epochs, config.temperature) == (
        5, 2, 3000, WARM_EPOCHS, 0.25) and WARM_EPOCHS == 5


def test_rollouts_sample_at_the_temperature_asked(tmp_path):
    """A near-zero temperature plays the policy's most probable actions, as --greedy does."""
    game = resolve_game("pacman")
    obs = ObsConfig()
    torch.manual_seed(3)
    policy = Policy(PolicyConfig(n_actions=game.n_actions, stack=obs.stack)).eval()
    expert = Expert(game, ExpertConfig(budget=40, depth=2), seed=0)
    played = {}
    for name, options in {"greedy": {"greedy": True}, "cold": {"temperature": 1e-6},
                          "warm": {"temperature": 1.0}}.items():
        rollout = roll_out(policy, obs, game, expert, beta=0.0, seed=1, max_frames=200, directory=tmp_path / name,
                           rng=np.random.default_rng(0), **options)
        played[name] = load_episode(rollout.path, frames=False).actions.tolist()
    assert played["cold"] == played["greedy"]
    assert played["warm"] != played["greedy"]


def test_rollout_stores_executed_actions_and_the_experts_labels(tmp_path):
    game = resolve_game("pacman")
    obs = ObsConfig()
    policy = Policy(PolicyConfig(n_actions=game.n_actions, stack=obs.stack)).eval()
    expert = Expert(game, FAST_EXPERT, seed=0)
    rollout = roll_out(policy, obs, game, expert, beta=0.5, seed=1, max_frames=240, directory=tmp_path,
                       rng=np.random.default_rng(0))
    episode = load_episode(rollout.path)
    assert episode.info.source == "dagger" and episode.info.ended == "frame_cap"
    assert verify_episode(rollout.path).ok
    assert 0 < rollout.expert_decisions < rollout.decisions == len(decision_labels(episode.labels, 4))

    # Replay the rollout; before each decision ask the expert afresh: the stored label is its answer.
    env = make_env(game)
    env.reset(seed=episode.info.seed)
    ale = env.unwrapped.ale
    labels, sets = decision_targets(episode.labels, episode.label_sets, obs.frameskip)
    previous = None
    for decision, (label, as_good) in enumerate(zip(labels.tolist(), sets.tolist())):
        assert (label, as_good) == expert.judge(ale.cloneState().serialize(), previous), f"decision {decision}"
        for step in range(decision * 4, min(decision * 4 + 4, len(episode))):
            env.step(int(episode.actions[step]))
        previous = int(episode.actions[decision * 4])
    # Where the expert was in control, what was executed is its label.
    executed = episode.actions[::4]
    assert (executed == labels).sum() >= rollout.expert_decisions


@pytest.fixture
def bc_store(tmp_path) -> tuple[GameStore, Path]:
    game = resolve_game("pacman")
    store = GameStore(tmp_path / "data", "pacman")
    record_scripted("pacman", store.demos, frames=600, seed=0)
    record_scripted("pacman", store.demos, frames=600, seed=1)
    result = train(game, store.episode_paths(), store.models, TrainConfig(epochs=1, val_fraction=0.0))
    return store, result.avg_checkpoint


def test_rounds_aggregate_retrain_and_resume(bc_store):
    store, start = bc_store
    game = resolve_game("pacman")
    config = DaggerConfig(rounds=1, episodes=1, max_frames=200, epochs=1, eval_episodes=1, eval_max_frames=800)
    expert = Expert(game, FAST_EXPERT, seed=0)
    events = []
    first = DaggerRunner(game, store, start, PlannerCollector(game, expert, 200), config, on_event=events.append).run()
    assert [r.round for r in first] == [1]
    [plan] = [e.detail for e in events if e.kind == "plan"]  # what the round's training chose, told before it trains
    assert plan.mirror and plan.config.networks == 1 and plan.networks_why == "as the weights it starts from"
    round_one = store.dagger_round(1)
    assert len(list(round_one.glob("*.npz"))) == 1 and (round_one / "round.json").is_file()
    assert first[0].new_labels == 50 and first[0].total_labels > first[0].new_labels
    assert Path(first[0].checkpoint) == store.models / "dagger-round-001" / "avg.pt"  # the averaged weights kept
    assert Path(first[0].checkpoint).is_file()

    files_before = sorted(p.name for p in round_one.iterdir())
    again = DaggerRunner(game, store, start, PlannerCollector(game, expert, 200),
                         DaggerConfig(**{**config.__dict__, "rounds": 2})).run()
    assert [r.round for r in again] == [1, 2]
    assert sorted(p.name for p in round_one.iterdir()) == files_before  # round 1 kept as it was
    assert again[1].total_labels == again[0].total_labels + again[1].new_labels
    assert finished_rounds(store.dagger) == again

    plot = plot_rounds(again, store.reports / "dagger.png", game="pacman", expert_score=100.0, bc_score=5.0)
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_rounds_train_as_the_starting_policy_did():
    """A policy trained with other settings than the defaults (`mimic train --lr ...`) is retrained
    with those settings; settings of older checkpoints no longer kept are ignored."""
    started = {**asdict(TrainConfig(epochs=20, batch_size=32, lr=1e-3, val_fraction=0.2, networks=3, seed=9,
                                    device="cuda", threads=7)), "augment": True, "keep_moot": True, "average": 5.0}
    obs = ObsConfig(stack=2, frameskip=3)
    rounds = round_training(DaggerConfig(seed=4), started, obs)
    assert (rounds.epochs, rounds.batch_size, rounds.lr, rounds.val_fraction) == (WARM_EPOCHS, 32, 1e-3, 0.2)
    assert rounds.obs == obs and rounds.networks is None  # the networks: those of the weights a round starts from
    assert (rounds.seed, rounds.device, rounds.threads) == (4, "auto", None)  # the run's and this machine's
    assert round_training(DaggerConfig(epochs=2), {}, obs).epochs == 2
    given = round_training(DaggerConfig(), started, obs, TrainConfig(epochs=2, device="cpu"))
    assert (given.epochs, given.lr, given.device) == (WARM_EPOCHS, TrainConfig().lr, "cpu")


def test_the_runner_reads_the_starting_policys_training(bc_store):
    store, start = bc_store  # trained 1 epoch, nothing held out
    game = resolve_game("pacman")
    collector = PlannerCollector(game, Expert(game, FAST_EXPERT, seed=0), 200)
    runner = DaggerRunner(game, store, start, collector, DaggerConfig())
    assert (runner.train_config.epochs, runner.train_config.val_fraction) == (WARM_EPOCHS, 0.0)


def test_cli_dagger_help_groups_the_planners_options_and_the_persons():
    shown = CliRunner().invoke(app, ["dagger", "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert shown.exit_code == 0, shown.output
    text = shown.output
    assert "Planning expert" in text and "A person labels" in text
    assert text.index("Planning expert") < text.index("--budget") < text.index("A person labels") < text.index("--queries")
    for gone in ("--retrain", "--keep ", "BENCHMARKS"):
        assert gone not in text


def test_an_unfinished_round_keeps_its_rollouts(bc_store):
    store, start = bc_store
    game = resolve_game("pacman")
    folder = store.dagger_round(1)
    kept = record_scripted("pacman", folder, frames=100, seed=7)  # a rollout of an interrupted run
    config = DaggerConfig(rounds=1, episodes=2, max_frames=200, epochs=1, eval_episodes=1, eval_max_frames=800)
    collector = PlannerCollector(game, Expert(game, FAST_EXPERT, seed=0), 200)
    results = DaggerRunner(game, store, start, collector, config).run()
    assert kept.exists() and len(list(folder.glob("*.npz"))) == 2
    assert results[0].new_labels == 25 + 50


def test_round_result_round_trip(tmp_path):
    result = RoundResult(round=3, beta=0.125, new_labels=10, total_labels=99, val_accuracy=0.5, score_mean=12.0,
                         score_ci95=1.5, episodes=4, checkpoint="x.pt", seconds=3.0)
    result.save(tmp_path / "round-003")
    assert RoundResult.load(tmp_path / "round-003") == result
    assert finished_rounds(tmp_path) == []  # round 1 is missing: nothing finished in order


def test_a_damaged_round_json_leaves_its_round_unfinished_with_one_warning(tmp_path):
    first = RoundResult(round=1, beta=0.5, new_labels=10, total_labels=99, val_accuracy=0.5, score_mean=12.0,
                        score_ci95=None, episodes=1, checkpoint="x.pt", seconds=3.0)
    first.save(tmp_path / "round-001")
    (tmp_path / "round-002").mkdir()
    (tmp_path / "round-002" / "round.json").write_text('{"round": 2, "be')
    RoundResult(**{**first.__dict__, "round": 3}).save(tmp_path / "round-003")
    said: list[str] = []
    assert finished_rounds(tmp_path, said.append) == [first]
    assert len(said) == 1 and "round-002" in said[0] and "unfinished" in said[0]


def test_cli_dagger_without_a_policy_says_to_train_first(data_root):
    result = CliRunner().invoke(app, ["dagger", "--game", "pacman", "--data", str(data_root)])
    assert result.exit_code == 2
    assert "mimic train --game pacman" in result.output and "Traceback" not in result.output


def test_cli_dagger_with_the_planner_reports_the_planners_labels(bc_store):
    store, start = bc_store
    result = CliRunner().invoke(app, ["dagger", "--game", "pacman", "--rounds", "1", "--episodes", "1",
                                      "--max-frames", "200", "--epochs", "1", "--eval-episodes", "1",
                                      "--eval-max-frames", "800", "--budget", "120", "--workers", "1",
                                      "--checkpoint", str(start), "--data", str(store.root)])
    assert result.exit_code == 0, result.output
    rollout = next(line for line in result.output.splitlines() if "rollout" in line and ".npz" in line)
    assert "decisions labelled (" in rollout and "taken by the expert" in rollout and "by you" not in rollout
    assert "DAgger on pacman: rounds 1..1" in result.output and "final policy:" in result.output
    assert (store.dagger_round(1) / "round.json").is_file()
