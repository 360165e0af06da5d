"""The play loop on the real emulator in a real pygame window (dummy video driver), driven by
real pygame events posted to its queue, the way a keyboard would."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from recorder.games import resolve_game
from recorder.play import PersonControls, PlayConfig, PlayLoop
from recorder.recording import verify_episode
from recorder.store import load_episode
from recorder.window import pygame
from tests.events import down, ticks, up

PACMAN = resolve_game("pacman")
A = {name: i for i, name in enumerate(PACMAN.action_names)}


@pytest.fixture(autouse=True)
def dummy_video(monkeypatch):
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


@pytest.fixture
def loop(tmp_path):
    loop = PlayLoop(PlayConfig(PACMAN, player="tester", seed=5, directory=tmp_path / "demos", realtime=False))
    loop.start()
    yield loop
    loop.close()




def saved_files(loop):
    return sorted(loop.config.directory.glob("*.npz"))


def test_stored_actions_follow_the_keys_held_frame_by_frame(loop):
    expected = []
    ticks(loop, 6)
    expected += [A["NOOP"]] * 6
    down(pygame.K_RIGHT)
    ticks(loop, 10)
    expected += [A["RIGHT"]] * 10
    down(pygame.K_w)  # UP on top of RIGHT: Pac-Man has no diagonals, the latest press wins
    ticks(loop, 7)
    expected += [A["UP"]] * 7
    up(pygame.K_w)
    ticks(loop, 5)
    expected += [A["RIGHT"]] * 5
    down(pygame.K_a)  # LEFT + RIGHT cancel: no horizontal move
    ticks(loop, 4)
    expected += [A["NOOP"]] * 4
    up(pygame.K_RIGHT)
    ticks(loop, 8)
    expected += [A["LEFT"]] * 8
    up(pygame.K_a)
    down(pygame.K_DOWN)
    ticks(loop, 3)
    expected += [A["DOWN"]] * 3
    down(pygame.K_ESCAPE)
    loop.tick()

    assert not loop.running
    [path] = saved_files(loop)
    episode = load_episode(path)
    assert episode.actions.tolist() == expected
    assert episode.labels.tolist() == expected
    assert episode.info.ended == "quit" and episode.info.player == "tester" and episode.info.seed == 5
    assert episode.frames.shape[0] == len(expected) + 1 and episode.frames.dtype == np.uint8
    assert verify_episode(path).ok


def test_pause_stops_the_game_and_resumes_it(loop):
    ticks(loop, 5)
    down(pygame.K_p)
    ticks(loop, 20)
    assert loop.recorder.length == 5 and loop.hud()["mode"] == "PAUSED"
    down(pygame.K_RIGHT)  # keys held while paused do not move the game either
    ticks(loop, 5)
    assert loop.recorder.length == 5
    down(pygame.K_p)
    ticks(loop, 5)
    assert loop.recorder.length == 10 and loop.hud()["mode"] == "100%"
    assert loop.recorder._buf.actions[-5:] == [A["RIGHT"]] * 5


def test_speed_keys_change_the_speed_and_it_is_stored_per_frame(loop):
    ticks(loop, 3)
    down(pygame.K_2)
    ticks(loop, 3)
    assert loop.speed == 0.5 and loop.hud()["mode"] == "50%"
    down(pygame.K_MINUS)
    ticks(loop, 3)
    assert loop.speed == 0.25
    down(pygame.K_MINUS)  # already the slowest
    down(pygame.K_EQUALS)
    ticks(loop, 3)
    assert loop.speed == 0.5
    down(pygame.K_1)
    ticks(loop, 3)
    down(pygame.K_ESCAPE)
    loop.tick()
    episode = load_episode(saved_files(loop)[0], frames=False)
    assert episode.speeds.tolist() == [1.0] * 3 + [0.5] * 3 + [0.25] * 3 + [0.5] * 3 + [1.0] * 3


def test_the_clock_follows_the_speed(tmp_path):
    """25% speed is 15 frames a second: 12 frames (the first shown at once) need 11/15 s."""
    loop = PlayLoop(PlayConfig(PACMAN, player="t", directory=tmp_path, speed=0.25, record=False))
    loop.start()
    try:
        loop.tick()
        begin = time.perf_counter()
        ticks(loop, 11)
        elapsed = time.perf_counter() - begin
    finally:
        loop.close()
    assert loop.stats.frames == 12
    assert elapsed >= 11 / 15 - 0.01  # at full speed the same frames would take 11/60 s


def test_step_mode_advances_only_while_a_key_is_held(loop):
    down(pygame.K_t)
    ticks(loop, 10)
    assert loop.recorder.length == 0 and loop.hud()["mode"].startswith("STEP")
    down(pygame.K_LEFT)
    ticks(loop, 4)
    up(pygame.K_LEFT)
    ticks(loop, 10)
    assert loop.recorder.length == 4
    down(pygame.K_RETURN)  # Enter: advance with nothing held
    ticks(loop, 3)
    up(pygame.K_RETURN)
    ticks(loop, 5)
    assert loop.recorder.length == 7
    down(pygame.K_t)  # step mode off: the game runs again
    ticks(loop, 2)
    down(pygame.K_ESCAPE)
    loop.tick()
    episode = load_episode(saved_files(loop)[0], frames=False)
    assert episode.actions.tolist() == [A["LEFT"]] * 4 + [A["NOOP"]] * 3 + [A["NOOP"]] * 2
    assert episode.speeds.tolist() == [0.0] * 7 + [1.0] * 2
    assert episode.info.speed == 0.0  # shown as "step" by `mimic data ls`


def test_a_tap_shorter_than_a_frame_still_plays_one_frame(loop):
    down(pygame.K_t)  # step mode: each tap is one frame (as Atari-HEAD's players played)
    for key in (pygame.K_UP, pygame.K_UP, pygame.K_LEFT):
        down(key)
        up(key)
        loop.tick()
        ticks(loop, 3)
    down(pygame.K_t)
    down(pygame.K_DOWN)
    up(pygame.K_DOWN)
    ticks(loop, 2)
    assert loop.recorder._buf.actions == [A["UP"], A["UP"], A["LEFT"], A["DOWN"], A["NOOP"]]


def test_backspace_discards_the_episode_and_starts_again(loop):
    down(pygame.K_RIGHT)
    ticks(loop, 30)
    down(pygame.K_BACKSPACE)
    up(pygame.K_RIGHT)
    ticks(loop, 12)
    assert loop.stats.discarded == 1 and loop.hud()["episode"] == 1
    assert loop.recorder.length == 12
    assert saved_files(loop) == []  # nothing of the thrown-away episode was written
    down(pygame.K_ESCAPE)
    loop.tick()
    [path] = saved_files(loop)
    episode = load_episode(path)
    assert len(episode) == 12 and set(episode.actions.tolist()) == {A["NOOP"]}
    assert verify_episode(path).ok


def test_closing_the_window_saves_the_partial_episode_marked_quit(loop):
    down(pygame.K_DOWN)
    ticks(loop, 40)
    pygame.event.post(pygame.event.Event(pygame.QUIT))
    loop.tick()
    assert not loop.running
    [path] = saved_files(loop)
    result = verify_episode(path)
    assert result.ok, result.message
    episode = load_episode(path)
    assert episode.info.ended == "quit" and episode.info.truncated and len(episode) == 40
    assert loop.summary().saved[0].path == path


def test_finished_episodes_are_saved_and_the_session_stops_after_the_number_asked(tmp_path):
    config = PlayConfig(PACMAN, player="t", seed=9, directory=tmp_path, realtime=False, episodes=2, max_frames=25)
    summary = PlayLoop(config).run()  # nobody presses anything: two capped episodes, then it stops
    paths = [e.path for e in summary.episodes]
    assert len(paths) == 2 and sorted(paths) == sorted(tmp_path.glob("*.npz"))
    for number, path in enumerate(paths, start=1):
        info = load_episode(path, frames=False).info
        assert info.ended == "frame_cap" and info.length == 25 and info.seed == 9 + number - 1
        assert load_episode(path, frames=False).truncated.tolist() == [False] * 24 + [True]
        assert verify_episode(path).ok
    assert summary.stats.frames == 50 and len(summary.stats.save_s) == 2


def test_without_record_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a stray write to ./data would land here
    loop = PlayLoop(PlayConfig(PACMAN, player="t", record=False, realtime=False))
    loop.start()
    ticks(loop, 10)
    down(pygame.K_ESCAPE)
    loop.tick()
    loop.close()
    assert [e.path for e in loop.results] == [None] and list(tmp_path.iterdir()) == []
    assert loop.stats.frames == 10


def test_a_key_released_in_another_window_is_not_held_forever(loop):
    down(pygame.K_RIGHT)
    ticks(loop, 3)
    pygame.event.post(pygame.event.Event(pygame.WINDOWFOCUSLOST))
    ticks(loop, 3)
    assert loop.recorder._buf.actions == [A["RIGHT"]] * 3 + [A["NOOP"]] * 3


def test_hud_and_window_show_the_game(loop):
    down(pygame.K_LEFT)
    ticks(loop, 2)
    hud = loop.hud()
    assert hud["rec"] is True and hud["action"] == "LEFT" and hud["lives"] >= 1 and hud["episode"] == 1
    picture = loop.view.to_array()
    assert picture.shape == (loop.view.size[1], loop.view.size[0], 3)
    frame = loop.recorder.frame
    h, w = frame.shape[:2]
    assert loop.view.scale == 4  # the default; the dummy driver has no screen to fit
    game_area = picture[-h * 4 :, : w * 4]
    assert np.array_equal(game_area[::4, ::4], frame)


@pytest.mark.parametrize("bad, message", [
    (dict(speed=0.0), "speed must be between"),
    (dict(scale=0), "scale must be"),
    (dict(episodes=0), "episodes must be"),
    (dict(directory=None), "needs a directory"),
])
def test_bad_settings_are_refused_up_front(tmp_path, bad, message):
    settings = dict(player="t", directory=tmp_path) | bad
    with pytest.raises(ValueError, match=message):
        PlayConfig(PACMAN, **settings)



def journals(loop):
    return sorted(loop.config.directory.glob(".*.journal"))


def wait_for_journal(loop):
    deadline = time.monotonic() + 60
    while not journals(loop):  # written on the journal's own thread
        assert time.monotonic() < deadline, "no journal after 60 s"
        time.sleep(0.01)


def test_the_episode_in_progress_is_journalled_until_it_is_saved_or_thrown_away(loop):
    down(pygame.K_RIGHT)
    ticks(loop, 70)
    assert loop.view.title == "mimic play pacman [REC 0:01, 66 frames]"  # the length, every 6 frames
    wait_for_journal(loop)
    [journal] = journals(loop)
    assert journal.name == f".{loop.recorder.episode_id}.journal"
    down(pygame.K_BACKSPACE)
    loop.tick()
    assert journals(loop) == [] and saved_files(loop) == []  # thrown away: its journal too
    assert loop.view.title == "mimic play pacman [REC 0:00, 0 frames]"
    ticks(loop, 61)
    wait_for_journal(loop)
    down(pygame.K_ESCAPE)
    loop.tick()
    [path] = saved_files(loop)
    assert journals(loop) == [] and len(load_episode(path)) == 62 and path.stem == loop.results[0].path.stem


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_saves_the_whole_episode_once_its_frame_is_recorded(tmp_path, signum):
    class SignalledAt50(PersonControls):
        def stepped(self, loop, step):
            if loop.recorder.length == 50:
                os.kill(os.getpid(), signum)  # the handler runs at once, in the middle of the frame

    summary = PlayLoop(PlayConfig(PACMAN, player="t", seed=3, directory=tmp_path, realtime=False),
                       SignalledAt50()).run()
    [result] = summary.saved
    assert summary.stopped and result.length == 50 and result.ended == "quit"
    assert verify_episode(result.path).ok and list(tmp_path.glob(".*")) == []
