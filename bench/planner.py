"""Benchmark of the planning expert: score per episode and decisions per second on one core.

    python -m bench.planner --game mspacman --budgets 1000,2000 --episodes 2 --workers 2
    python -m bench.planner --game pacman --budgets 1000 --episodes 2 --max-frames 20000

Each episode runs in its own process (one core each, `--workers` at a time) at the recording
settings (frameskip 1, sticky actions off), the expert deciding every 4 frames. Reported per
episode: score, frames, lives left, how it ended, and two rates: decisions a second of thinking
alone (what labelling states costs on one core) and of play (emulating and recording included).
Nothing is written to the data root; a JSON line per episode goes to stdout after the table.
"""

from __future__ import annotations

import argparse
import json
import platform
import time


import ale_py
import numpy as np
from rich.console import Console
from rich.table import Table

from agent.planner import Expert, ExpertConfig, play_episodes
from recorder.games import resolve_game


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="mspacman")
    parser.add_argument("--budgets", default="2000", help="comma-separated budgets, frames per decision")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--depth", type=int, default=40)
    parser.add_argument("--max-frames", type=int, default=None, help="cap each episode (say so when reporting)")
    parser.add_argument("--random", action="store_true",
                        help="only score a random agent (a random action held 4 frames) on the same seeds and cap")
    parser.add_argument("--speed-only", action="store_true",
                        help="only time labelling of 60 states of a random game, one process, per budget")
    args = parser.parse_args()
    if args.random:
        for seed in range(args.seed, args.seed + args.episodes):
            score, frames, lives = random_agent(resolve_game(args.game), seed, args.max_frames)
            print(json.dumps({"game": args.game, "agent": "random", "seed": seed, "score": score, "frames": frames,
                              "lives": lives}))
        return
    if args.speed_only:
        labelling_speed(resolve_game(args.game), [int(b) for b in args.budgets.split(",")], args.depth)
        return

    console = Console()
    game = resolve_game(args.game)
    budgets = [int(b) for b in args.budgets.split(",")]
    seeds = [args.seed + i for i in range(args.episodes)]
    cap = f"capped at {args.max_frames:,} frames" if args.max_frames else "uncapped (to game over)"
    console.print(f"{game.name}: budgets {budgets}, {len(seeds)} episodes each, {args.workers} workers, {cap}; "
                  f"{platform.processor() or platform.machine()}, Python {platform.python_version()}")
    fps = emulator_speed(game)
    console.print(f"bare emulator before the run: {fps:,.0f} frames/s in this process (the machine's load shows here)")
    table = Table(title=f"expert on {game.name}", title_justify="left")
    for column in ("budget", "seed", "score", "frames", "lives", "ended", "labels/s (1 core)", "sim frames/s", "play dec/s",
                   "wall s"):
        table.add_column(column, justify="right")
    lines = []
    for budget in budgets:
        config = ExpertConfig(budget=budget, depth=args.depth)
        tic = time.perf_counter()
        results = play_episodes(game, config, seeds, max_frames=args.max_frames, workers=args.workers,
                                report=lambda p, b=budget: _log(console, b, p))
        wall = time.perf_counter() - tic
        for r in results:
            table.add_row(f"{budget:,}", str(r.seed), f"{r.score:,.0f}", f"{r.frames:,}", str(r.lives), r.ended,
                          f"{r.labels_per_s:.1f}",
                          f"{r.lookahead_frames / max(r.think_seconds, 1e-9):,.0f}", f"{r.decisions_per_s:.1f}", f"{r.seconds:.0f}")
            lines.append({"game": game.name, "budget": budget, "depth": args.depth, "seed": r.seed,
                          "score": r.score, "frames": r.frames, "lives": r.lives, "ended": r.ended,
                          "decisions": r.decisions, "labels_per_s": round(r.labels_per_s, 2),
                          "lookahead_frames": r.lookahead_frames, "think_seconds": round(r.think_seconds, 1),
                          "play_decisions_per_s": round(r.decisions_per_s, 2), "seconds": round(r.seconds, 1)})
        scores = [r.score for r in results]
        rate = sum(r.decisions for r in results) / sum(r.think_seconds for r in results)
        table.add_row(f"{budget:,}", "mean", f"{sum(scores) / len(scores):,.0f}", "", "", "", f"{rate:.1f}", "", "",
                      f"{wall:.0f}", style="bold", end_section=True)
    console.print(table)
    for line in lines:
        print(json.dumps(line))


def emulator_speed(game, seconds: float = 3.0) -> float:
    """Frames a second of the bare emulator (act + restore, as in rollouts), one process."""
    ale = Expert(game, ExpertConfig(), seed=0).ale
    actions = [ale_py.Action(a) for a in game.ale_actions] * 40
    root = ale.cloneState()
    frames, tic = 0, time.perf_counter()
    while time.perf_counter() - tic < seconds:
        ale.restoreState(root)
        for action in actions:
            ale.act(action)
        frames += len(actions)
    return frames / (time.perf_counter() - tic)


def random_agent(game, seed: int, max_frames: int | None) -> tuple[float, int, int]:
    """Score, frames and lives left of a random agent (a random action held 4 frames), recording settings."""
    from recorder.games import make_env

    env = make_env(game, max_frames=max_frames)
    env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    score, frames, done, lives, action = 0.0, 0, False, 0, 0
    while not done:
        if frames % 4 == 0:
            action = int(rng.integers(game.n_actions))
        _, reward, terminated, truncated, info = env.step(action)
        score, frames, done, lives = score + reward, frames + 1, terminated or truncated, info["lives"]
    env.close()
    return score, frames, lives


def labelling_speed(game, budgets: list[int], depth: int, count: int = 60) -> None:
    """Decisions a second when labelling `count` states (one every 20 frames of a random game), one process."""
    from agent.planner import Expert
    from recorder.recording import EpisodeRecorder

    rng = np.random.default_rng(0)
    recorder = EpisodeRecorder(game, seed=0, player="bench")
    recorder.reset()
    states, held, action = [], [], 0
    while len(states) < count and not recorder.done:
        if recorder.length % 4 == 0:
            action = int(rng.integers(game.n_actions))
        if recorder.length >= 300 and recorder.length % 20 == 0:
            states.append(recorder.clone_state())
            held.append(action)
        recorder.step(action)
    recorder.close()
    print(f"{game.name}: labelling {len(states)} states, one process; bare emulator {emulator_speed(game):,.0f} frames/s")
    for budget in budgets:
        expert = Expert(game, ExpertConfig(budget=budget, depth=depth), seed=0)
        tic = time.perf_counter()
        expert.label(states, held)
        seconds = time.perf_counter() - tic
        print(json.dumps({"game": game.name, "budget": budget, "depth": depth, "states": len(states),
                          "labels_per_s": round(len(states) / seconds, 2),
                          "frames_per_decision": round(expert.frames_used / len(states)),
                          "emulator_fps_after": round(emulator_speed(game, 1.0))}))


def _log(console: Console, budget: int, p) -> None:
    """A line now and then while episodes play, so a long run shows where it is."""
    if p.done or p.decisions % 500 == 0:
        console.print(f"  budget {budget}, seed {p.seed}: {p.frames:,} frames, score {p.score:,.0f}, lives {p.lives}, "
                      f"{p.labels_per_s:.1f} labels/s" + (f", ended {p.ended}" if p.done else ""), highlight=False)


if __name__ == "__main__":
    main()
