"""The episode store on the real ROM: round trip, replay, damage, compression."""

from __future__ import annotations

import signal
import zipfile

import numpy as np
import pytest

from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder, verify_episode
from recorder.store import (
    DamagedEpisodeError, GameStore, atomic_write, decode_frames, FrameEncoder, load_episode, read_info,
)
from tests.conftest import record_scripted


def test_frame_codec_round_trip_is_lossless():
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(5, 7, 4, 3), dtype=np.uint8)
    frames[2] = frames[1]
    encoder = FrameEncoder()
    for frame in frames:
        encoder.add(frame)
    assert np.array_equal(decode_frames(encoder.finish(), 5, (7, 4, 3)), frames)


def test_round_trip_keeps_every_frame_action_and_field(tmp_path):
    game = resolve_game("mspacman")
    recorder = EpisodeRecorder(game, seed=3, player="ana", state_every=50)
    frames = [recorder.reset()]
    actions = [i // 10 % game.n_actions for i in range(130)]
    rewards = []
    for a in actions:
        step = recorder.step(a, speed=0.5)
        frames.append(step.frame)
        rewards.append(step.reward)
    path = recorder.save(tmp_path)
    episode = load_episode(path)
    assert np.array_equal(episode.frames, np.stack(frames))
    assert episode.actions.tolist() == actions
    assert episode.labels.tolist() == actions  # human play: the label is the action held
    assert episode.rewards.tolist() == rewards
    assert episode.state_steps.tolist() == [0, 50, 100] and len(episode.states) == 3
    info = episode.info
    assert (info.game, info.rom, info.player, info.seed, info.length) == ("mspacman", "ms_pacman", "ana", 3, 130)
    assert info.ended == "quit" and info.truncated and info.speed == 0.5
    assert info.action_names == game.action_names
    assert read_info(path) == info


def test_recording_replays_exactly_and_a_tampered_one_does_not(tmp_path):
    path = record_scripted("pacman", tmp_path, frames=700, state_every=200)
    result = verify_episode(path)
    assert result.ok and result.steps == 700, result.message

    data = dict(np.load(path))
    actions = data["actions"].copy()
    actions[300:] = (actions[300:] + 1) % 5  # a different joystick from frame 300 on
    data["actions"] = actions
    np.savez_compressed(tmp_path / "tampered.npz", **data)
    result = verify_episode(tmp_path / "tampered.npz")
    assert not result.ok and "differs" in result.message


def test_a_finished_game_is_marked_game_over(tmp_path):
    path = record_scripted("pacman", tmp_path, frames=200_000, hold=30)
    info = read_info(path)
    assert info.ended == "game_over" and not info.truncated
    assert load_episode(path, frames=False).terminated[-1]


def test_damaged_files_are_named_and_skipped(tmp_path):
    store = GameStore(tmp_path, "pacman")
    good = record_scripted("pacman", store.demos, frames=100)
    truncated = store.demos / "cut.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    (store.demos / "junk.npz").write_text("not an episode")
    (store.demos / ".in-progress.npz.tmp").write_bytes(b"partial")

    infos, damaged = store.scan()
    assert [p for p, _ in infos] == [good]
    assert sorted(m.split(":")[0] for m in damaged) == ["cut.npz", "junk.npz"]
    warnings: list[str] = []
    loaded = list(store.iter_episodes(warn=warnings.append))
    assert len(loaded) == 1 and len(warnings) == 2
    with pytest.raises(DamagedEpisodeError, match="^junk.npz: not an episode file"):
        load_episode(store.demos / "junk.npz")


def test_missing_array_is_a_damaged_file_not_a_crash(tmp_path):
    path = record_scripted("pacman", tmp_path, frames=50)
    data = dict(np.load(path))
    del data["labels"]
    np.savez_compressed(tmp_path / "nolabels.npz", **data)
    with pytest.raises(DamagedEpisodeError, match="nolabels.npz"):
        load_episode(tmp_path / "nolabels.npz")


def test_label_sets_round_trip_and_files_without_them_read_as_the_label_alone(tmp_path):
    game = resolve_game("pacman")
    recorder = EpisodeRecorder(game, seed=0, player="t")
    recorder.reset()
    recorder.step(1)  # a person's step: the label's own bit
    recorder.step(2, label=3, label_set=0b11000)  # a judged step: 3 and 4 as good
    recorder.step(0, label=-1)  # nobody labelled it
    with pytest.raises(ValueError, match="does not hold its label 2"):
        recorder.step(0, label=2, label_set=0b1)
    path = recorder.save(tmp_path)
    episode = load_episode(path, frames=False)
    assert episode.labels.tolist() == [1, 3, -1]
    assert episode.label_sets.tolist() == [0b10, 0b11000, 0]

    data = dict(np.load(path))
    del data["label_sets"]  # as files recorded before label sets existed
    np.savez_compressed(tmp_path / "old.npz", **data)
    assert load_episode(tmp_path / "old.npz", frames=False).label_sets.tolist() == [0b10, 0b1000, 0]


def test_mspacman_recording_is_over_80x_smaller_than_raw_rgb(tmp_path):
    path = record_scripted("mspacman", tmp_path, frames=3000, seed=1)
    info = read_info(path)
    raw = (info.length + 1) * int(np.prod(info.frame_shape))
    assert raw / path.stat().st_size > 80
    assert zipfile.is_zipfile(path)


def test_game_store_layout_and_dagger_rounds(tmp_path):
    store = GameStore(tmp_path, "pacman")
    demo = record_scripted("pacman", store.demos, frames=20)
    late = record_scripted("pacman", store.dagger_round(2), frames=20)
    early = record_scripted("pacman", store.dagger_round(1), frames=20)
    assert store.dagger_round(1).name == "round-001"
    assert store.episode_paths() == [demo, early, late]
    assert store.episode_paths(dagger=False) == [demo]
    assert store.find(late.stem) == late


def test_ctrl_c_during_a_write_takes_effect_once_the_file_is_whole(tmp_path):
    path = tmp_path / "checkpoint.pt"

    def write(handle):
        handle.write(b"first half, ")
        signal.raise_signal(signal.SIGINT)  # Ctrl-C while the file is half written
        handle.write(b"second half")

    with pytest.raises(KeyboardInterrupt):
        atomic_write(path, write)
    assert path.read_bytes() == b"first half, second half"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_recording_never_replaces_another_with_the_same_id(tmp_path, monkeypatch):
    import recorder.recording as recording

    ids = iter(["20260101-000000-test-0000", "20260101-000000-test-0000", "20260101-000000-test-0001"])
    monkeypatch.setattr(recording, "new_episode_id", lambda player, started: next(ids))
    first = record_scripted("pacman", tmp_path, frames=20, seed=1)
    second = record_scripted("pacman", tmp_path, frames=30, seed=2)  # draws the taken id, then another
    assert first != second and first.stem.endswith("0000") and second.stem.endswith("0001")
    assert load_episode(first).info.seed == 1 and len(load_episode(first)) == 20
    assert load_episode(second).info.seed == 2 and len(load_episode(second)) == 30
