"""The decision loop's environments against ale-py's own vector env, side by side.

    python -m bench.envs --game mspacman --envs 8 --decisions 2000 --repeats 3

Both step `--envs` games with uniformly random actions under the evaluation protocol (sticky
actions 0.25, frameskip 4, no-op starts, unclipped rewards): `agent.env.protocol_envs` (ale-py's
AtariVectorEnv at frameskip 1, every frame of a decision pooled into the 84x84 observation by
`agent.obs`) and AtariVectorEnv with its own preprocessing (frameskip 4, a max over the last two
frames, 84x84 gray). The two run in turns, `--repeats` times, so a busy machine slows both
alike; the table gives each turn's decisions a second and the ratio.
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from agent.env import STANDARD_NOOP_MAX, STANDARD_STICKY, protocol_envs
from agent.obs import ObsConfig
from recorder.games import resolve_game


def ours(game, n: int):
    return protocol_envs(game, ObsConfig(), n)


def ales(game, n: int):
    from ale_py.vector_env import AtariVectorEnv

    return AtariVectorEnv(game.rom, n, frameskip=4, repeat_action_probability=STANDARD_STICKY,
                          noop_max=STANDARD_NOOP_MAX, reward_clipping=False, use_fire_reset=False)


def rate(envs, game, decisions: int, seed: int) -> float:
    """Decisions a second of `envs` (closed afterwards) stepping uniformly random actions."""
    n = envs.num_envs
    rng = np.random.default_rng(seed)
    envs.reset(seed=seed)
    start = time.perf_counter()
    for _ in range(decisions // n):
        envs.step(rng.integers(game.n_actions, size=n))
    seconds = time.perf_counter() - start
    envs.close()
    return (decisions // n) * n / seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="mspacman")
    parser.add_argument("--envs", type=int, default=8)
    parser.add_argument("--decisions", type=int, default=2000, help="decisions per turn, over all envs")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    game = resolve_game(args.game)
    print(f"{game.name}, {args.envs} envs, {args.decisions:,} random decisions a turn; {platform.processor() or platform.machine()}")
    print("| turn | decision loop (decisions/s) | AtariVectorEnv (decisions/s) | ratio |")
    print("| ---: | ---: | ---: | ---: |")
    ratios = []
    for turn in range(1, args.repeats + 1):
        a = rate(ours(game, args.envs), game, args.decisions, turn)
        b = rate(ales(game, args.envs), game, args.decisions, turn)
        ratios.append(a / b)
        print(f"| {turn} | {a:,.0f} | {b:,.0f} | {a / b:.2f} |", flush=True)
    print(f"median ratio {float(np.median(ratios)):.2f}")


if __name__ == "__main__":
    main()
