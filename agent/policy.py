"""The policy: the Nature-DQN encoder and a categorical head over the game's minimal action set.

Observations arrive as uint8 (B, stack, 84, 84); `forward` divides by 255. Acting samples
from the categorical by default (the stochastic policy is the point), takes the argmax with
`greedy=True`, and sharpens or flattens the distribution with `temperature`.

The policy sees the screen alone, on purpose: given the action it held before, a policy copies
its own last action rather than reading the screen.

An ensemble (`PolicyConfig.ensemble` > 1) is several such networks side by side in one module:
grouped convolutions and per-member linear layers, so one call runs them all. Each member has
its own initial weights; the policy's logits are the mean of the members' log-probabilities (a
normalised geometric mean of their distributions), and training gives each member its own loss
(`member_logits`), so every member learns as it would alone. With one member the layers, the
initial weights and the checkpoint layout are those of the single network.

Checkpoints are dicts written with `torch.save` to a temporary name and renamed; they carry the
game, its action names, the observation settings, the model and training configs, so a
checkpoint for another game or action set is refused in one line naming both.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from agent.obs import ObsConfig
from recorder.games import Game
from recorder.store import atomic_write

CHECKPOINT_FORMAT = 1
# Acting runs a batch of a few observations: one intra-op thread is as fast, and on a busy
# machine a second thread that has lost its core stalls every call.
ACT_THREADS = 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with `n` torch intra-op threads (None: leave the setting alone)."""
    old = torch.get_num_threads()
    if n is None or n == old:
        yield
        return
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: unreadable, or for another game or action set."""


MAX_ENSEMBLE = 16


def check_ensemble(ensemble: int) -> None:
    """ValueError unless `ensemble` is a size of ensemble this policy can be (1: one network)."""
    if not 1 <= ensemble <= MAX_ENSEMBLE:
        raise ValueError(f"an ensemble has 1 to {MAX_ENSEMBLE} networks, got {ensemble}")


@dataclass(frozen=True)
class PolicyConfig:
    n_actions: int
    stack: int = 4
    hidden: int = 512
    ensemble: int = 1  # networks side by side, acting on their combined vote
    # Each action's mirror image left to right (recorder.games.Game.mirror_actions): when given, the
    # policy acts on the vote of the screen and of its mirror image. None: on the screen alone.
    mirror: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if self.n_actions < 1:
            raise ValueError(f"a policy needs at least one action, got {self.n_actions}")
        check_ensemble(self.ensemble)
        if self.mirror is not None:
            object.__setattr__(self, "mirror", tuple(int(a) for a in self.mirror))  # a checkpoint keeps a list
            if sorted(self.mirror) != list(range(self.n_actions)) or any(
                    self.mirror[m] != a for a, m in enumerate(self.mirror)):
                raise ValueError(f"a mirror map pairs up the {self.n_actions} actions, got {list(self.mirror)}")


class MemberLinear(nn.Module):
    """`members` linear layers side by side: (B, members * in) -> (B, members * out), each member's
    slice through its own weights. The weight is (members * out, in): with one member, nn.Linear's."""

    def __init__(self, members: int, in_features: int, out_features: int) -> None:
        super().__init__()
        self.members, self.in_features, self.out_features = members, in_features, out_features
        self.weight = nn.Parameter(torch.empty(members * out_features, in_features))
        self.bias = nn.Parameter(torch.empty(members * out_features))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """nn.Linear's default initialisation (the policy re-initialises after, but the random
        numbers drawn here keep one member's weights those of the single network for a seed)."""
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)
        bound = 1 / self.in_features**0.5
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.members == 1:
            return nn.functional.linear(x, self.weight, self.bias)
        x = x.view(len(x), self.members, self.in_features)
        weight = self.weight.view(self.members, self.out_features, self.in_features)
        return torch.einsum("bki,koi->bko", x, weight).reshape(len(x), -1) + self.bias


class Policy(nn.Module):
    """Nature-DQN CNN (Mnih et al. 2015) with a categorical head: logits over the action set."""

    def __init__(self, config: PolicyConfig) -> None:
        super().__init__()
        self.config = config
        k = config.ensemble
        self.encoder = nn.Sequential(
            nn.Conv2d(config.stack * k, 32 * k, kernel_size=8, stride=4, groups=k),
            nn.ReLU(),
            nn.Conv2d(32 * k, 64 * k, kernel_size=4, stride=2, groups=k),
            nn.ReLU(),
            nn.Conv2d(64 * k, 64 * k, kernel_size=3, stride=1, groups=k),
            nn.ReLU(),
            nn.Flatten(),  # member by member: each member's channels are contiguous
            MemberLinear(k, 64 * 7 * 7, config.hidden),
            nn.ReLU(),
        )
        self.head = MemberLinear(k, config.hidden, config.n_actions)
        mirror = None if config.mirror is None else torch.tensor(config.mirror, dtype=torch.int64)
        self.register_buffer("mirror", mirror, persistent=False)  # follows .to(device); not in the weights
        self._init_weights()

    def _init_weights(self) -> None:
        """Orthogonal init (gain sqrt 2, zero biases), a near-uniform head: as CleanRL's Atari agents.

        With PyTorch's default init this network sits on a plateau for many steps before it
        separates Atari frames that differ in a few sprites; orthogonal init leaves it sooner.
        Each member's slice of a layer is initialised on its own, layer by layer.
        """
        k = self.config.ensemble
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, MemberLinear)):
                for chunk in module.weight.data.chunk(k):
                    nn.init.orthogonal_(chunk, gain=2**0.5)
                nn.init.zeros_(module.bias)
        for chunk in self.head.weight.data.chunk(k):
            nn.init.orthogonal_(chunk, gain=0.01)

    def member_logits(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 (B, stack, 84, 84), seen by every member, or (B, ensemble, stack, 84, 84), each
        member its own -> each member's logits (B, ensemble, n_actions)."""
        x = obs.float() / 255.0
        if x.ndim == 5:  # member k's observation in its own channels, k * stack onwards
            x = x.flatten(1, 2)
        elif self.config.ensemble > 1:
            x = x.repeat(1, self.config.ensemble, 1, 1)
        return self.head(self.encoder(x)).view(len(obs), self.config.ensemble, self.config.n_actions)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """uint8 (B, stack, 84, 84) -> logits (B, n_actions): the members' mean log-probabilities;
        with a mirror map, every member's on the screen and on its mirror image (whose actions it
        reads as their mirror images: LEFT there is RIGHT here)."""
        logits = self.member_logits(obs)
        if self.mirror is not None:
            logits = torch.cat([logits, self.member_logits(obs.flip(-1))[..., self.mirror]], dim=1)
        return combine(logits)

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    @torch.inference_mode()
    def probabilities(self, obs: np.ndarray | torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Action probabilities (B, n_actions) for a batch of uint8 observations."""
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0 (use greedy for argmax), got {temperature}")
        obs = torch.as_tensor(obs, device=self.device)
        if obs.ndim == 3:
            obs = obs[None]
        with torch_threads(ACT_THREADS if self.device.type == "cpu" else None):
            return torch.softmax(self(obs) / temperature, dim=-1)

    @torch.inference_mode()
    def act(
        self,
        obs: np.ndarray | torch.Tensor,
        *,
        greedy: bool = False,
        temperature: float = 1.0,
        rng: np.random.Generator | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(actions (B,) int64, probabilities (B, n_actions) float32) for a batch of observations.

        Samples from the categorical (with `rng`, or a fresh generator) unless `greedy`.
        """
        probs = self.probabilities(obs, temperature).float().cpu().numpy()
        if greedy:
            return probs.argmax(axis=1), probs
        rng = rng if rng is not None else np.random.default_rng()
        cumulative = probs.cumsum(axis=1)
        draws = rng.random(len(probs))[:, None] * cumulative[:, -1:]
        actions = (cumulative <= draws).sum(axis=1).clip(max=probs.shape[1] - 1)
        return actions, probs


def combine(member_logits: torch.Tensor) -> torch.Tensor:
    """(B, members, n_actions) -> the ensemble's logits (B, n_actions): a lone member's own, else the
    mean of the members' log-probabilities."""
    if member_logits.shape[1] == 1:
        return member_logits[:, 0]
    return torch.log_softmax(member_logits, dim=-1).mean(dim=1)


# ---------------------------------------------------------------------------------------------
# Checkpoints


@dataclass
class Checkpoint:
    """A loaded checkpoint: the policy (eval mode) and what it was trained for."""

    policy: Policy
    game: str
    action_names: tuple[str, ...]
    obs: ObsConfig
    meta: dict  # train config, metrics, epoch, ...
    path: Path | None = None


def save_checkpoint(
    path: Path, policy: Policy, game: Game, obs: ObsConfig, *, meta: dict | None = None,
    extra_state: dict | None = None,
) -> Path:
    """Write a checkpoint atomically (temporary name, fsync, rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "format": CHECKPOINT_FORMAT,
        "game": game.name,
        "rom": game.rom,
        "action_names": list(game.action_names),
        "obs": obs.to_dict(),
        "policy": asdict(policy.config),
        "state_dict": {k: v.detach().cpu() for k, v in policy.state_dict().items()},
        "meta": meta or {},
        **(extra_state or {}),
    }
    return atomic_write(path, lambda handle: torch.save(payload, handle))


def read_checkpoint(path: Path) -> dict:
    """The raw checkpoint dict; `CheckpointError` naming the file when it is not one of ours."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}: train one with `mimic train --game GAME`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise CheckpointError(f"{path.name}: not a readable mimic checkpoint ({type(exc).__name__})") from exc
    if not isinstance(payload, dict) or payload.get("format") != CHECKPOINT_FORMAT or "state_dict" not in payload:
        raise CheckpointError(f"{path.name}: not a mimic checkpoint (format {CHECKPOINT_FORMAT} expected)")
    return payload


def check_compatible(payload: dict, game: Game, path: Path | str = "checkpoint") -> None:
    """One line naming both when the checkpoint was trained for another game or action set."""
    name = Path(path).name
    theirs = tuple(payload["action_names"])
    if payload["game"] != game.name or theirs != game.action_names:
        raise CheckpointError(
            f"{name} was trained for {payload['game']} ({len(theirs)} actions: {', '.join(theirs)}), "
            f"not {game.name} ({game.n_actions} actions: {', '.join(game.action_names)}); "
            f"pass a checkpoint from data/{game.name}/models/ or train one with `mimic train --game {game.name}`"
        )


def load_checkpoint(path: Path, game: Game | None = None, device: str | torch.device = "cpu") -> Checkpoint:
    """Load a policy; with `game`, refuse a checkpoint trained for another game or action set."""
    path = Path(path)
    payload = read_checkpoint(path)
    if game is not None:
        check_compatible(payload, game, path)
    policy = Policy(PolicyConfig(**payload["policy"]))
    policy.load_state_dict(payload["state_dict"])
    policy.to(device).eval()
    return Checkpoint(
        policy=policy,
        game=payload["game"],
        action_names=tuple(payload["action_names"]),
        obs=ObsConfig(**payload["obs"]),
        meta=payload.get("meta", {}),
        path=path,
    )


def resolve_device(device: str = "auto") -> torch.device:
    """'auto' picks CUDA when present; 'cpu', 'cuda', 'cuda:1' as given (checked)."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"unknown device {device!r}: expected auto, cpu or cuda") from exc
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r} asked for, but this torch sees no CUDA GPU; use --device cpu")
    return resolved
