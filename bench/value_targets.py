"""Should behavioural cloning learn the planner's label, or how good it found every action?

    python bench/value_targets.py --game pacman --episodes 8 --seeds 1,2,3

The planning expert records `--episodes` demonstrations (budget 600, 3,000 frames each, the
sizes `mimic demo` uses, the seeds bench/label_targets.py uses). Each is replayed from its seed
and the expert's value of every action is taken at every decision it made (the numbers it chose
by: a decision is a pure function of seed and state, which the replay checks: the recorded
label is always one of the best by those values, and the replay ends on the recorded score).
On the same data the policy is trained once per seed with each target:

- label:  cross-entropy to the expert's label (what `mimic train` does);
- values: cross-entropy to softmax(values / tau), the distillation target of Rusu et al. 2016
  ("Policy distillation"): every action weighted by how good the look-ahead found it;
- mixed:  half of each (the label keeps the expert's habit of holding its direction where the
  ways tie, the values add how bad the others are).

Each policy is scored with the eval protocol at sampling temperature 0.25 with its last epoch's
weights. Prints a markdown table: one row per target and seed, then each target's mean over
the seeds with its 95% interval.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.planner import Expert, ExpertConfig  # noqa: E402
from agent.train import TrainConfig, load_data, train  # noqa: E402
from recorder.games import resolve_game  # noqa: E402
from recorder.recording import EpisodeRecorder  # noqa: E402
from recorder.store import load_episode  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)


def replay_values(game_name: str, config: ExpertConfig, path: str) -> np.ndarray:
    """(decisions, actions): the expert's action values at each decision of a recorded expert episode."""
    game = resolve_game(game_name)
    episode = load_episode(Path(path), frames=False)
    info = episode.info
    expert = Expert(game, config, seed=info.seed)  # play_episode gives the expert the episode's seed
    recorder = EpisodeRecorder(game, seed=info.seed, player="replay", state_every=10**9)
    recorder.reset()
    values = []
    for t, action in enumerate(episode.actions):
        if t % config.frameskip == 0:
            v = expert.action_values(recorder.clone_state())
            if v[episode.labels[t]] < v.max() - 1e-9:
                raise RuntimeError(f"{Path(path).name}: decision {t // config.frameskip}: the label is not a best action")
            values.append(v)
        recorder.step(int(action))
    if recorder.score != info.score:
        raise RuntimeError(f"{Path(path).name}: the replay scored {recorder.score}, the recording {info.score}")
    recorder.close()
    return np.array(values, dtype=np.float32)


def softmax(values: np.ndarray, tau: float) -> np.ndarray:
    z = (values - values.max(1, keepdims=True)) / tau
    e = np.exp(z)
    return e / e.sum(1, keepdims=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    parser.add_argument("--tau", type=float, default=2.0, help="softmax temperature of the values, in points")
    args = parser.parse_args()
    game = resolve_game(args.game)
    seeds = planner_demos.training_seeds(args)
    expert_config = ExpertConfig(budget=args.budget)
    print(f"{game.name}; {os.cpu_count()} cores; {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; "
          f"tau {args.tau:g} points")

    with planner_demos.demonstrations(game, args) as (store, paths):
        base = TrainConfig(epochs=args.epochs, lr=args.lr)
        data = load_data(paths, game, base.obs)
        start = time.perf_counter()
        with ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")) as pool:
            values = list(pool.map(replay_values, [game.name] * len(data.paths), [expert_config] * len(data.paths),
                                   [str(p) for p in data.paths]))
        values = np.concatenate(values)
        assert len(values) == len(data.labels), (len(values), len(data.labels))
        spread = values.max(1) - values.min(1)
        print(f"values replayed in {time.perf_counter() - start:.0f} s: {len(values):,} decisions; "
              f"best minus worst action: median {np.median(spread):.1f}, a lost life in reach of some action "
              f"at {np.mean(values.min(1) <= -expert_config.life_penalty / 2):.0%} of decisions, "
              f"every action equal at {np.mean(spread < 1e-9):.0%}", flush=True)
        one_hot = np.eye(game.n_actions, dtype=np.float32)[data.labels.astype(np.int64)]
        soft = softmax(values.astype(np.float64), args.tau).astype(np.float32)
        targets = {"label": None, "values": soft, "mixed": 0.5 * one_hot + 0.5 * soft}

        print(f"\n| target | seed | train acc | val acc | score at T={planner_demos.TEMPERATURE:g} | train s |")
        print("| --- | ---: | ---: | ---: | ---: | ---: |")
        means: dict[str, list[float]] = {}
        for name, target in targets.items():
            for seed in seeds:
                start = time.perf_counter()
                result = train(game, data.paths, store.models / f"{name}-{seed}", replace(base, seed=seed),
                               data=replace(data, soft=target))
                seconds = time.perf_counter() - start
                agent = planner_demos.score(game, result.last_checkpoint, args)
                means.setdefault(name, []).append(agent.mean)
                final = result.final
                print(f"| {name} | {seed} | {final.train_accuracy:.0%} | {final.val_accuracy:.0%} | "
                      f"{agent.mean:.1f} ± {agent.ci95:.1f} | {seconds:.0f} |", flush=True)
        for name, scores in means.items():
            print(f"| {name}: mean of {len(scores)} seeds (± 95% over seeds) | | | | {planner_demos.over_seeds(scores)} | |")
        planner_demos.print_random(game, result.last_checkpoint, args)


if __name__ == "__main__":
    main()
