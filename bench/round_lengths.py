"""How long DAgger's rollouts lasted, and how each ended, round by round.

    python bench/round_lengths.py --data /work/runs/ms32R6-s1/dagger-run --game mspacman --past 3000

`--data` is a store root with DAgger rounds in it (bench/learning.py leaves them in
<root>/dagger-run). Each rollout's length in emulator frames, how it ended (game over, or the
`--rollout-frames` cap) and its score come from the episode files' metadata; no frames are read.
`--past N` counts the rollouts that ran longer than N frames, e.g. the cap of an earlier run, to
see how many of them that cap would have cut.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recorder.store import GameStore  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--game", default="mspacman")
    parser.add_argument("--past", type=int, default=3000)
    args = parser.parse_args()

    found, problems = GameStore(args.data, args.game).scan(demos=False, dagger=True)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not found:
        sys.exit(f"no DAgger rounds under {args.data / args.game / 'dagger'}: pass the store root "
                 "that holds them (bench/learning.py's <root>/dagger-run)")
    print("| round | rollout | frames | ended | score |")
    print("| --- | --- | ---: | --- | ---: |")
    for path, info in sorted(found, key=lambda item: (item[0].parent.name, item[1].started)):
        print(f"| {path.parent.name} | {path.stem} | {info.length:,} | {info.ended} | {info.score:,.0f} |")
    lengths = [info.length for _, info in found]
    over = sum(length > args.past for length in lengths)
    game_over = sum(info.ended == "game_over" for _, info in found)
    print(f"\n{len(found)} rollouts: {min(lengths):,} to {max(lengths):,} frames, "
          f"{game_over} ended by game over, {over} past {args.past:,} frames")


if __name__ == "__main__":
    main()
