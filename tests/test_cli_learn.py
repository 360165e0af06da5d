"""`mimic train` and `mimic eval` through Typer's runner, on tiny real recordings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
         "--val-fraction", "0.5", "--class-weights", "--augment", "--average", "1", "--ensemble", "2", "--member-batches", "bootstrap", "--device", "cpu",
         "--threads", "1"],
        terminal_width=200,
    )
    assert trained.exit_code == 0, trained.output
    assert "broken.npz" in trained.stderr  # damaged episode: skipped, named in a warning
    for text in ("epoch 1: train loss", "epoch 2: train loss", "val loss", "NOOP", "models/best.pt (epoch",
                 "(averaged weights: loss", "avg loss", "averaged: ", "models/avg.pt",
                 "an ensemble of 2 networks (bootstrap batches)", "train loss and accuracy are the networks' mean"):
        assert text in trained.stdout
    assert all((store.models / name).is_file() for name in ("best.pt", "last.pt", "avg.pt"))

    resumed = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "3",
                                  "--batch-size", "16", "--val-fraction", "0.5", "--class-weights", "--augment",
                                  "--ensemble", "2", "--member-batches", "bootstrap", "--device", "cpu", "--resume"],
                           terminal_width=200)
    assert resumed.exit_code == 0, resumed.output
    assert "epoch 3:" in resumed.stdout and "epoch 1:" not in resumed.stdout

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
    assert played[-1].step == len(played) - 1 and len(played) < 200  # the first screen, then every frame played
    video = iio.imread(out)
    assert video.shape[0] == len(played) and f"{len(played)} frames" in result.stdout
    assert video.shape[1:] == (44 + 250 * 2, 160 * 2 + 230, 3)  # HUD on top, probability bars on the right
    no_video = runner.invoke(app, ["watch", "--game", "pacman", "--data", str(data_root)])
    assert no_video.exit_code == 2 and "--video" in no_video.stderr
