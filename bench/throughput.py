"""Benchmarks of the learning side, measured side by side in one run.

    python -m bench.throughput                 # all four, ~5 minutes on 2 shared cores
    python -m bench.throughput --only-memory --frames 20000 --data /tmp/mbl-20k  # a smaller memory run

Every measurement trains one network without mirrored decisions (the bare model it is set
against is one network).

1. Training throughput: samples/s of the real train loop (`agent.train.train`, data gathered
   by index from recorded episodes) against the bare model's forward+backward+Adam step on
   tensors already in memory; same batch size, same threads, alternated. Goal >= 0.9.
2. Evaluation throughput: agent decisions/s (batched inference + the vector env) against the
   same vector env stepping random actions. Goal >= 0.7.
3. One-observation inference latency on the CPU (`Policy.act`). Goal <= 2 ms.
4. Peak memory of training (load + one epoch) on N recorded frames, in a fresh process,
   against the uint8 bytes of the pooled frames and of the raw RGB frames.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from agent.evaluate import EvalConfig, run_episodes
from agent.obs import ObsConfig
from agent.policy import ACT_THREADS, Policy, PolicyConfig, torch_threads
from agent.rollout import PolicyController, RandomController
from agent.train import TrainConfig, load_data, train
from recorder.games import resolve_game
from recorder.store import GameStore
from tests.conftest import record_scripted

GAME = "pacman"


def one_network(config: TrainConfig) -> TrainConfig:
    """The config training one network: what these measurements were made with (the game is taken
    unmirrored, `unmirrored`)."""
    return replace(config, networks=1)


def unmirrored(name: str):
    """The game with its screen marked not symmetric: training sees no mirrored decisions."""
    return replace(resolve_game(name), symmetric=False)


def record_until(directory: Path, frames: int) -> list[Path]:
    """Scripted real play (8-frame holds) until `frames` frames are recorded; reused when already there."""
    directory.mkdir(parents=True, exist_ok=True)
    from recorder.store import read_info

    paths = sorted(directory.glob("*.npz"))
    total = sum(read_info(p).length for p in paths)
    seed = len(paths)
    while total < frames:
        path = record_scripted(GAME, directory, frames=frames - total, seed=seed, hold=8, player=f"bench{seed}")
        total += read_info(path).length
        paths.append(path)
        seed += 1
    return paths


def bench_training(paths: list[Path], batch: int, rounds: int, threads: int) -> dict:
    game = unmirrored(GAME)
    config = one_network(TrainConfig(epochs=1, batch_size=batch, val_fraction=0, device="cpu", seed=0, threads=threads))
    data = load_data(paths, game, config.obs)
    n = len(data.samples())
    steps = n // batch
    real, bare, wall = [], [], []
    for _ in range(rounds):
        with torch_threads(threads):
            bare.append(_bare_rate(game.n_actions, batch, steps))
        with tempfile.TemporaryDirectory() as out:
            start = time.perf_counter()
            result = train(game, paths, Path(out), config, data=data)
            wall.append(n / (time.perf_counter() - start))
        real.append(result.final.samples_per_s)
    return {
        "samples": n, "batch": batch, "threads": threads, "rounds": rounds,
        "train_loop_samples_per_s": statistics.median(real),
        "bare_model_samples_per_s": statistics.median(bare),
        "ratio": statistics.median(real) / statistics.median(bare),
        "train_loop_with_validation_and_checkpoints_samples_per_s": statistics.median(wall),
    }


def _bare_rate(n_actions: int, batch: int, steps: int) -> float:
    torch.manual_seed(0)
    model = Policy(PolicyConfig(n_actions=n_actions))
    optimizer = torch.optim.Adam(model.parameters(), lr=2.5e-4)
    obs = torch.randint(0, 256, (batch, 4, 84, 84), dtype=torch.uint8)
    labels = torch.randint(0, n_actions, (batch,))
    start = time.perf_counter()
    for _ in range(steps):
        loss = F.cross_entropy(model(obs), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return steps * batch / (time.perf_counter() - start)


def bench_eval(envs: int, max_frames: int, rounds: int) -> dict:
    game = resolve_game(GAME)
    obs = ObsConfig()
    config = EvalConfig(episodes=envs, envs=envs, max_frames=max_frames, random_baseline=False)
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(n_actions=game.n_actions)).eval()
    agent, rand = [], []
    for r in range(rounds):
        rng = np.random.default_rng(r)
        _, rate = run_episodes(RandomController(game.n_actions, rng), game, obs, config, label="random", seed=r)
        rand.append(rate)
        _, rate = run_episodes(PolicyController(policy, rng, temperature=1.0), game, obs, config,
                               label="agent", seed=r)
        agent.append(rate)
    return {
        "envs": envs, "max_frames": max_frames, "rounds": rounds,
        "agent_decisions_per_s": statistics.median(agent), "random_decisions_per_s": statistics.median(rand),
        "ratio": statistics.median(agent) / statistics.median(rand),
    }


def bench_latency(calls: int) -> dict:
    torch.manual_seed(0)
    policy = Policy(PolicyConfig(n_actions=5)).eval()
    obs = np.random.default_rng(0).integers(0, 256, (4, 84, 84), dtype=np.uint8)
    rng = np.random.default_rng(0)
    out = {}
    for name, kwargs in (("sample", {}), ("greedy", {"greedy": True})):
        for _ in range(20):
            policy.act(obs, rng=rng, **kwargs)
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            policy.act(obs, rng=rng, **kwargs)
            times.append(time.perf_counter() - start)
        out[f"{name}_median_ms"] = 1e3 * statistics.median(times)
        out[f"{name}_p95_ms"] = 1e3 * float(np.percentile(times, 95))
    out["threads"] = ACT_THREADS
    return out


def memory_child(directory: Path, batch: int) -> dict:
    """Runs in a fresh process: peak RSS of loading + one epoch, over the RSS after imports."""
    game = unmirrored(GAME)
    paths = GameStore(directory, GAME).episode_paths()
    torch.manual_seed(0)
    Policy(PolicyConfig(n_actions=game.n_actions))  # warm torch's allocator before the baseline
    base = _rss_now()
    config = one_network(TrainConfig(epochs=1, batch_size=batch, val_fraction=0.1, device="cpu", threads=1))
    with tempfile.TemporaryDirectory() as out:
        result = train(game, paths, Path(out), config)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    from recorder.store import read_info

    infos = [read_info(p) for p in paths]
    frames = sum(i.length + 1 for i in infos)
    h, w, c = infos[0].frame_shape
    decisions = result.train_samples + result.val_samples
    pooled_bytes = decisions * 84 * 84
    return {
        "recorded_frames": frames, "decisions": decisions, "rss_after_imports_mb": base / 2**20,
        "peak_rss_mb": peak / 2**20, "training_increase_mb": (peak - base) / 2**20,
        "pooled_uint8_mb": pooled_bytes / 2**20, "raw_rgb_uint8_mb": frames * h * w * c / 2**20,
        "increase_over_pooled": (peak - base) / pooled_bytes,
        "float_copy_would_be_mb": pooled_bytes * 4 / 2**20,
        "stacked_copy_would_be_mb": pooled_bytes * 4 / 2**20,
    }


def _rss_now() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=100_000, help="recorded frames for the memory run")
    parser.add_argument("--data", type=Path, default=Path(tempfile.gettempdir()) / "mimic-bench-learn")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--only-memory", action="store_true", help="run only the memory measurement")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    store = GameStore(args.data, GAME)
    if args.memory_child:
        print(json.dumps(memory_child(args.data, args.batch)))
        return
    results = {"machine": f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores, "
               f"torch {torch.__version__}, Python {platform.python_version()}",
               "cuda": torch.cuda.is_available()}
    if not args.only_memory:
        small = record_until(args.data / "small", 8_000)
        for threads in (1, 2):
            results[f"training_{threads}_thread"] = bench_training(small, args.batch, args.rounds, threads)
            print(json.dumps({f"training_{threads}_thread": results[f"training_{threads}_thread"]}), flush=True)
        results["eval"] = bench_eval(envs=8, max_frames=2_000, rounds=args.rounds)
        print(json.dumps({"eval": results["eval"]}), flush=True)
        results["latency"] = bench_latency(calls=300)
        print(json.dumps({"latency": results["latency"]}), flush=True)
    record_until(store.demos, args.frames)
    child = subprocess.run(
        [sys.executable, "-m", "bench.throughput", "--memory-child", "--data", str(args.data), "--batch", str(args.batch)],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parent.parent,
    )
    results["memory"] = json.loads(child.stdout.strip().splitlines()[-1])
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
