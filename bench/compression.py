"""Benchmark: bytes per frame on disk, and the compression ratio against raw RGB.

For each game, a scripted player (a random action held for 8 frames, fixed seed) plays
--frames emulator frames through EpisodeRecorder (the recorder `mimic play --record` uses); the
episode file is saved as the store writes it. Side by side, in the same run, the same raw frames
go through numpy's savez_compressed as the reference. Raw RGB = frames x height x width x 3 bytes.
The file holds everything (actions, labels, ALE states ...), not only the frames.

    python -m bench.compression --frames 3000 --games mspacman pacman
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import tempfile
from pathlib import Path


import numpy as np

from recorder.games import resolve_game
from recorder.recording import EpisodeRecorder
from recorder.store import load_episode


def record(game_name: str, frames: int, directory: Path) -> tuple[list[Path], list[np.ndarray]]:
    game = resolve_game(game_name)
    rng = np.random.default_rng(0)
    paths, raw = [], []
    seed = 0
    while len(raw) < frames + len(paths):  # episodes until `frames` steps are on disk
        recorder = EpisodeRecorder(game, seed=seed, player="bench")
        raw.append(recorder.reset().copy())
        action = 0
        while not recorder.done and len(raw) - len(paths) - 1 < frames:
            if recorder.length % 8 == 0:
                action = int(rng.integers(game.n_actions))
            raw.append(recorder.step(action).frame.copy())
        paths.append(recorder.save(directory))
        recorder.close()
        seed += 1
    return paths, raw


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, default=3000)
    parser.add_argument("--games", nargs="+", default=["mspacman", "pacman"])
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
          f"{args.frames} steps per game, scripted random player")
    print(f"{'game':10} {'frames':>7} {'raw RGB':>10} {'episode file':>13} {'B/frame':>8} {'ratio':>7} "
          f"{'npz of frames':>14} {'B/frame':>8} {'ratio':>7} {'file vs npz':>11}")
    for name in args.games:
        with tempfile.TemporaryDirectory() as tmp:
            paths, raw = record(name, args.frames, Path(tmp))
            on_disk = sum(p.stat().st_size for p in paths)
            stored = sum(len(load_episode(p, frames=False).actions) + 1 for p in paths)
            assert stored == len(raw), (stored, len(raw))
            first = load_episode(paths[0])  # lossless: the stored frames are the frames played
            assert np.array_equal(first.frames, np.stack(raw[: len(first.frames)]))
        frames = np.stack(raw)
        raw_bytes = frames.nbytes
        buffer = io.BytesIO()
        np.savez_compressed(buffer, frames=frames)
        npz = buffer.getbuffer().nbytes
        n = len(frames)
        print(f"{name:10} {n:>7,} {raw_bytes / 1e6:>8.1f}MB {on_disk / 1e3:>11.1f}kB {on_disk / n:>8.0f} "
              f"{raw_bytes / on_disk:>6.0f}x {npz / 1e3:>12.1f}kB {npz / n:>8.0f} {raw_bytes / npz:>6.0f}x "
              f"{npz / on_disk:>10.1f}x")


if __name__ == "__main__":
    main()
