"""`mimic train` and `mimic eval` through Typer's runner, on tiny real recordings."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import torch
from typer.testing import CliRunner

from cli import app
from recorder.store import GameStore
from tests.conftest import record_scripted

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def test_train_then_eval_from_the_command_line(data_root):
    store = GameStore(data_root, "pacman")
    for seed in range(2):
        record_scripted("pacman", store.demos, frames=120, seed=seed, player="ana")
    (store.demos / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    trained = runner.invoke(
        app,
        ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "2", "--batch-size", "16",
         "--val-fraction", "0.5", "--class-weights", "--augment", "--mirror", "--average", "1", "--ensemble", "2", "--member-batches", "bootstrap", "--device", "cpu",
         "--threads", "1"],
        terminal_width=200,
    )
    assert trained.exit_code == 0, trained.output
    assert "broken.npz" in trained.stderr  # damaged episode: skipped, named in a warning
    for text in ("epoch 1: train loss", "epoch 2: train loss", "val loss", "NOOP", "models/best.pt (epoch",
                 "(averaged weights: loss", "avg loss", "averaged: ", "models/avg.pt",
                 "an ensemble of 2 networks (bootstrap batches)", "mirrored half the time", "train loss and accuracy are the networks' mean"):
        assert text in trained.stdout
    assert all((store.models / name).is_file() for name in ("best.pt", "last.pt", "avg.pt"))

    # --resume alone continues the run as it was started: its settings come from last.pt
    changed = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "3",
                                  "--no-mirror", "--resume"], terminal_width=200)
    assert changed.exit_code == 2
    assert "last.pt was trained with mirror True, this run asks for mirror False" in changed.output
    assert "Traceback" not in changed.output
    resumed = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "3",
                                  "--device", "cpu", "--resume"], terminal_width=200)
    assert resumed.exit_code == 0, resumed.output
    assert "epoch 3:" in resumed.stdout and "epoch 1:" not in resumed.stdout
    for text in ("an ensemble of 2 networks (bootstrap batches)", "mirrored half the time", "(averaged weights: loss"):
        assert text in resumed.stdout
    assert torch.load(store.models / "avg.pt", weights_only=True)["meta"]["epoch"] == 3

    scored = runner.invoke(app, ["eval", "--game", "pacman", "--data", str(data_root), "--episodes", "2", "--envs",
                                 "2", "--max-frames", "300"], terminal_width=200)
    assert scored.exit_code == 0, scored.output
    for text in ("agent", "random", "players", "2 episodes recorded by people", "protocol: sticky actions 0.25",
                 "NOT the standard"):
        assert text in scored.stdout
    assert len(list(store.reports.glob("eval-*.json"))) == 1

    as_json = runner.invoke(app, ["eval", "--game", "pacman", "--data", str(data_root), "--episodes", "1",
                                  "--max-frames", "200", "--greedy", "--no-random", "--json"])
    assert as_json.exit_code == 0, as_json.output
    report = json.loads(as_json.stdout)
    assert report["agent"]["episodes"] == 1 and report["random"] is None and report["config"]["greedy"] is True


def test_trainings_apart_join_into_one_ensemble_that_plays_and_trains_on(data_root, tmp_path):
    from agent.dagger import DaggerConfig, round_training
    from agent.policy import load_checkpoint
    from agent.train import train
    from recorder.games import resolve_game

    store = GameStore(data_root, "pacman")
    for seed in range(4):
        record_scripted("pacman", store.demos, frames=120, seed=seed, player="ana")
    common = ["--game", "pacman", "--data", str(data_root), "--epochs", "1", "--batch-size", "16",
              "--val-fraction", "0.25", "--device", "cpu", "--threads", "1"]
    folders = [tmp_path / f"s{seed}" for seed in (1, 2)]
    for seed, folder in zip((1, 2), folders):
        trained = runner.invoke(app, ["train", *common, "--seed", str(seed), "--out", str(folder)], terminal_width=300)
        assert trained.exit_code == 0, trained.output
        assert f"best: {folder / 'best.pt'}" in trained.stdout
    assert not store.models.exists()  # --out: the trainings went to their own folders alone

    members = [str(folder / "best.pt") for folder in folders]
    joined = runner.invoke(app, ["ensemble", "--game", "pacman", "--data", str(data_root), *members],
                           terminal_width=300)
    assert joined.exit_code == 0, joined.output
    path = store.models / "ensemble.pt"
    for text in ("an ensemble of 2 networks", f"1: {members[0]}", f"2: {members[1]}", "epoch 1", f"written: {path}",
                 f"mimic eval --game pacman --checkpoint {path}"):
        assert text in joined.stdout
    pacman = resolve_game("pacman")
    ensemble = load_checkpoint(path, pacman)
    assert ensemble.policy.config.ensemble == 2 and ensemble.meta["members"] == members
    apart = [load_checkpoint(m, pacman).meta for m in members]
    trained_by_any = set(apart[0]["train_episodes"]) | set(apart[1]["train_episodes"])
    assert set(ensemble.meta["train_episodes"]) == trained_by_any
    assert set(ensemble.meta["val_episodes"]) == set(apart[0]["val_episodes"]) & set(apart[1]["val_episodes"])

    scored = runner.invoke(app, ["eval", "--game", "pacman", "--data", str(data_root), "--checkpoint", str(path),
                                 "--episodes", "1", "--max-frames", "200", "--no-random"], terminal_width=200)
    assert scored.exit_code == 0, scored.output

    # DAgger goes on from it: its rounds train both networks side by side, on its split
    rounds = round_training(DaggerConfig(epochs=1), ensemble.meta["train"], ensemble.obs)
    assert (rounds.ensemble, rounds.member_batches, rounds.batch_size) == (2, "shuffled", 16)
    warm = train(pacman, store.episode_paths(), tmp_path / "round", replace(rounds, device="cpu"), init_from=path)
    assert {p.name for p in warm.train_episodes} == trained_by_any

    for bad, says in (([members[0]], "joins 2 to 16 checkpoints, got 1"),
                      ([members[0], members[0]], "named twice"),
                      ([members[0], str(path), "--out", str(tmp_path / "other.pt")], "not a single network"),
                      ([members[0], members[1], "--out", members[1]], "is one of the members")):
        refused = runner.invoke(app, ["ensemble", "--game", "pacman", "--data", str(data_root), *bad],
                                terminal_width=300)
        assert refused.exit_code == 2 and says in refused.stderr, refused.output
        assert len(refused.stderr.strip().splitlines()) == 1
    assert load_checkpoint(members[1], pacman).policy.config.ensemble == 1  # not written over


def test_no_recordings_says_how_to_record(data_root):
    result = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root)])
    assert result.exit_code == 2
    assert "mimic play --record --game pacman" in result.stderr and "Traceback" not in result.output
    missing = runner.invoke(app, ["eval", "--game", "pacman", "--data", str(data_root)])
    assert missing.exit_code == 2 and "mimic train --game pacman" in missing.stderr


def test_a_checkpoint_for_another_game_is_one_line(data_root, tmp_path):
    from agent.obs import ObsConfig
    from agent.policy import Policy, PolicyConfig, save_checkpoint
    from recorder.games import resolve_game

    pacman = resolve_game("pacman")
    path = save_checkpoint(tmp_path / "pac.pt", Policy(PolicyConfig(pacman.n_actions)), pacman, ObsConfig())
    result = runner.invoke(app, ["eval", "--game", "mspacman", "--data", str(data_root), "--checkpoint", str(path)],
                           terminal_width=400)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "pacman (5 actions" in lines[0] and "mspacman (9 actions" in lines[0]


def test_bad_options_are_one_line(data_root):
    record_scripted("pacman", GameStore(data_root, "pacman").demos, frames=40)
    result = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--stack", "0"])
    assert result.exit_code == 2 and "stack must be between 1 and 16" in result.stderr


def test_the_real_cli_answers_help_for_train_and_eval():
    for command in ("train", "eval"):
        done = subprocess.run([sys.executable, "-m", "cli", command, "--help"], cwd=ROOT, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0 and "--game" in done.stdout


def test_watch_video_writes_an_mp4_with_one_frame_per_emulator_frame(data_root, tmp_path):
    import imageio.v3 as iio
    import torch

    from agent.obs import ObsConfig
    from agent.policy import Policy, PolicyConfig, save_checkpoint
    from agent.watch import agent_frames
    from recorder.games import resolve_game

    game = resolve_game("pacman")
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(game.n_actions)).eval()
    save_checkpoint(GameStore(data_root, "pacman").models / "best.pt", policy, game, ObsConfig())
    out = tmp_path / "watch.mp4"
    result = runner.invoke(app, ["watch", "--game", "pacman", "--data", str(data_root), "--video", str(out),
                                 "--max-frames", "200", "--scale", "2"])
    assert result.exit_code == 0, result.output
    played = list(agent_frames(policy, game, ObsConfig(), max_frames=200))  # the same seed: the same game
    assert played[-1].step == len(played) - 1 == 200  # the first screen, then every frame played up to the cap
    video = iio.imread(out)
    assert video.shape[0] == len(played) and f"{len(played)} frames" in result.stdout
    assert video.shape[1:] == (44 + 250 * 2, 160 * 2 + 230, 3)  # HUD on top, probability bars on the right
    no_video = runner.invoke(app, ["watch", "--game", "pacman", "--data", str(data_root)])
    assert no_video.exit_code == 2 and "--video" in no_video.stderr
