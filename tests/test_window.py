"""The game view off-screen (no display at all): the picture `watch --video` would write."""

from __future__ import annotations

import numpy as np
import pytest

from recorder.games import make_env, resolve_game
from recorder.window import HUD_HEIGHT, PANEL_WIDTH, RED, GameView, NoDisplayError, check_display

MSPACMAN = resolve_game("mspacman")


@pytest.fixture(scope="module")
def frame():
    env = make_env(MSPACMAN)
    obs, _ = env.reset(seed=0)
    for _ in range(60):
        obs, *_ = env.step(0)
    env.close()
    return obs


def hud(**kw):
    return {"score": 120, "lives": 3, "episode": 2, "action": "LEFT", "fps": 59.8, "mode": "100%"} | kw


def test_headless_view_renders_the_frame_scaled_exactly(frame):
    view = GameView(frame.shape, MSPACMAN.action_names, scale=3, headless=True)
    view.draw(frame, hud())
    picture = view.to_array()
    h, w = frame.shape[:2]
    assert picture.shape == (HUD_HEIGHT + 3 * h, 3 * w, 3) and picture.dtype == np.uint8
    game_area = picture[HUD_HEIGHT:]
    assert np.array_equal(game_area, frame.repeat(3, axis=0).repeat(3, axis=1))


def test_rec_mark_is_red_only_while_recording(frame):
    view = GameView(frame.shape, MSPACMAN.action_names, scale=2, headless=True)
    red = np.all(np.abs(view_picture(view, frame, rec=True)[:HUD_HEIGHT].astype(int) - RED) < 30, axis=-1)
    assert red.sum() > 40
    red_off = np.all(np.abs(view_picture(view, frame, rec=False)[:HUD_HEIGHT].astype(int) - RED) < 30, axis=-1)
    assert red_off.sum() == 0


def test_hud_text_changes_with_its_values(frame):
    view = GameView(frame.shape, MSPACMAN.action_names, scale=2, headless=True)
    a = view_picture(view, frame)[:HUD_HEIGHT]
    assert not np.array_equal(a, view_picture(view, frame, score=130)[:HUD_HEIGHT])
    assert not np.array_equal(a, view_picture(view, frame, mode="PAUSED")[:HUD_HEIGHT])
    assert not np.array_equal(a, view_picture(view, frame, agent="bc-003")[:HUD_HEIGHT])  # any other key shows


def test_probability_bars_are_as_long_as_the_probabilities(frame):
    view = GameView(frame.shape, MSPACMAN.action_names, scale=2, headless=True, probs_panel=True)
    probs = np.array([0.05, 0.6, 0.1, 0.05, 0.2, 0, 0, 0, 0])
    view.draw(frame, hud(action=None), probs=probs)
    picture = view.to_array()
    assert picture.shape[1] == 2 * frame.shape[1] + PANEL_WIDTH
    panel = picture[HUD_HEIGHT:, 2 * frame.shape[1]:].astype(int)
    colored = (panel[..., 2] > 180) & (panel[..., 0] < 120) | (panel[..., 0] > 240) & (panel[..., 1] > 170)
    row = min(26, panel.shape[0] // len(probs))
    lengths = [colored[8 + i * row + 4, 96:].sum() for i in range(len(probs))]
    assert lengths[1] == max(lengths) and lengths[5] == 0
    assert lengths[1] > 2 * lengths[4] > 0
    with pytest.raises(ValueError, match="9 actions"):
        view.draw(frame, hud(), probs=[0.5, 0.5])


def test_a_frame_of_the_wrong_size_is_refused(frame):
    view = GameView(frame.shape, MSPACMAN.action_names, headless=True)
    with pytest.raises(ValueError, match="does not match"):
        view.draw(frame[:100], hud())


def test_no_display_is_detected_before_pygame_tries(monkeypatch):
    monkeypatch.delenv("SDL_VIDEODRIVER", raising=False)
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(NoDisplayError, match="xvfb-run"):
        check_display()
    monkeypatch.setenv("DISPLAY", ":987")  # no X server there
    with pytest.raises(NoDisplayError, match="DISPLAY=:987"):
        check_display()
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")  # asked for no display: fine
    check_display()


def view_picture(view, frame, **hud_values):
    view.draw(frame, hud(**hud_values))
    return view.to_array()
