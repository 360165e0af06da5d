"""Score several trained policies side by side on the same evaluation games, with more episodes.

    python bench/compare_policies.py --game pacman --episodes 100 --reference 411 \\
        "BC=runs/scaling/pacman/models/128-1/last.pt" "DAgger=runs/learning/dagger-run/pacman/models/dagger-round-005/last.pt"

Each `NAME=CHECKPOINT` is scored with the eval protocol (sticky actions 0.25, up to 30 no-op
starts, full games) over `--episodes` episodes from the same evaluation seed, sampling at
`--temperature`, then the random agent from the same seed. `NAME=A.pt+B.pt+C.pt` scores those
separately trained networks as one ensemble voting with the mean of their log-probabilities,
as `mimic train --ensemble 3` does (agent.policy.ensemble_of). The other benches score a policy on
20 or 30 episodes, where one Pac-Man policy's 95% interval is +-14 to +-63 points: this is the
second look at a comparison they made. Prints a markdown table; `--reference` (the expert's
score) adds each policy's share of it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.evaluate import EvalConfig, Scores, evaluate_checkpoint, evaluate_policy, random_scores  # noqa: E402
from agent.policy import CheckpointError, ensemble_of, load_checkpoint  # noqa: E402
from recorder.games import resolve_game  # noqa: E402

import checkpoints  # noqa: E402  (bench/, beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("policies", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--temperature", type=float, default=0.25, help="policy sampling temperature")
    parser.add_argument("--seed", type=int, default=7, help="evaluation seed (the planner benches' is 7)")
    parser.add_argument("--reference", type=float, default=None, help="the expert's score, for the share column")
    args = parser.parse_args()
    game = resolve_game(args.game)
    policies = checkpoints.named_policies(parser, args.policies)
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{args.episodes} eval episodes from seed {args.seed} at T={args.temperature:g}", flush=True)

    rows: list[tuple[str, Scores, float]] = []
    config = EvalConfig(episodes=args.episodes, temperature=args.temperature, seed=args.seed, random_baseline=False)
    for name, paths in policies:
        start = time.perf_counter()
        if len(paths) == 1:
            scores = evaluate_checkpoint(paths[0], game, config, save=False)[0].agent
        else:  # separately trained networks voting as one ensemble
            try:
                members = ensemble_of([load_checkpoint(p, game) for p in paths])
            except CheckpointError as exc:
                parser.error(f"{name}: {exc}")
            scores = evaluate_policy(members.policy, game, members.obs, config).agent
        rows.append((name, scores, time.perf_counter() - start))
        print(f"  {name}: {scores.mean:.1f} ± {scores.ci95:.1f} ({rows[-1][2]:.0f} s)", flush=True)
    start = time.perf_counter()
    random = random_scores(game, load_checkpoint(policies[0][1][0], game).obs, config, seed=args.seed)
    rows.append(("random agent", random, time.perf_counter() - start))

    share = "" if args.reference is None else f" of {args.reference:g} |"
    print(f"\n| policy | mean ± 95% | median | min | max |{share} eval s |")
    print("| --- | ---: | ---: | ---: | ---: |" + (" ---: |" if share else "") + " ---: |")
    for name, scores, seconds in rows:
        ratio = "" if args.reference is None else f" {scores.mean / args.reference:.2f} |"
        print(f"| {name} | {scores.mean:.1f} ± {scores.ci95:.1f} | {scores.median:.1f} | {scores.min:.0f} | "
              f"{scores.max:.0f} |{ratio} {seconds:.0f} |")


if __name__ == "__main__":
    main()
