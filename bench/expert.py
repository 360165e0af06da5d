"""Benchmark of the planning expert: score per episode and decisions per second on one core.

    python bench/expert.py --game mspacman --budgets 1000,2000 --episodes 2 --workers 2
    python bench/expert.py --game pacman --budgets 1000 --episodes 2 --max-frames 20000

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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import ale_py  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from agent.expert import Expert, ExpertConfig, play_episodes  # noqa: E402
from recorder.games import resolve_game  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="mspacman")
    parser.add_argument("--budgets", default="2000", help="comma-separated budgets, frames per decision")
    parser.add_argument("--episodes", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--depth", type=int, default=40)
    parser.add_argument("--max-frames", type=int, default=None, help="cap each episode (say so when reporting)")
    args = parser.parse_args()

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


def _log(console: Console, budget: int, p) -> None:
    """A line now and then while episodes play, so a long run shows where it is."""
    if p.done or p.decisions % 500 == 0:
        console.print(f"  budget {budget}, seed {p.seed}: {p.frames:,} frames, score {p.score:,.0f}, lives {p.lives}, "
                      f"{p.labels_per_s:.1f} labels/s" + (f", ended {p.ended}" if p.done else ""), highlight=False)


if __name__ == "__main__":
    main()
