"""`mimic demo --quick`: every step of the headless pipeline, through the real CLI, at toy sizes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import imageio.v2 as imageio
import pytest

from recorder.recording import verify_episode
from recorder.store import GameStore, StoreError, read_info

ROOT = Path(__file__).resolve().parent.parent


def test_quick_demo_runs_every_step_and_writes_report_plot_and_video(tmp_path):
    root = tmp_path / "demo"
    done = subprocess.run(
        [sys.executable, "-m", "cli", "demo", "--quick", "--data", str(root), "--video-frames", "240"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env={"COLUMNS": "160", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    store = GameStore(root, "pacman")
    demos = store.episode_paths(dagger=False)
    assert len(demos) == 2 and all(read_info(p).player == "expert" for p in demos)
    rollouts = store.episode_paths(demos=False)
    assert {p.parent.name for p in rollouts} == {"round-001", "round-002"}
    assert all(verify_episode(p).ok for p in demos + rollouts)
    assert (store.dagger_round(2) / "round.json").is_file()

    printed = dict(line.split(":", 1) for line in done.stdout.splitlines()
                   if line.split(":", 1)[0] in ("report", "plot", "video", "policy"))
    report = json.loads(Path(printed["report"].strip()).read_text())
    assert report["agent"]["episodes"] == 2 and report["random"]["episodes"] == 2
    assert Path(printed["plot"].strip()).read_bytes()[:4] == b"\x89PNG"
    video = Path(printed["video"].strip())
    said = next(line for line in done.stdout.splitlines() if line.startswith(f"{video}: "))
    frames = imageio.get_reader(video).count_frames()
    assert said.startswith(f"{video}: {frames:,} frames") and 100 < frames <= 241  # capped at 240 frames played
    assert Path(printed["policy"].strip()) == store.models / "dagger-round-002" / "avg.pt"  # rounds keep the averaged weights
    assert "DAgger rounds" in done.stdout and "random" in done.stdout


def test_demo_writes_only_into_a_root_of_its_own(tmp_path):
    from agent.demo import DEMO_MARK, demo_root

    users = tmp_path / "users"
    (users / "pacman" / "models").mkdir(parents=True)
    (users / "pacman" / "models" / "best.pt").write_bytes(b"their weights")
    with pytest.raises(StoreError, match="did not make"):
        with demo_root(users):
            pass
    assert sorted(p.name for p in users.rglob("*")) == ["best.pt", "models", "pacman"]
    fresh = tmp_path / "fresh"
    with demo_root(fresh):
        (fresh / "pacman").mkdir()
    assert (fresh / DEMO_MARK).is_file()
    with demo_root(fresh):  # a demo's own root: a re-run continues there
        pass
