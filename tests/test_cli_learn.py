"""`mimic train` and `mimic eval` through Typer's runner, on tiny real recordings."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import torch
from typer.testing import CliRunner

from agent.policy import load_checkpoint
from cli import app
from recorder.games import resolve_game
from recorder.store import GameStore
from tests.conftest import record_scripted

runner = CliRunner()
ROOT = Path(__file__).resolve().parent.parent


def test_train_with_no_flags_trains_the_recipe_and_says_what_it_chose(data_root, monkeypatch):
    import agent.train

    store = GameStore(data_root, "pacman")
    record_scripted("pacman", store.demos, frames=40, seed=0, player="ana")  # 10 decisions: 20 epochs in a moment
    trained = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root)], terminal_width=400)
    assert trained.exit_code == 0, trained.output
    said = trained.stdout.splitlines()[0]
    assert said.startswith("Training pacman on 1 episode: one network (10 labelled decisions, under 20,000); "
                           "each decision also seen mirrored left to right (pacman's screen is symmetric); "
                           "weights averaged over about the last 5 epochs (avg.pt); 20 epochs, batch 64, lr 0.00025")
    assert "epoch 20:" in trained.stdout and f"averaged (used by default): {store.models / 'avg.pt'}" in trained.stdout
    assert load_checkpoint(store.models / "avg.pt", resolve_game("pacman")).meta["epoch"] == 20
    # at the threshold the choice flips to the ensemble (the real one, 20,000, is out of reach at toy sizes)
    monkeypatch.setattr(agent.train, "ENSEMBLE_MIN_LABELS", 10)
    flipped = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "1"],
                            terminal_width=400)
    assert flipped.exit_code == 0, flipped.output
    assert "an ensemble of 3 networks (10 labelled decisions, at least 10)" in flipped.stdout
    assert load_checkpoint(store.models / "avg.pt", resolve_game("pacman")).policy.config.ensemble == 3


def test_train_then_eval_from_the_command_line(data_root):
    store = GameStore(data_root, "pacman")
    for seed in range(2):
        record_scripted("pacman", store.demos, frames=120, seed=seed, player="ana")
    (store.demos / "broken.npz").write_bytes(b"PK\x03\x04 broken")
    trained = runner.invoke(
        app,
        ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "2", "--batch-size", "16",
         "--val-fraction", "0.5", "--networks", "2", "--device", "cpu", "--threads", "1"],
        terminal_width=200,
    )
    assert trained.exit_code == 0, trained.output
    assert "broken.npz" in trained.stderr  # damaged episode: skipped, named in a warning
    for text in ("an ensemble of 2 networks (asked for)", "epoch 1: train loss", "epoch 2: train loss", "val loss",
                 "NOOP", "models/best.pt (epoch", "(averaged weights: loss", "avg loss", "models/avg.pt",
                 "the networks' mean"):
        assert text in trained.stdout
    assert all((store.models / name).is_file() for name in ("best.pt", "last.pt", "avg.pt"))

    # --resume alone continues the run as it was started: its settings come from last.pt
    changed = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "3",
                                  "--lr", "0.001", "--resume"], terminal_width=200)
    assert changed.exit_code == 2
    assert "last.pt was trained with lr 0.00025, this run asks for lr 0.001" in changed.output
    assert "Traceback" not in changed.output
    resumed = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--epochs", "3",
                                  "--device", "cpu", "--resume"], terminal_width=200)
    assert resumed.exit_code == 0, resumed.output
    assert "epoch 3:" in resumed.stdout and "epoch 1:" not in resumed.stdout
    for text in ("an ensemble of 2 networks (the run resumed)", "(averaged weights: loss"):
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
    assert str(report["checkpoint"]).endswith("avg.pt")  # the averaged weights are the default


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
    result = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), "--batch-size", "0"])
    assert result.exit_code == 2 and "batch size must be at least 1" in result.stderr
    for gone in ("--label-sets", "--keep-moot", "--member-batches", "--mirror", "--average", "--ensemble"):
        refused = runner.invoke(app, ["train", "--game", "pacman", "--data", str(data_root), gone])
        assert refused.exit_code == 2 and "No such option" in refused.output, gone


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
