"""The headless pipeline (`mimic demo`, what `make demo` runs), timed and scored over several seeds.

    python -m bench.demo --game pacman --seeds 0,1,2

Each seed runs the whole demo in a fresh temporary folder exactly as `mimic demo --seed S`
does (the video left out): expert demonstrations, behavioural cloning, two DAgger rounds with
the planner, the final evaluation against a random agent. One row per seed: the time of each
step, the BC policy's score, the final agent's and the random agent's (eval protocol, the
demo's 20 episodes each), and whether the final agent is above random with its interval
clear of the random agent's.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from pathlib import Path


from agent.demo import DemoConfig, run_demo
from recorder.games import resolve_game
from recorder.store import GameStore


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--seeds", default="0,1,2")
    args = parser.parse_args()
    game = resolve_game(args.game)
    print(f"{game.name}; {platform.machine()}, {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.1f} at start; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}")
    print(f"demo settings: {DemoConfig()}\n")
    print("| seed | expert s | BC s | DAgger s | eval s | total s | expert demos | BC | final agent | random | clear of random |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    for seed in (int(s) for s in args.seeds.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            result = run_demo(game, GameStore(Path(tmp), game.name), DemoConfig(seed=seed))
            total = time.perf_counter() - start
        agent, random = result.report.agent, result.report.random
        clear = agent.mean - agent.ci95 > random.mean + random.ci95
        s = list(result.seconds.values())
        print(f"| {seed} | {s[0]:.0f} | {s[1]:.0f} | {s[2]:.0f} | {s[3]:.0f} | {total:.0f} | "
              f"{result.expert_score:,.0f} | {result.bc_score:.1f} | {agent.mean:.1f} ± {agent.ci95:.1f} | "
              f"{random.mean:.1f} ± {random.ci95:.1f} | {'yes' if clear else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
