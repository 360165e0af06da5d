"""`mimic play` through Typer's runner: the key table and refusing bad options up front."""

from __future__ import annotations

from typer.testing import CliRunner

from cli import app

runner = CliRunner()


def test_keys_lists_the_games_actions_and_the_control_keys():
    result = runner.invoke(app, ["play", "--keys", "--game", "mspacman"], terminal_width=160)
    assert result.exit_code == 0, result.output
    for text in ("UPRIGHT", "Up/W + Right/D", "DOWNLEFT", "(nothing held)", "Backspace", "Esc", "step mode", "50%"):
        assert text in result.output
    pacman = runner.invoke(app, ["play", "--keys"], terminal_width=160)
    assert pacman.exit_code == 0 and "pacman: 5 actions" in pacman.output and "UPRIGHT" not in pacman.output


def test_bad_options_are_one_clear_line_before_any_window(tmp_path):
    for args, message in (
        (["--scale", "9"], "scale must be a whole number from 1 to 8"),
        (["--speed", "0"], "speed must be between"),
        (["--episodes", "0"], "episodes must be at least 1"),
        (["--max-frames", "0"], "max frames per episode must be at least 1"),
        (["--game", "pacmn"], "unknown game 'pacmn'"),
    ):
        result = runner.invoke(app, ["play", "--record", "--data", str(tmp_path), *args])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
