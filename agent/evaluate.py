"""Scores under the standard protocol, for a policy and for a random agent in the same call.

The protocol (Machado et al. 2018, the ALE v5 defaults): sticky actions with probability
0.25 (applied by the emulator on every frame), up to 30 no-op frames at the start of each
episode, a cap of 108,000 emulator frames (30 minutes), full episodes (every life). The agent
decides every `frameskip` frames and sees the observation of `agent.obs`: the same pooled,
stacked frames it was trained on, built by the same code.

Many environments are stepped together (a gymnasium `SyncVectorEnv` of `AgentEnv`, our
frameskip-1 emulator plus the observation pipeline) and the policy acts on all of them in
one batch. Every episode started is finished and counted, so the mean is not biased toward
short episodes. ale-py's `AtariVectorEnv` is not used: its defaults differ from this protocol
(sticky 0, reward clipping, fire reset) and its own resize and last-two-frame max would not give
the observations the policy was trained on.

Human-normalized scores use, for Ms. Pac-Man, random 307.3 and human 6,951.6 from Wang et al.
2016 ("Dueling network architectures", the human scores of Nair et al. 2015).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import gymnasium as gym
import numpy as np

from agent.obs import FrameStack, ObsConfig
from recorder.games import Game, make_env
from recorder.store import GameStore, atomic_write

STANDARD_STICKY = 0.25
STANDARD_NOOP_MAX = 30
STANDARD_MAX_FRAMES = 108_000

# Published references: (random, human, source). Only games where we know the numbers.
REFERENCES: dict[str, tuple[float, float, str]] = {
    "mspacman": (307.3, 6951.6, "Wang et al. 2016 (random 307.3, human 6,951.6)"),
}


@dataclass(frozen=True)
class EvalConfig:
    episodes: int = 30
    envs: int = 8  # environments stepped together
    sticky: float = STANDARD_STICKY
    noop_max: int = STANDARD_NOOP_MAX
    max_frames: int = STANDARD_MAX_FRAMES
    greedy: bool = False
    temperature: float = 1.0
    seed: int = 0
    random_baseline: bool = True

    def __post_init__(self) -> None:
        if self.episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {self.episodes}")
        if self.envs < 1:
            raise ValueError(f"envs must be at least 1, got {self.envs}")
        if not 0 <= self.sticky < 1:
            raise ValueError(f"sticky action probability must be in [0, 1), got {self.sticky}")
        if self.noop_max < 0:
            raise ValueError(f"noop_max must be >= 0, got {self.noop_max}")
        if self.max_frames < 1:
            raise ValueError(f"max_frames must be at least 1, got {self.max_frames}")
        if not self.temperature > 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")

    @property
    def standard(self) -> bool:
        return (self.sticky, self.noop_max, self.max_frames) == (STANDARD_STICKY, STANDARD_NOOP_MAX, STANDARD_MAX_FRAMES)

    def protocol(self, obs: ObsConfig) -> str:
        """The protocol line printed with every report; says so when a setting is not the standard one."""
        line = (
            f"sticky actions {self.sticky:g}, up to {self.noop_max} no-op frames at start, "
            f"{self.max_frames:,}-frame cap, full episodes (all lives); agent acts every {obs.frameskip} frames "
            f"on {obs.stack} stacked max-pooled 84x84 frames"
        )
        if not self.standard:
            changed = []
            if self.max_frames != STANDARD_MAX_FRAMES:
                changed.append(f"frame cap {self.max_frames:,} instead of {STANDARD_MAX_FRAMES:,}")
            if self.sticky != STANDARD_STICKY:
                changed.append(f"sticky {self.sticky:g} instead of {STANDARD_STICKY}")
            if self.noop_max != STANDARD_NOOP_MAX:
                changed.append(f"no-op max {self.noop_max} instead of {STANDARD_NOOP_MAX}")
            line += "; NOT the standard protocol: " + ", ".join(changed)
        return line


# ---------------------------------------------------------------------------------------------
# The environment the agent plays in


class AgentEnv(gym.Env):
    """The real emulator at frameskip 1 with the observation pipeline on top.

    One `step` is one decision: the action is held for `frameskip` emulator frames (sticky
    actions, if on, are applied by the emulator per frame), the frames are pooled by
    `agent.obs`, and the stacked observation comes back. `reset` plays 1..noop_max no-op
    frames (none when noop_max is 0).
    """

    metadata = {"render_modes": []}

    def __init__(self, game: Game, obs: ObsConfig, *, sticky: float, max_frames: int, noop_max: int) -> None:
        self.game, self.obs_config, self.noop_max = game, obs, noop_max
        self.env = make_env(game, frameskip=1, sticky=sticky, max_frames=max_frames)
        self.observation_space = gym.spaces.Box(0, 255, obs.shape, dtype=np.uint8)
        self.action_space = gym.spaces.Discrete(game.n_actions)
        self.stack = FrameStack(obs)
        height, width, _ = self.env.observation_space.shape
        self._frames = np.empty((max(obs.frameskip, 1), height, width, 3), dtype=np.uint8)
        self._rewards = np.zeros(obs.frameskip, dtype=np.float64)
        self._n = 0  # frames the last step played
        self._first: np.ndarray | None = None
        self._score = 0.0
        self._length = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        inner_seed = None if seed is None else int(self.np_random.integers(2**31))
        frame, _ = self.env.reset(seed=inner_seed)
        self._score, self._length = 0.0, 0
        noops = int(self.np_random.integers(1, self.noop_max + 1)) if self.noop_max else 0
        recent = [frame]
        for _ in range(noops):
            frame, reward, terminated, truncated, _ = self.env.step(0)
            self._score += reward
            self._length += 1
            recent = (recent + [frame])[-self.obs_config.frameskip :]
            if terminated or truncated:  # not in practice; start over rather than hand back a dead game
                frame, _ = self.env.reset()
                recent, self._score, self._length = [frame], 0.0, 0
        self._first, self._n = frame, 0
        return self.stack.reset(np.stack(recent)), self._info()

    def step(self, action: int):
        reward_sum, terminated, truncated = 0.0, False, False
        n = 0
        for n in range(1, self.obs_config.frameskip + 1):
            frame, reward, terminated, truncated, _ = self.env.step(int(action))
            self._frames[n - 1] = frame
            self._rewards[n - 1] = reward
            reward_sum += reward
            self._length += 1
            if terminated or truncated:
                break
        self._score += reward_sum
        self._n = n
        obs = self.stack.push(self._frames[:n])
        return obs, reward_sum, terminated, truncated, self._info()

    @property
    def first_frame(self) -> np.ndarray | None:
        """The screen after the last reset (and its no-ops)."""
        return self._first

    @property
    def last_frames(self) -> tuple[np.ndarray, np.ndarray]:
        """The emulator frames the last step played and their rewards (for watching)."""
        return self._frames[: self._n], self._rewards[: self._n]

    def _info(self) -> dict:
        # The emulator's own count: the one the frame cap applies to (it includes the frames a reset plays).
        return {"score": self._score, "frames": int(self.env.unwrapped.ale.getEpisodeFrameNumber())}

    def close(self) -> None:
        self.env.close()


def make_vector_env(game: Game, obs: ObsConfig, config: EvalConfig, n: int) -> gym.vector.SyncVectorEnv:
    def make() -> AgentEnv:
        return AgentEnv(game, obs, sticky=config.sticky, max_frames=config.max_frames, noop_max=config.noop_max)

    return gym.vector.SyncVectorEnv([make] * n, autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP)


# ---------------------------------------------------------------------------------------------
# Scores


@dataclass(frozen=True)
class Scores:
    """The episodes of one player under the protocol."""

    label: str
    scores: list[float]
    lengths: list[int]  # emulator frames

    @property
    def n(self) -> int:
        return len(self.scores)

    @property
    def mean(self) -> float:
        return float(np.mean(self.scores))

    @property
    def ci95(self) -> float:
        """Half-width of the 95% interval of the mean (Student's t)."""
        if self.n < 2:
            return math.nan
        return t95(self.n - 1) * float(np.std(self.scores, ddof=1)) / math.sqrt(self.n)

    @property
    def median(self) -> float:
        return float(np.median(self.scores))

    @property
    def min(self) -> float:
        return float(np.min(self.scores))

    @property
    def max(self) -> float:
        return float(np.max(self.scores))

    @property
    def mean_length(self) -> float:
        return float(np.mean(self.lengths))

    def summary(self) -> dict:
        return {
            "label": self.label, "episodes": self.n, "mean": self.mean, "ci95": self.ci95, "median": self.median,
            "min": self.min, "max": self.max, "mean_length_frames": self.mean_length,
            "scores": self.scores, "lengths": self.lengths,
        }


_T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042]


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with df degrees of freedom (the intervals' width)."""
    return _T95[df - 1] if df <= len(_T95) else 1.96 + 2.4 / df  # close to the t quantile above 30


@dataclass(frozen=True)
class EvalReport:
    game: str
    checkpoint: str | None
    protocol: str
    standard: bool
    config: dict
    obs: dict
    agent: Scores
    random: Scores | None
    players_mean: float | None  # the recorded human players' mean score (episodes in demos/)
    players_episodes: int
    reference: str | None  # the source of the normalization numbers
    agent_normalized: float | None  # human-normalized score, percent
    random_normalized: float | None
    created: str
    seconds: float
    agent_steps_per_s: float  # decisions per second over all environments
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["agent"] = self.agent.summary()
        out["random"] = self.random.summary() if self.random else None
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    def save(self, directory: Path) -> Path:
        """Write the report as JSON into `directory` (atomically); returns the path."""
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%d-%H%M%S")
        text = self.to_json().encode()
        return atomic_write(Path(directory) / f"eval-{stamp}-{os.getpid()}.json", lambda handle: handle.write(text))


def human_normalized(game: str, score: float) -> float | None:
    """100 * (score - random) / (human - random), where published numbers exist."""
    ref = REFERENCES.get(game)
    if ref is None:
        return None
    random_score, human_score, _ = ref
    return 100.0 * (score - random_score) / (human_score - random_score)


def players_mean(store: GameStore) -> tuple[float | None, int]:
    """The mean score of the episodes people recorded (demos/ with source "human"), and their count."""
    episodes, _ = store.scan(demos=True, dagger=False)
    scores = [info.score for _, info in episodes if info.source == "human"]
    return (float(np.mean(scores)) if scores else None), len(scores)


# ---------------------------------------------------------------------------------------------
# Playing


ActFn = Callable[[np.ndarray], np.ndarray]  # (B, stack, 84, 84) uint8 -> (B,) actions


def run_episodes(
    act: ActFn, game: Game, obs: ObsConfig, config: EvalConfig, *, label: str, seed: int,
    on_episode: Callable[[int, float], None] | None = None,
) -> tuple[Scores, float]:
    """Play `config.episodes` full episodes on up to `config.envs` environments at once.

    Returns the scores and the decisions per second over all environments.
    """
    n_envs = min(config.envs, config.episodes)
    venv = make_vector_env(game, obs, config, n_envs)
    try:
        observations, _ = venv.reset(seed=seed)
        started, scores, lengths = n_envs, [], []
        counted = np.ones(n_envs, dtype=bool)  # the env's current episode counts
        resetting = np.zeros(n_envs, dtype=bool)  # this step resets the env (NEXT_STEP autoreset)
        steps, start = 0, time.perf_counter()
        while counted.any():
            actions = act(observations)
            observations, _, terminated, truncated, info = venv.step(actions)
            steps += int(counted.sum())
            for i in range(n_envs):
                if resetting[i]:
                    resetting[i] = False
                    counted[i] = started < config.episodes
                    started += counted[i]
                    continue
                if terminated[i] or truncated[i]:
                    resetting[i] = True
                    if counted[i]:
                        scores.append(float(info["score"][i]))
                        lengths.append(int(info["frames"][i]))
                        counted[i] = False
                        if on_episode is not None:
                            on_episode(len(scores), scores[-1])
        rate = steps / max(time.perf_counter() - start, 1e-9)
    finally:
        venv.close()
    return Scores(label=label, scores=scores, lengths=lengths), rate


def policy_actor(policy, *, greedy: bool, temperature: float, rng: np.random.Generator) -> ActFn:
    def act(observations: np.ndarray) -> np.ndarray:
        actions, _ = policy.act(observations, greedy=greedy, temperature=temperature, rng=rng)
        return actions

    return act


def random_actor(n_actions: int, rng: np.random.Generator) -> ActFn:
    def act(observations: np.ndarray) -> np.ndarray:
        return rng.integers(n_actions, size=len(observations))

    return act


def random_scores(
    game: Game, obs: ObsConfig, config: EvalConfig, *, seed: int,
    on_episode: Callable[[int, float], None] | None = None,
) -> Scores:
    """A uniformly random agent under the protocol: `config.episodes` games from `seed`, its
    actions drawn from `config.seed + 1` (the baseline of every report)."""
    act = random_actor(game.n_actions, np.random.default_rng(config.seed + 1))
    return run_episodes(act, game, obs, config, label="random", seed=seed, on_episode=on_episode)[0]


def evaluate_policy(
    policy, game: Game, obs: ObsConfig, config: EvalConfig = EvalConfig(), *,
    store: GameStore | None = None, checkpoint: Path | None = None,
    on_episode: Callable[[str, int, float], None] | None = None,
) -> EvalReport:
    """Score `policy` (and, if `config.random_baseline`, a random agent) under the protocol."""
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    agent, rate = run_episodes(
        policy_actor(policy, greedy=config.greedy, temperature=config.temperature, rng=rng),
        game, obs, config, label="agent", seed=config.seed,
        on_episode=None if on_episode is None else (lambda i, s: on_episode("agent", i, s)),
    )
    baseline = None
    if config.random_baseline:
        baseline = random_scores(game, obs, config, seed=config.seed + 10_000,
                                 on_episode=None if on_episode is None else (lambda i, s: on_episode("random", i, s)))
    players, n_players = players_mean(store) if store is not None else (None, 0)
    ref = REFERENCES.get(game.name)
    return EvalReport(
        game=game.name,
        checkpoint=str(checkpoint) if checkpoint else None,
        protocol=config.protocol(obs),
        standard=config.standard,
        config=asdict(config),
        obs=obs.to_dict(),
        agent=agent,
        random=baseline,
        players_mean=players,
        players_episodes=n_players,
        reference=ref[2] if ref else None,
        agent_normalized=human_normalized(game.name, agent.mean),
        random_normalized=human_normalized(game.name, baseline.mean) if baseline else None,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        seconds=time.perf_counter() - start,
        agent_steps_per_s=rate,
    )


def evaluate_checkpoint(
    checkpoint: Path, game: Game, config: EvalConfig = EvalConfig(), *, store: GameStore | None = None,
    device: str = "cpu", save: bool = True, on_episode: Callable[[str, int, float], None] | None = None,
) -> tuple[EvalReport, Path | None]:
    """Load `checkpoint` (refusing one for another game), score it, save the report under store.reports."""
    from agent.policy import load_checkpoint, resolve_device

    loaded = load_checkpoint(checkpoint, game, device=resolve_device(device))
    report = evaluate_policy(loaded.policy, game, loaded.obs, config, store=store, checkpoint=checkpoint,
                             on_episode=on_episode)
    path = report.save(store.reports) if (save and store is not None) else None
    return report, path
