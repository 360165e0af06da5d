"""How consistent are the planning expert's labels? Two seeds label the same states.

    python bench/label_agreement.py --game pacman --budgets 600,2000

The expert plays one game (budget 600, seed 5) and the emulator state before each of its
decisions from frame 400 to 1,600 is kept (300 states, with the action held before each).
Two experts with other seeds (1 and 2) judge every state at each budget, with and without
common random numbers (every choice's rollouts drawing the same random numbers). The table
gives how often their labels agree, how often one's label is in the other's set of equally good
actions (both ways, averaged), the mean size of that set, and how often a label is the action
already held. Behavioural cloning can only learn what is consistent: where two runs of the
same expert disagree on most states, the labels are mostly rollout noise, whatever the network.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.planner import Expert, ExpertConfig  # noqa: E402
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
    print("| game | budget | common random numbers | states | labels agree (seeds 1, 2) | label in the other's set "
          "| set size | label = action held | seconds |")
    print("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for budget in (int(b) for b in args.budgets.split(",")):
        for common in (False, True):
            start = time.perf_counter()
            config = ExpertConfig(budget=budget, common_random_numbers=common)
            first, second = (Expert(game, config, seed=seed).judge_all(states, previous) for seed in (1, 2))
            agree = np.mean([a.action == b.action for a, b in zip(first, second)])
            in_set = np.mean([(b.as_good >> a.action & 1) + (a.as_good >> b.action & 1) for a, b in zip(first, second)]) / 2
            size = np.mean([bin(j.as_good).count("1") for j in first + second])
            held = np.mean([j.action == p for j, p in zip(first, previous)])
            print(f"| {game.name} | {budget:,} | {'yes' if common else 'no'} | {len(states)} | {agree:.1%} | {in_set:.1%} | "
                  f"{size:.2f} | {held:.1%} | {time.perf_counter() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
