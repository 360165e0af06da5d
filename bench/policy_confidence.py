"""How sure is each policy on its own validation decisions, at the temperature it plays at?

    python bench/policy_confidence.py --game pacman --data /tmp/pac600 --temperature 0.25 \\
        "last=/tmp/pac600/pacman/models/8-1-avg5/last.pt" "averaged=/tmp/pac600/pacman/models/8-1-avg5/avg.pt"

For each `NAME=CHECKPOINT`, the episodes the checkpoint held out for validation (its meta) are
read from the store under `--data` (its demos and DAgger rounds), and the policy's action
probabilities at `--temperature` are computed on their labelled decisions (moot ones too: the
policy meets them in play). Prints, per policy: the decisions, the mean probability of its most
likely action, the mean entropy (nats; uniform over the game's actions is log(actions)), and
the share of decisions where its most likely action is the label. Two policies that predict as
well can play differently when one of them samples from flatter probabilities.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.policy import load_checkpoint  # noqa: E402
from agent.train import load_data  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.store import GameStore  # noqa: E402

import checkpoints  # noqa: E402  (bench/, beside this script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("policies", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--data", type=Path, required=True, help="the data folder the policies were trained from")
    parser.add_argument("--temperature", type=float, default=0.25)
    args = parser.parse_args()
    game = resolve_game(args.game)
    named = checkpoints.named_checkpoints(parser, args.policies)
    policies = [(name, load_checkpoint(path, game)) for name, path in named]
    paths = GameStore(args.data, game.name).episode_paths()
    data = load_data(paths, game, policies[0][1].obs)
    torch.set_num_threads(1)

    print(f"{game.name}: {len(paths)} episodes under {args.data}; temperature {args.temperature:g}; "
          f"uniform entropy {math.log(game.n_actions):.3f}\n")
    print("| policy | validation decisions | top probability | entropy | top action is the label |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, checkpoint in policies:
        held_out = set(checkpoint.meta.get("val_episodes", ()))
        ids = data.samples([i for i, p in enumerate(data.paths) if p.name in held_out])
        if len(ids) == 0:
            raise SystemExit(f"{name}: none of its validation episodes are under {args.data}")
        probs = np.concatenate([
            checkpoint.policy.probabilities(data.pooled[data.stacks[ids[lo : lo + 512]]], args.temperature).numpy()
            for lo in range(0, len(ids), 512)
        ])
        entropy = -(probs * np.log(np.clip(probs, 1e-12, None))).sum(axis=1)
        right = probs.argmax(axis=1) == data.labels[ids]
        print(f"| {name} | {len(ids):,} | {probs.max(axis=1).mean():.3f} | {entropy.mean():.3f} | {right.mean():.1%} |")


if __name__ == "__main__":
    main()
