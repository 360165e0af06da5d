"""Scores under the standard protocol, for a policy and for a random agent in the same call.

The protocol (Machado et al. 2018, the ALE v5 defaults): sticky actions with probability
0.25 (applied by the emulator on every frame), a no-op start of up to 30 frames, a cap of
108,000 emulator frames (30 minutes), full episodes (every life). The agent decides every
`frameskip` frames and sees the observation of `agent.obs`: the same pooled, stacked frames it
was trained on, built by the same code.

The games run in `agent.env.protocol_envs` (ale-py's AtariVectorEnv emulating at frameskip 1,
our pooling on top) and are played by the one decision loop, `agent.rollout.play`, the policy
acting on all of them in one batch. Every game started is finished and counted, so the mean is
not biased toward short games.

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

import numpy as np

from agent.env import STANDARD_MAX_FRAMES, STANDARD_NOOP_MAX, STANDARD_STICKY, protocol_envs
from agent.obs import ObsConfig
from agent.rollout import Controller, PolicyController, RandomController, play
from recorder.games import Game
from recorder.store import GameStore, atomic_write, ensure_writable


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
    temperature: float = 0.25  # the sampling temperature the benchmarks measured with
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
            f"sticky actions {self.sticky:g}, a no-op start of up to {self.noop_max} frames, "
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


def t95(df: int) -> float:
    """The two-sided 95% quantile of Student's t with df degrees of freedom (the intervals' width)."""
    from scipy.stats import t

    return float(t.ppf(0.975, df))


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


def run_episodes(
    controller: Controller, game: Game, obs: ObsConfig, config: EvalConfig, *, label: str, seed: int,
    on_episode: Callable[[int, float], None] | None = None,
) -> tuple[Scores, float]:
    """Play `config.episodes` whole games on up to `config.envs` environments at once.

    Returns the scores and the decisions per second over all environments.
    """
    n_envs = min(config.envs, config.episodes)
    envs = protocol_envs(game, obs, n_envs, sticky=config.sticky, noop_max=config.noop_max,
                         max_frames=config.max_frames)
    scores, lengths, steps = [], [], 0
    start = time.perf_counter()
    try:
        for turn in play(envs, controller, games=config.episodes, seed=seed):
            steps += n_envs
            for log in turn.ended:
                scores.append(log.score)
                lengths.append(log.frames)
                if on_episode is not None:
                    on_episode(len(scores), log.score)
    finally:
        envs.close()
    rate = steps / max(time.perf_counter() - start, 1e-9)
    return Scores(label=label, scores=scores, lengths=lengths), rate


def random_scores(
    game: Game, obs: ObsConfig, config: EvalConfig, *, seed: int,
    on_episode: Callable[[int, float], None] | None = None,
) -> Scores:
    """A uniformly random agent under the protocol: `config.episodes` games from `seed`, its
    actions drawn from `config.seed + 1` (the baseline of every report)."""
    controller = RandomController(game.n_actions, np.random.default_rng(config.seed + 1))
    return run_episodes(controller, game, obs, config, label="random", seed=seed, on_episode=on_episode)[0]


def evaluate_policy(
    policy, game: Game, obs: ObsConfig, config: EvalConfig = EvalConfig(), *,
    store: GameStore | None = None, checkpoint: Path | None = None,
    on_episode: Callable[[str, int, float], None] | None = None,
) -> EvalReport:
    """Score `policy` (and, if `config.random_baseline`, a random agent) under the protocol."""
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    agent, rate = run_episodes(
        PolicyController(policy, rng, greedy=config.greedy, temperature=config.temperature),
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
    """Load `checkpoint` (refusing one for another game), score it, save the report under store.reports (proved
    writable before anything is scored)."""
    from agent.policy import load_checkpoint, resolve_device

    if save and store is not None:
        ensure_writable(store.reports)

    loaded = load_checkpoint(checkpoint, game, device=resolve_device(device))
    report = evaluate_policy(loaded.policy, game, loaded.obs, config, store=store, checkpoint=checkpoint,
                             on_episode=on_episode)
    path = report.save(store.reports) if (save and store is not None) else None
    return report, path


def report_table(report: EvalReport):
    """The report as a user reads it: a table of players and the lines that say what the numbers mean."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    normalized = report.reference is not None
    table = Table(title=f"{report.game}: {report.agent.n} episodes each", title_justify="left", box=box.SIMPLE_HEAD)
    for column in ("player", "mean ± 95%", "median", "min", "max", "frames"):
        table.add_column(column, justify="left" if column == "player" else "right", no_wrap=True)
    if normalized:
        table.add_column("human-normalized", justify="right", no_wrap=True)
    rows = [(report.agent, report.agent_normalized)]
    if report.random is not None:
        rows.append((report.random, report.random_normalized))
    for scores, norm in rows:
        ci = "" if scores.n < 2 else f" ± {scores.ci95:,.1f}"
        cells = [scores.label, f"{scores.mean:,.1f}{ci}", f"{scores.median:,.1f}", f"{scores.min:,.0f}",
                 f"{scores.max:,.0f}", f"{scores.mean_length:,.0f}"]
        table.add_row(*cells, *([f"{norm:.1f}%"] if normalized else []))
    lines: list = [table]
    if report.players_mean is not None:
        players = human_normalized(report.game, report.players_mean)
        table.add_row("players", f"{report.players_mean:,.1f}", "", "", "", "",
                      *([f"{players:.1f}%" if players is not None else ""] if normalized else []))
        lines.append(Text(f"players: the mean score of the {report.players_episodes} episodes recorded by people "
                          "(demos/), not under the protocol"))
    if normalized:
        lines.append(Text(f"human-normalized: 100 x (score - random) / (human - random), {report.reference}"))
    lines.append(Text(f"protocol: {report.protocol}", style="" if report.standard else "yellow"))
    return Group(*lines)
