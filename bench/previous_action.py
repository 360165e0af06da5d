"""Should the policy see the action it held before? (The planner's tie-break does.)

    python bench/previous_action.py --game pacman --episodes 8 --seeds 1,2,3 --drop 0,0.5

Where the planner finds several ways equally good it keeps holding the action it held before,
which the screen does not show: in Pac-Man that makes its label the previous one at about two
decisions in three, and caps a screen-only policy's validation accuracy near a third. Given
the previous action (one-hot, beside the CNN's features, before the hidden layer), a policy can
predict the label far better; the question is whether it plays better, or learns to copy its
last action (the copycat problem of behavioural cloning with history; Wen et al. 2020).

On the planner's `--episodes` demonstrations (bench/planner_demos.py; `--data` reuses them)
each training seed trains the plain policy with `mimic train`'s trainer and, for each `--drop`,
the same network with the previous action as an input, hidden (shown as "none") on that
fraction of training decisions. Same split, optimiser, batches and epochs as the trainer.
Each is scored with the eval protocol at temperature 0.25, the previous-action policy fed
its own previous choice. Prints a markdown table (validation accuracy with the previous action,
and with it hidden) and each variant's mean over the seeds.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from agent.evaluate import EvalConfig, run_episodes  # noqa: E402
from agent.obs import NO_LABEL, ObsConfig  # noqa: E402
from agent.policy import Policy, PolicyConfig  # noqa: E402
from agent.train import BCData, TrainConfig, load_data, split_episodes, train  # noqa: E402
from recorder.games import Game, resolve_game  # noqa: E402

import planner_demos  # noqa: E402  (bench/, beside this script)


class PreviousActionPolicy(nn.Module):
    """The policy's network with the previous action (one-hot; index n_actions = none) joining the
    CNN's features before the hidden layer, so it can interact with what the screen shows."""

    def __init__(self, n_actions: int) -> None:
        super().__init__()
        base = Policy(PolicyConfig(n_actions=n_actions))  # its convolutions, head and initialisation
        self.n_actions = n_actions
        self.conv = base.encoder[:-2]  # up to the flattened convolutional features
        hidden = base.encoder[-2]
        self.hidden = nn.Linear(hidden.in_features + n_actions + 1, hidden.out_features)
        nn.init.orthogonal_(self.hidden.weight, gain=2**0.5)
        nn.init.zeros_(self.hidden.bias)
        self.head = base.head

    def forward(self, obs: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
        features = self.conv(obs.float() / 255.0)
        one_hot = nn.functional.one_hot(previous, self.n_actions + 1).float()
        return self.head(torch.relu(self.hidden(torch.cat([features, one_hot], dim=1))))


def previous_actions(data: BCData, n_actions: int) -> np.ndarray:
    """Per decision, the label of the decision before it in its episode (n_actions: none).

    In the planner's demonstrations the label is the action played."""
    previous = np.full(len(data.labels), n_actions, dtype=np.int64)
    before = data.labels[:-1].astype(np.int64)
    known = (data.episode[1:] == data.episode[:-1]) & (before != NO_LABEL)
    previous[1:][known] = before[known]
    return previous


def train_with_previous(data: BCData, previous: np.ndarray, game: Game, config: TrainConfig, drop: float):
    """(model, train accuracy, val accuracy, val accuracy with the previous action hidden);
    `previous`: `previous_actions(data)`."""
    n = game.n_actions
    train_eps, val_eps = split_episodes(len(data.paths), config.val_fraction, np.random.default_rng(config.seed))
    train_ids, val_ids = data.samples(train_eps), data.samples(val_eps)
    previous = torch.from_numpy(previous)
    pooled, stacks = torch.from_numpy(data.pooled), torch.from_numpy(data.stacks)
    labels = torch.from_numpy(data.labels.astype(np.int64))
    torch.manual_seed(config.seed)
    model = PreviousActionPolicy(n)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    hide = torch.Generator().manual_seed(config.seed)
    for epoch in range(1, config.epochs + 1):
        order = np.random.default_rng([config.seed, epoch]).permutation(train_ids)
        model.train()
        correct = 0
        for b in range(math.ceil(len(order) / config.batch_size)):
            ids = torch.from_numpy(order[b * config.batch_size : (b + 1) * config.batch_size])
            shown = previous[ids].clone()
            shown[torch.rand(len(ids), generator=hide) < drop] = n
            logits = model(pooled[stacks[ids]], shown)
            loss = nn.functional.cross_entropy(logits, labels[ids])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            correct += int((logits.argmax(1) == labels[ids]).sum())
    model.eval()
    with torch.inference_mode():
        ids = torch.from_numpy(val_ids)
        obs = pooled[stacks[ids]]
        val = float((model(obs, previous[ids]).argmax(1) == labels[ids]).float().mean())
        hidden = float((model(obs, torch.full_like(ids, n)).argmax(1) == labels[ids]).float().mean())
    return model, correct / len(train_ids), val, hidden


def score_with_previous(model: PreviousActionPolicy, game: Game, obs: ObsConfig, args: argparse.Namespace):
    """The eval protocol (planner_demos.score's settings), the model fed its own previous choice."""
    config = EvalConfig(episodes=args.eval_episodes, temperature=planner_demos.TEMPERATURE,
                        seed=planner_demos.EVAL_SEED, random_baseline=False)
    rng = np.random.default_rng(config.seed)
    previous: np.ndarray | None = None

    def act(observations: np.ndarray) -> np.ndarray:
        nonlocal previous
        if previous is None:
            previous = np.full(len(observations), game.n_actions, dtype=np.int64)
        # A new episode's stack repeats its first screen (FrameStack.reset): nothing held before it.
        # (A screen frozen for a whole stack mid-game reads as a new start too; rare, and harmless here.)
        previous[(observations == observations[:, :1]).all(axis=(1, 2, 3))] = game.n_actions
        with torch.inference_mode():
            logits = model(torch.as_tensor(observations), torch.as_tensor(previous))
            probs = torch.softmax(logits / planner_demos.TEMPERATURE, dim=-1).numpy()
        cumulative = probs.cumsum(axis=1)
        draws = rng.random(len(probs))[:, None] * cumulative[:, -1:]
        previous = (cumulative <= draws).sum(axis=1).clip(max=game.n_actions - 1)
        return previous

    return run_episodes(act, game, obs, config, label="agent", seed=config.seed)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    planner_demos.add_arguments(parser)
    parser.add_argument("--drop", default="0,0.5", help="fractions of training decisions with the previous action hidden")
    parser.set_defaults(eval_episodes=20)
    args = parser.parse_args()
    game = resolve_game(args.game)
    drops = [float(d) for d in args.drop.split(",")]

    with planner_demos.demonstrations(game, args) as (store, paths):
        base = TrainConfig(epochs=args.epochs, lr=args.lr)
        data = load_data(paths, game, base.obs)
        previous = previous_actions(data, game.n_actions)
        labelled = (previous < game.n_actions) & (data.labels != NO_LABEL)
        print(f"{len(data.samples()):,} decisions; the label is the previous one at "
              f"{np.mean(data.labels[labelled] == previous[labelled]):.1%} of them", flush=True)
        print("\n| input | seed | train acc | val acc | val acc, previous hidden | "
              f"score at T={planner_demos.TEMPERATURE:g} | train s |")
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
        means: dict[str, list[float]] = {}
        for seed in planner_demos.training_seeds(args):
            config = TrainConfig(epochs=args.epochs, lr=args.lr, seed=seed)
            start = time.perf_counter()
            result = train(game, data.paths, store.models / f"screen-{seed}", config, data=data)
            seconds = time.perf_counter() - start
            agent = planner_demos.score(game, result.last_checkpoint, args)
            means.setdefault("screen", []).append(agent.mean)
            final = result.final
            print(f"| screen | {seed} | {final.train_accuracy:.0%} | {final.val_accuracy:.0%} | | "
                  f"{agent.mean:.1f} ± {agent.ci95:.1f} | {seconds:.0f} |", flush=True)
            for drop in drops:
                name = f"screen + previous (hidden {drop:.0%})"
                start = time.perf_counter()
                model, train_acc, val_acc, val_hidden = train_with_previous(data, previous, game, config, drop)
                seconds = time.perf_counter() - start
                agent = score_with_previous(model, game, base.obs, args)
                means.setdefault(name, []).append(agent.mean)
                print(f"| {name} | {seed} | {train_acc:.0%} | {val_acc:.0%} | {val_hidden:.0%} | "
                      f"{agent.mean:.1f} ± {agent.ci95:.1f} | {seconds:.0f} |", flush=True)
        for name, scores in means.items():
            print(f"| {name}: mean of {len(scores)} seeds (± 95% over seeds) | | | | | "
                  f"{planner_demos.over_seeds(scores)} | |")
        planner_demos.print_random(game, result.last_checkpoint, args)


if __name__ == "__main__":
    main()
