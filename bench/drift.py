"""Does the cloned policy drift? How often it agrees with the planner on the states it reaches
itself, against on the demonstrations it held out.

    python bench/drift.py --game pacman --data runs/scaling --games 8 \\
        "BC=runs/scaling/pacman/models/128-1/last.pt" "DAgger=runs/learning/dagger-run/pacman/models/dagger-round-005/last.pt"

DAgger rests on covariate shift: a cloned policy errs, reaches states the demonstrations never
showed, and errs more there; labels from those states correct it. This bench measures the shift.
Each `NAME=CHECKPOINT` plays `--games` games by itself (no expert help, sampling at
`--temperature`, the recording settings: no sticky actions), the planner labels every decision
it made (at the settings the demonstrations of `--data` were recorded at, read from their
files), and the policy's most likely action is compared with the planner's set of equally good
actions:

- on the demonstrations of `--data` the checkpoint held out of training (its validation episodes);
- on its own games: all decisions, those within the demonstrations' length (the same stretch of
  the game the demonstrations show) and after it, and those in the `--before-loss` decisions
  before a life was lost.

Decisions where the planner found every action as good (moot, left out of training) are left
out of every agreement and counted apart. If the policy agrees with the planner as often on its
own states as on held-out demonstrations, drift is not what holds it back, and DAgger's labels
have little to correct.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.dagger import roll_out  # noqa: E402
from agent.planner import ExpertConfig, ExpertPool, default_workers  # noqa: E402
from agent.obs import moot, set_bits  # noqa: E402
from agent.policy import load_checkpoint  # noqa: E402
from agent.train import Batcher, BCData, argmax_in_set, load_data  # noqa: E402
from recorder.games import Game, resolve_game  # noqa: E402
from recorder.recording import rollout_seed  # noqa: E402
from recorder.store import GameStore, load_episode, read_info  # noqa: E402


def demo_expert(store: GameStore) -> tuple[ExpertConfig, int]:
    """The planner settings the demonstrations were recorded with, and their length in frames."""
    paths = sorted(store.demos.glob("*.npz"))
    if not paths:
        raise SystemExit(f"{store.demos} holds no demonstrations; expected the planner benches' --data folder")
    info = read_info(paths[0])
    settings = {k: v for k, v in info.extra.get("expert", {}).items() if k not in ("planner", "seed")}
    if not settings:
        raise SystemExit(f"{paths[0].name} was not recorded by the planner; expected `mimic expert` demonstrations")
    return ExpertConfig(**settings), info.length


def agreement(policy, data: BCData, ids: np.ndarray, n_actions: int) -> np.ndarray:
    """(len(ids),) bool: the policy's most likely action is in the planner's set of equally good ones."""
    batcher = Batcher(data, torch.device("cpu"), n_actions, label_sets=True)
    right = []
    with torch.inference_mode():
        for lo in range(0, len(ids), 256):
            obs, _, allowed, _ = batcher.batch(ids[lo : lo + 256])
            right.append(argmax_in_set(policy(obs), allowed).numpy())
    return np.concatenate(right) if right else np.zeros(0, dtype=bool)


def before_loss(path: Path, frameskip: int, window: int) -> np.ndarray:
    """(decisions,) bool: a life is lost within `window` decisions after this one starts."""
    lives = load_episode(path, frames=False).lives.astype(np.int64)
    lost_at = np.flatnonzero(np.diff(lives) < 0) + 1  # frame where the count drops
    starts = np.arange(0, len(lives), frameskip)
    near = np.zeros(len(starts), dtype=bool)
    for frame in lost_at:
        near |= (starts <= frame) & (starts > frame - window * frameskip)
    return near


def cell(right: np.ndarray, sets: np.ndarray, n_actions: int) -> str:
    """Agreement, what an action drawn at random would agree (the sets' mean size over n), and the count."""
    if not len(right):
        return "-"
    chance = set_bits(sets, n_actions).sum(axis=1).mean() / n_actions
    return f"{right.mean():.1%} (chance {chance:.0%}; {len(right):,})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("policies", nargs="+", metavar="NAME=CHECKPOINT")
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--data", type=Path, required=True, help="the planner benches' data root (holds <game>/demos)")
    parser.add_argument("--games", type=int, default=8, help="games each policy plays by itself")
    parser.add_argument("--max-frames", type=int, default=27_000, help="frames per game at most")
    parser.add_argument("--temperature", type=float, default=0.25)
    parser.add_argument("--before-loss", type=int, default=60,
                        help="decisions before a lost life counted apart (Pac-Man shows the loss ~130 frames, "
                             "33 decisions, after the last move that could avoid it)")
    parser.add_argument("--seed", type=int, default=1, help="seeds the games and the labelling planner")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--keep", type=Path, default=None, help="keep the labelled games here (default: a temporary folder)")
    args = parser.parse_args()
    game = resolve_game(args.game)
    store = GameStore(args.data, game.name)
    expert_config, demo_frames = demo_expert(store)
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"planner {expert_config}", flush=True)
    rows = []
    with contextlib.ExitStack() as stack:
        root = args.keep or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="mimic-drift-")))
        pool = stack.enter_context(ExpertPool(game, expert_config, seed=args.seed, workers=args.workers))
        for item in args.policies:
            name, _, checkpoint = item.partition("=")
            rows.append(measure(game, name, Path(checkpoint), store, pool, demo_frames, root / name, args))
    print(f"\n| {game.name} policy | held-out demos | own games | within {demo_frames:,} frames | after | "
          f"{args.before_loss} decisions before a lost life | moot: demos / own | own games' mean score |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, cells, moot_share, score in rows:
        print(f"| {name} | {' | '.join(cells)} | {moot_share} | {score:.1f} |")
    print("\nAgreement: the policy's most likely action is among the planner's equally good ones "
          "(decisions where every action is as good left out). Chance: an action drawn at random; then the decisions compared.")


def measure(game: Game, name: str, checkpoint: Path, store: GameStore, pool: ExpertPool,
            demo_frames: int, folder: Path, args: argparse.Namespace) -> tuple[str, list[str], str, float]:
    loaded = load_checkpoint(checkpoint, game)
    held_out = [store.demos / n for n in loaded.meta.get("val_episodes", []) if (store.demos / n).is_file()]
    if not held_out:
        raise SystemExit(f"{checkpoint}: none of its validation episodes is in {store.demos}; "
                         "expected a policy trained on that folder's demonstrations")
    start = time.perf_counter()
    games = []
    for episode in range(args.games):  # beta 0: the policy alone plays, the pool labels after each game
        seed = rollout_seed(args.seed, 0, episode)
        games.append(roll_out(
            loaded.policy, loaded.obs, game, pool, beta=0.0, seed=seed,
            max_frames=args.max_frames, directory=folder, rng=np.random.default_rng(seed),
            temperature=args.temperature, relabel=pool,
        ))
    played = time.perf_counter() - start
    print(f"  {name}: {len(games)} games, {sum(g.decisions for g in games):,} decisions, mean score "
          f"{np.mean([g.score for g in games]):.1f}, played and labelled in {played:.0f} s", flush=True)

    demos = load_data(held_out, game, loaded.obs)
    own = load_data([g.path for g in games], game, loaded.obs)
    n = game.n_actions
    demo_ids = demos.samples()
    demo_moot = moot(demos.sets[demo_ids], n)
    demo_right = agreement(loaded.policy, demos, demo_ids[~demo_moot], n)

    own_ids = own.samples()
    frame = np.concatenate([np.arange((own.episode == e).sum()) * loaded.obs.frameskip for e in range(len(own.paths))])
    near = np.concatenate([before_loss(p, loaded.obs.frameskip, args.before_loss) for p in own.paths])
    own_moot = moot(own.sets[own_ids], n)
    decisive = own_ids[~own_moot]
    right = agreement(loaded.policy, own, decisive, n)
    early = frame[decisive] < demo_frames
    sets = own.sets[decisive]
    cells = [cell(demo_right, demos.sets[demo_ids[~demo_moot]], n), cell(right, sets, n),
             cell(right[early], sets[early], n), cell(right[~early], sets[~early], n),
             cell(right[near[decisive]], sets[near[decisive]], n)]
    return name, cells, f"{demo_moot.mean():.1%} / {own_moot.mean():.1%}", float(np.mean([g.score for g in games]))


if __name__ == "__main__":
    main()
