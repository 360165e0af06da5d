"""Which labels to learn where the planner's ways tie (in DAgger's rounds, or everywhere)?

    python bench/dagger_labels.py --game pacman --data runs/learning/dagger-run --rules held,drawn,untied
    python bench/dagger_labels.py --game pacman --data runs/scaling --rules held,untied --where all --seeds 1,2,3

Where several actions are equally good, the planner labels a state with the action held before
it (a person keeps holding a key until something makes them change). In a demonstration that
is the expert's own previous action; in a DAgger rollout it is the agent's, so on-policy labels
partly echo what the agent already did. This bench takes a finished DAgger run's data
(`--data`: its demonstrations and every round, as `bench/learning.py` leaves it in
<out>/dagger-run) and trains BC from scratch on it once per rule, each changing only the
labels of the rounds' decisions (`--where all`: the demonstrations' too; then any folder of
the planner's recordings will do, such as the planner benches' `--data` folder):

- `held`: as recorded (the previous action where it is among the best).
- `drawn`: an action drawn at random among the equally good ones (seeded by the training seed).
- `untied`: decisions where every action is as good are left unlabelled (not trained on);
  the others keep their label.

The `untied` rule is what the trainer now does by default (`TrainConfig.keep_moot`, measured
here first); every rule here trains with `keep_moot` on, so that the rule alone decides. Every
rule trains with the same settings and seeds (`--epochs`, `--lr`, `--seeds`, the same
train/validation split: it is drawn by episode) into <data>/<game>/models/labels-<rule>-<where>-<seed>/,
and is scored with the eval protocol over `--eval-episodes` from the planner benches' evaluation
seed (bench/compare_policies.py scores other checkpoints on the same games).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.evaluate import EvalConfig, evaluate_checkpoint, random_scores  # noqa: E402
from agent.obs import NO_LABEL, moot, set_bits  # noqa: E402
from agent.train import BCData, TrainConfig, load_data, train  # noqa: E402
from recorder.games import Game, resolve_game  # noqa: E402
from recorder.store import GameStore  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)

RULES = ("held", "drawn", "untied")


def relabel(data: BCData, rule: str, where: np.ndarray, n_actions: int, rng: np.random.Generator) -> BCData:
    """`data` with the labels of the decisions in `where` (bool mask) changed by `rule`."""
    if rule == "held":
        return data
    labels, sets = data.labels.copy(), data.sets.copy()
    chosen = where & (labels != NO_LABEL)
    if rule == "untied":
        drop = chosen & moot(sets, n_actions)
        labels[drop], sets[drop] = NO_LABEL, 0
    elif rule == "drawn":
        bits = set_bits(sets, n_actions)
        for i in np.flatnonzero(chosen & (bits.sum(axis=1) > 1)):
            labels[i] = rng.choice(np.flatnonzero(bits[i]))
    else:
        raise ValueError(f"unknown rule {rule!r}; expected one of {', '.join(RULES)}")
    return replace(data, labels=labels, sets=sets)


def describe_labels(data: BCData, where: np.ndarray, n_actions: int) -> str:
    sets = data.sets[where & (data.labels != NO_LABEL)]
    if not sets.size:
        return "no labelled decisions there"
    return (f"{sets.size:,} labelled decisions: every action as good {np.mean(moot(sets, n_actions)):.1%}, "
            f"some tied {np.mean(set_bits(sets, n_actions).sum(axis=1) > 1):.1%}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--data", type=Path, required=True, help="a DAgger run's data root (holds <game>/demos and <game>/dagger)")
    parser.add_argument("--rules", default=",".join(RULES), help=f"comma-separated, of {', '.join(RULES)}")
    parser.add_argument("--where", choices=("rounds", "all"), default="rounds",
                        help="relabel the DAgger rounds' decisions only, or the demonstrations' too")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--lr", type=float, default=2.5e-4)
    parser.add_argument("--seeds", default="1", help="training seeds, comma-separated (each also seeds the drawn rule)")
    parser.add_argument("--eval-episodes", type=int, default=100)
    parser.add_argument("--temperature", type=float, default=0.25)
    args = parser.parse_args()
    game = resolve_game(args.game)
    rules = args.rules.split(",")
    if unknown := [r for r in rules if r not in RULES]:
        parser.error(f"unknown rule(s) {', '.join(unknown)}; expected some of {', '.join(RULES)}")
    store = GameStore(args.data, game.name)
    paths = store.episode_paths()
    if args.where == "rounds" and not list(store.dagger.glob("round-*/*.npz")):
        parser.error(f"{store.dagger} holds no DAgger rounds; expected a finished DAgger run's data root "
                     "(or --where all, to change the demonstrations' labels)")
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"{len(paths)} episodes from {store.path}", flush=True)

    seeds = [int(seed) for seed in args.seeds.split(",")]
    config = TrainConfig(epochs=args.epochs, lr=args.lr, keep_moot=True)  # the rule alone decides what is left out
    data = load_data(paths, game, config.obs)
    in_rounds = np.array([p.parent.parent == store.dagger for p in data.paths])[data.episode]
    where = in_rounds if args.where == "rounds" else np.ones_like(in_rounds)
    print(f"  rounds: {describe_labels(data, in_rounds, game.n_actions)}", flush=True)
    print(f"  demonstrations: {describe_labels(data, ~in_rounds, game.n_actions)}", flush=True)

    eval_config = EvalConfig(episodes=args.eval_episodes, temperature=args.temperature,
                             seed=planner_demos.EVAL_SEED, random_baseline=False)
    rows = []
    for seed in seeds:
        for rule in rules:
            changed = relabel(data, rule, where, game.n_actions, np.random.default_rng(seed))
            out_dir = store.models / f"labels-{rule}-{args.where}-{seed}"
            start = time.perf_counter()
            result = train(game, changed.paths, out_dir, replace(config, seed=seed), data=changed)
            trained = time.perf_counter() - start
            start = time.perf_counter()
            scores = evaluate_checkpoint(result.checkpoint("last"), game, eval_config, save=False)[0].agent
            n_labels = int((changed.labels != NO_LABEL).sum())
            rows.append((rule, seed, n_labels, result.final, scores, trained, time.perf_counter() - start))
            print(f"  {rule}, seed {seed}: {scores.mean:.1f} ± {scores.ci95:.1f} (trained {trained:.0f} s)", flush=True)
    start = time.perf_counter()
    random = random_scores(game, config.obs, eval_config, seed=planner_demos.EVAL_SEED)
    random_s = time.perf_counter() - start
    print_table(game, args, rows, random, random_s)


def print_table(game: Game, args, rows, random, random_s: float) -> None:
    print(f"\n| {game.name}: ties in {args.where} | seed | labels | train acc | val acc | mean ± 95% | median | min | max "
          f"| train s | eval s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for rule, seed, n_labels, final, scores, trained, evaluated in rows:
        print(f"| {rule} | {seed} | {n_labels:,} | {final.train_accuracy:.1%} | {final.val_accuracy:.1%} | {scores.mean:.1f} ± "
              f"{scores.ci95:.1f} | {scores.median:.1f} | {scores.min:.0f} | {scores.max:.0f} | {trained:.0f} | "
              f"{evaluated:.0f} |")
    print(f"| random agent | | 0 | | | {random.mean:.1f} ± {random.ci95:.1f} | {random.median:.1f} | {random.min:.0f} | "
          f"{random.max:.0f} | | {random_s:.0f} |")
    for rule in dict.fromkeys(row[0] for row in rows):
        means = [scores.mean for name, _, _, _, scores, _, _ in rows if name == rule]
        if len(means) > 1:
            print(f"{rule}: {planner_demos.over_seeds(means)} over {len(means)} training seeds")


if __name__ == "__main__":
    main()
