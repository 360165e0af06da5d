"""The episode store on the real ROM: round trip, replay, damage, compression."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder, verify_episode
from recorder.store import (
    LOCK_NAME, DamagedEpisodeError, GameStore, StoreError, atomic_write, decode_frames, FrameEncoder, folder_lock,
    load_episode, read_info,
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


# The journal: the episode in progress on disk, recovered when its process is gone

KILLED_RECORDING = """
import os, signal, sys
from pathlib import Path
from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder
recorder = EpisodeRecorder(resolve_game("pacman"), seed=7, player="ana", state_every=100, journal=Path(sys.argv[1]))
recorder.reset()
for t in range(250):
    recorder.step(t // 10 % 5)
recorder._journal._writer.shutdown(wait=True)  # what was handed to the journal is on disk
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_recording_is_recovered_from_its_journal_up_to_its_last_whole_chunk(tmp_path):
    import shutil
    import subprocess
    import sys

    from recorder.store import INTERRUPTED, JOURNAL_EVERY, recover_journals

    store = GameStore(tmp_path / "data", "pacman")
    killed = subprocess.run([sys.executable, "-c", KILLED_RECORDING, str(store.demos)],
                            cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=120)
    assert killed.returncode == -9, killed.stderr
    [journal] = store.journals()
    assert store.episode_paths() == [] and journal.name.startswith(".")  # never read as an episode
    shutil.copytree(journal, tmp_path / "copy")
    torn = journal.with_name(journal.name.replace("-ana-", "-bob-"))  # the same journal, its last chunk torn
    shutil.copytree(journal, torn)
    last = sorted(torn.glob("*.npz"))[-1]
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])

    recovered = {r.info.extra["id"].split("-")[2]: r for r in recover_journals(store)}
    assert sorted(recovered) == ["ana", "bob"] and store.journals() == []
    whole, cut = load_episode(recovered["ana"].path), load_episode(recovered["bob"].path)
    expected = [t // 10 % 5 for t in range(250)]
    assert 250 - JOURNAL_EVERY <= len(whole) <= 250 and whole.actions.tolist() == expected[: len(whole)]
    assert 0 < len(cut) < len(whole) and cut.actions.tolist() == expected[: len(cut)]
    assert whole.state_steps.tolist() == [0, 100, 200][: 1 + (len(whole) - 1) // 100]
    for r, episode in ((recovered["ana"], whole), (recovered["bob"], cut)):
        assert episode.info.ended == INTERRUPTED and episode.info.truncated and episode.info.length == len(episode)
        assert r.path.stem == episode.info.extra["id"] and r.info == episode.info and r.path.parent == store.demos
        assert r.line.startswith(f"recovered an unfinished episode of pacman: {len(episode):,} frames (")
        assert f" s) by {episode.info.player} from " in r.line and r.line.endswith(f", now {r.path.stem}")
        result = verify_episode(r.path)
        assert result.ok, result.message

    shutil.copytree(tmp_path / "copy", journal)  # as if killed after saving the file, before removing the journal
    assert recover_journals(store) == [] and store.journals() == []
    assert sorted(store.episode_paths()) == sorted(r.path for r in recovered.values())


def test_a_journal_being_written_is_left_alone_and_goes_when_its_episode_is_saved(tmp_path):
    from recorder.store import recover_journals

    store = GameStore(tmp_path, "pacman")
    recorder = EpisodeRecorder(resolve_game("pacman"), seed=2, player="ana", journal=store.demos)
    recorder.reset()
    for t in range(130):
        recorder.step(t // 20 % 5)
    deadline = time.monotonic() + 60
    while not store.journals():  # written on the journal's own thread
        assert time.monotonic() < deadline, "no journal after 60 s"
        time.sleep(0.01)
    assert recover_journals(store) == [] and len(store.journals()) == 1 and store.episode_paths() == []
    path = recorder.save(store.demos)
    assert store.journals() == [] and store.episode_paths() == [path] and path.stem == recorder.episode_id
    assert recover_journals(store) == [] and len(load_episode(path)) == 130


def test_a_journal_on_a_read_only_disk_stays_until_it_can_be_recovered(tmp_path):
    import subprocess
    import sys

    from recorder.store import recover_journals

    mount = tmp_path / "disk"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], check=True)
    try:
        store = GameStore(mount, "pacman")
        killed = subprocess.run([sys.executable, "-c", KILLED_RECORDING, str(store.demos)],
                                cwd=Path(__file__).parent.parent, capture_output=True, text=True, timeout=120)
        assert killed.returncode == -9, killed.stderr
        [journal] = store.journals()
        subprocess.run(["mount", "-o", "remount,ro", str(mount)], check=True)
        [failed] = recover_journals(store)
        assert failed.path is None and store.journals() == [journal] and store.episode_paths() == []
        assert failed.line.startswith(f"warning: an unfinished episode in {journal} could not be recovered (")
        assert failed.line.endswith("); it stays there for the next run") and "read-only" in failed.line
        subprocess.run(["mount", "-o", "remount,rw", str(mount)], check=True)
        [recovered] = recover_journals(store)
        assert store.journals() == [] and store.episode_paths() == [recovered.path]
        assert verify_episode(recovered.path).ok
    finally:
        subprocess.run(["umount", str(mount)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    """A real 256 KiB tmpfs (tests run as root), unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def test_a_write_that_fills_the_disk_is_one_store_error_and_keeps_the_earlier_file(small_disk):
    (small_disk / "episode.npz").write_bytes(b"the earlier file")
    noise = np.random.default_rng(0).integers(0, 256, size=1 << 20, dtype=np.uint8)
    with pytest.raises(StoreError, match="episode.npz: the disk is full") as raised:
        atomic_write(small_disk / "episode.npz", lambda handle: np.savez_compressed(handle, noise=noise))
    assert len(str(raised.value).splitlines()) == 1
    assert (small_disk / "episode.npz").read_bytes() == b"the earlier file"
    assert sorted(p.name for p in small_disk.iterdir()) == ["episode.npz"]  # the temporary is gone


def test_a_video_that_fills_the_disk_is_one_store_error_and_keeps_the_earlier_one(small_disk):
    from recorder.video import write_video

    (small_disk / "agent.mp4").write_bytes(b"the earlier video")
    rng = np.random.default_rng(0)
    frames = (SimpleNamespace(frame=rng.integers(0, 256, (210, 160, 3), dtype=np.uint8), score=0, lives=3,
                              episode=1, action=None, probs=None) for _ in range(300))
    with pytest.raises(StoreError, match="agent.mp4: the disk is full"):
        write_video(frames, small_disk / "agent.mp4", ["NOOP", "UP"], scale=1)
    assert (small_disk / "agent.mp4").read_bytes() == b"the earlier video"
    assert sorted(p.name for p in small_disk.iterdir()) == ["agent.mp4"]


def test_a_folder_lock_refuses_a_second_holder_and_dies_with_its_process(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; from recorder.store import folder_lock\n"
                               f"with folder_lock({str(tmp_path)!r}, 'mimic train --game pacman'): time.sleep(600)"],
                              cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 60
        while not ((tmp_path / LOCK_NAME).is_file()
                   and (tmp_path / LOCK_NAME).read_text().startswith(f"{holder.pid} ")):
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        with pytest.raises(StoreError, match=f"pid {holder.pid}: mimic train --game pacman"):
            with folder_lock(tmp_path, "mimic train"):
                pass
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
        with folder_lock(tmp_path, "mimic train"):  # no stale lock: the kernel let go with the process
            assert (tmp_path / LOCK_NAME).read_text().startswith(f"{os.getpid()} ")
    finally:
        holder.kill()
