"""`mimic data` and `mimic games` through Typer's runner."""

from __future__ import annotations

from typer.testing import CliRunner

from cli import app
from recorder.store import GameStore
from tests.conftest import record_scripted

runner = CliRunner()


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
