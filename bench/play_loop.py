"""Benchmark: the play loop with recording, headless, against the 16.7 ms frame budget.

Part 1, the cost: the real play loop (pygame window on the dummy video driver, the real
emulator, the recorder compressing every frame, the HUD drawn at the default 4x scale) driven
by a scripted player's key events for --frames frames, UN-THROTTLED (the loop never sleeps),
so each frame's time is its work: events + emulator step + recording + drawing. A frame counts
as dropped when its work alone exceeds the budget (it could not have been shown in time).
Saving and restarting between episodes (game over) is timed separately.

Part 2, the clock: --realtime-frames frames of the same loop keeping real time (60 frames/s),
with the frames it dropped and how far its clock drifted from frames/60 s.

    python -m bench.play_loop --game pacman --frames 10000 --realtime-frames 600
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ["SDL_VIDEODRIVER"] = "dummy"

import numpy as np

from recorder.games import FRAMES_PER_SECOND, resolve_game
from recorder.play import PlayConfig
from recorder.scripted import play_scripted

BUDGET_MS = 1000.0 / FRAMES_PER_SECOND


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--frames", type=int, default=10_000)
    parser.add_argument("--realtime-frames", type=int, default=600)
    parser.add_argument("--scale", type=int, default=4)
    args = parser.parse_args()
    game = resolve_game(args.game)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}; game {game.name}; scale {args.scale}")
    with tempfile.TemporaryDirectory() as tmp:
        config = PlayConfig(game, player="bench", seed=0, scale=args.scale, directory=Path(tmp) / "unthrottled",
                            realtime=False)
        begin = time.perf_counter()
        summary = play_scripted(config, args.frames, seed=0)
        wall = time.perf_counter() - begin
        stats = summary.stats
        work = np.asarray(stats.work_s) * 1000
        print(f"\n[1] un-throttled, {stats.frames:,} frames in {wall:.1f} s wall "
              f"({len(summary.saved)} episodes saved, {sum(e.length for e in summary.saved):,} frames on disk)")
        print(f"    work per frame: mean {work.mean():.2f} ms, p50 {np.percentile(work, 50):.2f} ms, "
              f"p99 {np.percentile(work, 99):.2f} ms, max {work.max():.2f} ms; budget {BUDGET_MS:.1f} ms")
        print(f"    p99 uses {np.percentile(work, 99) / BUDGET_MS:.0%} of the budget; "
              f"frames over budget (dropped): {stats.dropped}")
        if stats.between_s:
            between = np.asarray(stats.between_s) * 1000
            print(f"    between episodes (save + restart, not a frame): {len(between)}x, "
                  f"mean {between.mean():.0f} ms, max {between.max():.0f} ms")

        if args.realtime_frames:
            config = PlayConfig(game, player="bench", seed=1, scale=args.scale, directory=Path(tmp) / "realtime")
            begin = time.perf_counter()
            summary = play_scripted(config, args.realtime_frames, seed=1)
            wall = time.perf_counter() - begin
            stats = summary.stats
            ideal = stats.frames / FRAMES_PER_SECOND
            between = sum(stats.between_s)
            print(f"\n[2] real time (60 frames/s), {stats.frames:,} frames in {wall:.2f} s wall "
                  f"(ideal {ideal:.2f} s + {between:.2f} s between episodes + start-up)")
            shown = stats.last_shown - stats.first_shown - between  # first to last frame shown, less restarts
            ideal_shown = (stats.frames - 1) / FRAMES_PER_SECOND
            print(f"    frames dropped: {stats.dropped}; first to last frame: {shown:.3f} s for "
                  f"{stats.frames - 1} frame periods (ideal {ideal_shown:.3f} s, drift {(shown - ideal_shown) * 1000:+.1f} ms); "
                  f"achieved {(stats.frames - 1) / shown:.2f} frames/s")


if __name__ == "__main__":
    main()
