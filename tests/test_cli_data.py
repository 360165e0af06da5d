"""`mimic data`, `mimic games` and `mimic --help`, through Typer's runner and as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from cli import app
from recorder.store import GameStore, read_info
from tests.conftest import record_scripted

runner = CliRunner()
REPO = Path(__file__).resolve().parent.parent


def mimic(*args: str) -> subprocess.CompletedProcess:
    """`mimic ARGS` as a process whose output goes to a pipe, as `mimic ... > log` writes to a file."""
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=300)


def test_data_ls_shows_episodes_totals_and_histogram(data_root):
    store = GameStore(data_root, "pacman")
    path = record_scripted("pacman", store.demos, frames=240, player="ana")
    result = runner.invoke(app, ["data", "ls", "--game", "pacman", "--data", str(data_root)], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert path.stem in result.output and "ana" in result.output and "240" in result.output
    for action in ("NOOP", "UP", "RIGHT", "LEFT", "DOWN"):
        assert action in result.output


def test_data_root_comes_from_the_environment(data_root):
    record_scripted("pacman", GameStore(data_root, "pacman").demos, frames=30, player="env")
    result = runner.invoke(app, ["data", "ls"], env={"MIMIC_DATA": str(data_root)}, terminal_width=200)
    assert result.exit_code == 0 and "env" in result.output


def test_data_verify_passes_then_flags_a_damaged_file(data_root):
    store = GameStore(data_root, "pacman")
    record_scripted("pacman", store.demos, frames=120)
    ok = runner.invoke(app, ["data", "verify", "--data", str(data_root)])
    assert ok.exit_code == 0 and "replay exactly" in ok.output
    (store.demos / "broken.npz").write_bytes(b"PK\x03\x04garbage")
    bad = runner.invoke(app, ["data", "verify", "--data", str(data_root)])
    assert bad.exit_code == 1 and "broken.npz" in bad.output


def test_data_rm_asks_first(data_root):
    store = GameStore(data_root, "pacman")
    path = record_scripted("pacman", store.demos, frames=30)
    kept = runner.invoke(app, ["data", "rm", path.stem, "--game", "pacman", "--data", str(data_root)], input="n\n")
    assert kept.exit_code == 0 and path.exists()
    gone = runner.invoke(app, ["data", "rm", path.stem, "--game", "pacman", "--data", str(data_root)], input="y\n")
    assert gone.exit_code == 0 and not path.exists()


def test_unknown_game_is_one_clear_line(data_root):
    result = runner.invoke(app, ["data", "ls", "--game", "mspacmn", "--data", str(data_root)])
    assert result.exit_code == 2
    assert "unknown game 'mspacmn'" in result.output and "mspacman" in result.output
    assert "Traceback" not in result.output


def test_no_recordings_says_how_to_record(data_root):
    result = runner.invoke(app, ["data", "ls", "--data", str(data_root)])
    assert result.exit_code == 0 and "mimic play --record" in result.output


def test_output_written_to_a_log_keeps_every_cell_whole(data_root):
    """Piped, the console is not 80 columns: a wide table widens instead of cutting cells to `s…`."""
    store = GameStore(data_root, "pacman")
    player = "a-player-with-a-rather-long-name"
    path = record_scripted("pacman", store.demos, frames=150, player=player)
    listed = mimic("data", "ls", "--data", str(data_root))
    assert listed.returncode == 0, listed.stderr
    assert "…" not in listed.stdout
    row = next(line for line in listed.stdout.splitlines() if path.stem in line)
    score = read_info(path).score
    assert row.split() == [path.stem, player, "150", "0:02", f"{score:,.0f}", "100%", "quit"]
    assert len(row) > 80  # the table is wider than the 80 columns Rich assumes off a terminal
    assert "\x1b" not in listed.stdout  # no colour codes in a log
    verified = mimic("data", "verify", "--data", str(data_root))
    assert verified.returncode == 0, verified.stderr
    lines = verified.stdout.splitlines()  # one line per episode and the verdict: no progress bar in the log
    assert len(lines) == 2 and lines[0].startswith(f"ok  pacman/demos/{path.name}: "), verified.stdout
    assert lines[1] == "All 1 episodes replay exactly."


def test_help_lists_the_commands_in_the_order_a_user_meets_them():
    result = mimic("--help")
    assert result.returncode == 0, result.stderr
    order = ["play", "data", "train", "watch", "eval", "dagger", "expert", "demo", "games"]
    panel = result.stdout.split("Commands", 1)[1].splitlines()
    commands = [line.split()[1] for line in panel if line.startswith("│ ") and line[2] != " "]  # not continued lines
    assert commands[: len(order)] == order
