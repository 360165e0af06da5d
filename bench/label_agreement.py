"""How consistent are the planning expert's labels? Two seeds label the same states.

    python bench/label_agreement.py --game pacman --budgets 600,2000

The expert plays one game (budget 600, seed 5) and the emulator state before each of its
decisions from frame 400 to 1,600 is kept (300 states, with the action held before each).
Two experts with other seeds (1 and 2) label every state at each budget; the table gives how
often they agree, and how often a label is the action already held. Behavioural cloning can
only learn what is consistent: where two runs of the same expert disagree on most states, the
labels are mostly rollout noise, whatever the network.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.expert import Expert, ExpertConfig  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.recording import EpisodeRecorder  # noqa: E402


def collect_states(game, frames: tuple[int, int]) -> tuple[list[bytes], list[int | None]]:
    """The states before the expert's decisions in frames [start, stop) of one game, and the action held."""
    recorder = EpisodeRecorder(game, seed=0, player="bench")
    recorder.reset()
    expert = Expert(game, ExpertConfig(budget=600), seed=5)
    states, previous, held = [], [], None
    while recorder.length < frames[1] and not recorder.done:
        state = recorder.clone_state()
        action = expert.decide(state, held)
        if recorder.length >= frames[0]:
            states.append(state)
            previous.append(held)
        for _ in range(4):
            recorder.step(action)
        held = action
    return states, previous


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--budgets", default="600,2000")
    args = parser.parse_args()
    game = resolve_game(args.game)
    states, previous = collect_states(game, (400, 1600))
    print("| game | budget | states | agreement between seeds 1 and 2 | label = action held | seconds |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for budget in (int(b) for b in args.budgets.split(",")):
        start = time.perf_counter()
        first = np.array(Expert(game, ExpertConfig(budget=budget), seed=1).label(states, previous))
        second = np.array(Expert(game, ExpertConfig(budget=budget), seed=2).label(states, previous))
        held = np.mean([a == p for a, p in zip(first, previous)])
        print(f"| {game.name} | {budget:,} | {len(states)} | {np.mean(first == second):.1%} | {held:.1%} | "
              f"{time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
