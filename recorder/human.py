"""DAgger with a person as the expert: `mimic dagger --expert human --mode takeover|review|rewind`.

Each collector plays a round's rollouts with the current policy and stores them, labelled by
the person, in the round folder (`dagger/round-NNN/`) in the store's format: the action
executed and the label of every step, -1 (`NO_LABEL`) where nobody said anything. The trainer
learns only from labelled decisions.

- **takeover** (HG-DAgger, `TakeoverCollector`): the agent plays in the window at the chosen
  speed. While the person holds a game key, their action drives the game and is the label of
  those frames; when they let go the agent carries on, unlabelled.
- **review** (`ReviewCollector`): the agent plays a whole rollout (shown fast-forward, or not
  at all), then the window shows, paused, the states where the policy was least sure (highest
  entropy of its probabilities) and the last ones where an action still mattered before a
  life was lost, with the agent's choice drawn. The person presses the right action (game
  keys), Enter accepts the agent's choice, Tab skips, Backspace goes back one query. A budget
  caps the queries per round. Each answer labels every step of its decision.
- **rewind** (`RewindCollector`): the agent plays in the window; when it loses a life the game
  rewinds (a saved emulator state) to `rewind_seconds` before the last moment an action could
  still change the outcome (a death animation does not count), and waits for the person, who
  plays from there. Control returns to the agent when they have played the rewound span (back to the
  moment the life was lost), when they press Enter, or when they lose a life themselves.
  Every stretch is stored as its own episode starting from a saved state: the person's
  (player "human") fully labelled with what they held, the agent's (player "agent") unlabelled.

The policy comes in as an `Actor` made by `make_actor(checkpoint)` (the CLI passes
`agent.actor.PolicyActor`): `recorder` never imports torch.

A rollout may be stored as several files (rewind); the file that ends it carries
`extra["rollout_end"] = True`, the others False, and the DAgger runner counts finished
rollouts by that mark (a file without it is a whole rollout), so a re-run resumes correctly.
Esc or closing the window stops: what was labelled so far is stored and `LabellingStopped`
is raised, so the command can end and a re-run continue.
"""

from __future__ import annotations

import math
import time
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from ale_py import ALEState

from recorder import window
from recorder.agent_loop import Actor, AgentLoop
from recorder.games import FRAMES_PER_SECOND, Game
from recorder.keys import DIRECTIONS, KEY_BINDINGS, action_for_keys
from recorder.play import PlayConfig, PlayLoop
from recorder.recording import EpisodeRecorder, rollout_seed
from recorder.store import AGENT_PLAYER, NO_LABEL, STEP_MODE, load_episode

pygame = window.pygame

ActorFactory = Callable[[Path], Actor]
MODES = ("takeover", "review", "rewind")

# What the person is asked to do, and the keys, per mode (the CLI prints them before the window opens).
TASKS = {
    "takeover": "The agent plays. Whenever it is about to go wrong, take over: hold the game keys and "
                "play; what you hold becomes the label. Let go and the agent carries on (unlabelled).",
    "review": "The agent plays each rollout on its own; then you are shown, paused, the moments it was "
              "least sure and those just before it lost a life, its choice drawn as an amber arrow. "
              "Say what it should have done there.",
    "rewind": "The agent plays. When it loses a life the game rewinds to a few seconds before the last moment "
              "anything could still have saved it, and waits for you: hold a game key to play from there; all "
              "you play becomes labels. The agent takes over again when you reach the moment it lost the life, "
              "when you press Enter, or when you lose a life.",
}
COMMON_KEYS: tuple[tuple[str, str], ...] = (
    ("1 / 2 / 3, - / +", "speed 100% / 50% / 25%, slower / faster"),
    ("P", "pause / resume"),
    ("Esc or close", "stop: what you labelled is kept; run the same command again to continue"),
)
KEYS = {
    "takeover": (("arrows / WASD, Space", "hold to drive the game yourself (your action is the label)"),
                 *COMMON_KEYS),
    "review": (("arrows / WASD, Space", "press and release: this action is the label"),
               ("Enter", "the agent's choice was right: it becomes the label"),
               ("Tab", "skip (no label; S is the WASD down key, so it cannot skip)"),
               ("Backspace", "back to the previous question"),
               ("Esc or close", "stop: the answers given so far are kept")),
    "rewind": (("arrows / WASD, Space", "after a rewind: hold to play from there (all of it is labelled)"),
               ("Enter", "give control back to the agent (at the rewind prompt: skip this rewind)"),
               *COMMON_KEYS),
}


class LabellingStopped(Exception):
    """The person pressed Esc or closed the window; what they labelled is stored."""


@dataclass(frozen=True)
class HumanConfig:
    """How the person labels; validated up front."""

    game: Game
    max_frames: int = 4500  # emulator frames per rollout at most (rewind: all frames played, replays included)
    player: str = "human"
    seed: int = 0
    scale: int = window.DEFAULT_SCALE
    speed: float = 1.0
    realtime: bool = True  # False: never wait (tests)
    queries: int = 20  # review: questions per round at most
    rewind_seconds: float = 4.0  # rewind: how far back a lost life takes the game
    show_rollout: bool = True  # review: show the rollout fast-forward (False: play it undrawn)

    def __post_init__(self) -> None:
        if self.max_frames < 1:
            raise ValueError(f"max frames per rollout must be at least 1, got {self.max_frames}")
        if not isinstance(self.scale, int) or not 1 <= self.scale <= 8:
            raise ValueError(f"scale must be a whole number from 1 to 8, got {self.scale!r}")
        if not 0.05 <= self.speed <= 4.0:
            raise ValueError(f"speed must be between 0.05 and 4 (1.0 is real time), got {self.speed}")
        if self.queries < 1:
            raise ValueError(f"queries per round must be at least 1, got {self.queries}")
        if not 0.25 <= self.rewind_seconds <= 60:
            raise ValueError(f"rewind seconds must be between 0.25 and 60, got {self.rewind_seconds}")
        if not self.player.strip():
            raise ValueError("player must not be empty")

    @property
    def rewind_frames(self) -> int:
        return round(self.rewind_seconds * FRAMES_PER_SECOND)

    def play_config(self, mode: str, *, round_index: int, folder: Path, first: int, episodes: int) -> PlayConfig:
        """The window session of a round's rollouts, recorded into the round's folder."""
        return PlayConfig(self.game, player=self.player, seed=rollout_seed(self.seed, round_index, first),
                          scale=self.scale, speed=self.speed, episodes=episodes, record=True,
                          directory=Path(folder), max_frames=self.max_frames, realtime=self.realtime,
                          title=f"mimic dagger {self.game.name}: {mode}, round {round_index}")


@dataclass(frozen=True)
class HumanRollout:
    """One rollout labelled by the person (the fields the DAgger runner's `Rollout` has, and more)."""

    path: Path  # the file that ends the rollout
    score: float
    frames: int  # emulator frames played
    decisions: int  # agent decisions stored
    expert_decisions: int  # decisions the person labelled
    paths: tuple[Path, ...] = ()  # every file of the rollout
    asked: int = 0  # review: questions shown


def labelled_decisions(labels: np.ndarray, frameskip: int) -> tuple[int, int]:
    """(decisions, decisions with at least one labelled step) of an episode's per-step labels."""
    labels = np.asarray(labels)
    n = math.ceil(len(labels) / frameskip)
    padded = np.full(n * frameskip, NO_LABEL, dtype=np.int64)
    padded[: len(labels)] = labels
    return n, int((padded.reshape(n, frameskip) >= 0).any(axis=1).sum())


def rollout_from_files(paths: Sequence[Path], frameskip: int, *, score: float | None = None,
                       frames: int | None = None, asked: int = 0) -> HumanRollout:
    decisions = labelled = length = 0
    total = 0.0
    for path in paths:
        episode = load_episode(path, frames=False)
        n, k = labelled_decisions(episode.labels, frameskip)
        decisions, labelled, length = decisions + n, labelled + k, length + len(episode)
        total += episode.info.score
    return HumanRollout(Path(paths[-1]), total if score is None else score, length if frames is None else frames,
                        decisions, labelled, tuple(Path(p) for p in paths), asked)


def actions_matter(env, state: bytes, frames: int, n_actions: int) -> bool:
    """Whether holding different actions for `frames` frames from `state` ends in different games.

    "Different": the emulator's RAM or lives differ. While a game plays a death animation every
    action ends the same, so this finds the last moment before a lost life that anything could
    change (Pac-Man: about 2.2 s before the lives counter drops).
    """
    ale = env.unwrapped.ale
    outcomes: set[bytes] = set()
    for action in range(n_actions):
        ale.restoreState(ALEState(state))
        for _ in range(frames):
            env.step(action)
        outcomes.add(ale.getRAM().tobytes() + bytes([ale.lives() & 0xFF]))
        if len(outcomes) > 1:
            return True
    return False


def last_that_mattered(env, points: Sequence[tuple[int, bytes]], end: int, n_actions: int) -> int:
    """Index of the last of `points` ((frame, state), in time order) from which actions still change
    the game at frame `end` (just after the life was lost); a binary search, 0 when none does."""
    lo, hi = 0, len(points) - 1

    def matters(i: int) -> bool:
        at, state = points[i]
        return actions_matter(env, state, end - at, n_actions)

    if matters(hi):
        return hi
    if not matters(lo):
        return lo
    while hi - lo > 1:  # lo matters, hi does not
        mid = (lo + hi) // 2
        if matters(mid):
            lo = mid
        else:
            hi = mid
    return lo


def _share(budget: int, total: int, index: int) -> int:
    """Questions for rollout `index` of `total` when a round may ask `budget` (the first ones get the rest)."""
    return budget // total + (index < budget % total)


# ---------------------------------------------------------------------------------------------
# takeover (HG-DAgger)


class _TakeoverLoop(AgentLoop):
    """The agent loop that reports each rollout as soon as it is saved."""

    def __init__(self, config: PlayConfig, actor: Actor, *, extra: dict, on_saved: Callable[[Path], None]) -> None:
        super().__init__(config, actor, takeover=True, source="dagger", extra=extra)
        self.on_saved = on_saved

    def save_episode(self):
        result = super().save_episode()
        if result.path is not None:
            self.on_saved(result.path)
        return result

    def discard_episode(self) -> None:  # Backspace: a DAgger rollout is not thrown away
        self._message = ("Backspace does nothing here: Esc stops", time.perf_counter())


@dataclass
class TakeoverCollector:
    """HG-DAgger: the agent plays in the window; the person takes over by holding game keys."""

    config: HumanConfig
    make_actor: ActorFactory

    def make_loop(self, checkpoint: Path, *, round_index: int, folder: Path, first: int, episodes: int,
                  on_saved: Callable[[Path], None] = lambda path: None) -> AgentLoop:
        c = self.config
        play = c.play_config("takeover", round_index=round_index, folder=folder, first=first, episodes=episodes)
        return _TakeoverLoop(play, self.make_actor(Path(checkpoint)), on_saved=on_saved,
                             extra={"round": round_index, "mode": "takeover"})

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[HumanRollout], None]) -> None:
        loop = self.make_loop(checkpoint, round_index=round_index, folder=folder, first=first, episodes=episodes)
        loop.on_saved = lambda path: on_rollout(rollout_from_files([path], loop.actor.frameskip))
        summary = loop.run()
        if len(summary.saved) < episodes or any(r.ended == "quit" for r in summary.episodes):
            raise LabellingStopped(f"stopped in round {round_index}: {len(summary.saved)} rollout(s) of this "
                                   f"session stored in {folder}")


# ---------------------------------------------------------------------------------------------
# review: queries after the rollout


@dataclass(frozen=True)
class Query:
    decision: int
    why: str  # "unsure" (high entropy) or "life lost"
    entropy: float


@dataclass
class PlayedRollout:
    """A rollout the agent played, kept for the questions: per decision its state, screen and choice."""

    recorder: EpisodeRecorder
    frameskip: int
    actions: list[int] = field(default_factory=list)  # the agent's action per decision
    probs: list[np.ndarray] = field(default_factory=list)
    states: list[bytes] = field(default_factory=list)  # emulator state before each decision
    screens: list[bytes] = field(default_factory=list)  # zlib of the screen before each decision
    lives: list[int] = field(default_factory=list)  # per step, after it
    lives_at_start: int = 0

    @property
    def decisions(self) -> int:
        return len(self.actions)

    def screen(self, decision: int) -> np.ndarray:
        shape = self.recorder.frame.shape
        return np.frombuffer(zlib.decompress(self.screens[decision]), dtype=np.uint8).reshape(shape)

    def entropies(self) -> np.ndarray:
        p = np.clip(np.asarray(self.probs, dtype=np.float64), 1e-12, 1.0)
        return -(p * np.log(p)).sum(axis=1)

    def loss_steps(self) -> list[int]:
        """Steps after which a life was gone (or the game over)."""
        rec = self.recorder
        before = [self.lives_at_start, *self.lives[:-1]]
        out = [t for t, (a, b) in enumerate(zip(before, self.lives)) if b < a]
        if rec.ended == "game_over" and (not out or out[-1] != rec.length - 1):
            out.append(rec.length - 1)
        return out


SPACING = 3  # decisions between two "unsure" questions at least (0.2 s at frameskip 4)
LOOK_BACK_S = 4.0  # how far before a lost life to look for the last decision that mattered


@dataclass
class ReviewCollector:
    """The agent plays; afterwards the person answers questions on the states that matter most."""

    config: HumanConfig
    make_actor: ActorFactory
    view: window.GameView | None = None

    # -- the round ----------------------------------------------------------------------------

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[HumanRollout], None]) -> None:
        actor = self.make_actor(Path(checkpoint))
        window.check_display()
        try:
            for episode in range(first, first + episodes):
                played = self.play_rollout(actor, seed=rollout_seed(self.config.seed, round_index, episode),
                                           round_index=round_index)
                queries = self.choose_queries(played, _share(self.config.queries, first + episodes, episode))
                answers, stopped = self.ask(played, queries)
                on_rollout(self.store(played, queries, answers, folder))
                if stopped:
                    raise LabellingStopped(f"stopped in round {round_index}: the answers given so far are stored "
                                           f"in {folder}")
        finally:
            self.close()

    def open(self, frame_shape) -> window.GameView:
        """The window (opened on first use, at the game's frame size)."""
        if self.view is None:
            pygame.display.init()
            pygame.font.init()
            self.view = window.GameView(frame_shape, self.config.game.action_names, scale=self.config.scale,
                                        probs_panel=True, title=f"mimic dagger {self.config.game.name}: review")
        return self.view

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
        pygame.quit()

    # -- 1. the agent plays -------------------------------------------------------------------

    def play_rollout(self, actor: Actor, *, seed: int, round_index: int) -> PlayedRollout:
        """The agent plays one rollout, unlabelled; every decision's state, screen and probabilities are kept."""
        c = self.config
        rec = EpisodeRecorder(c.game, seed=seed, player=c.player, source="dagger", max_frames=c.max_frames,
                              extra={"round": round_index, "mode": "review"})
        frame = rec.reset()
        played = PlayedRollout(rec, actor.frameskip, lives_at_start=rec.lives)
        actor.reset(frame)
        recent: list[np.ndarray] | None = None
        while not rec.done:
            action, probs = actor.act(None if recent is None else np.stack(recent))
            played.actions.append(action)
            played.probs.append(np.asarray(probs, dtype=np.float64))
            played.states.append(rec.clone_state())
            played.screens.append(zlib.compress(np.ascontiguousarray(rec.frame).tobytes(), 1))
            recent = []
            while len(recent) < actor.frameskip and not rec.done:
                step = rec.step(action, label=NO_LABEL)
                recent.append(step.frame)
                played.lives.append(step.lives)
            if c.show_rollout and played.decisions % 4 == 1:
                self._show_progress(played, probs)
        return played

    def _show_progress(self, played: PlayedRollout, probs) -> None:
        rec = played.recorder
        view = self.open(rec.frame.shape)
        for event in pygame.event.get():  # keys pressed while the agent plays answer nothing
            if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
                raise LabellingStopped("stopped while the agent played; that rollout is dropped")
        view.draw(rec.frame, {"score": rec.score, "lives": rec.lives, "frames": rec.length,
                                   "action": self.config.game.action_names[played.actions[-1]],
                                   "mode": "AGENT PLAYS (fast)", "message": "your questions come after"},
                       probs=probs)
        view.present()

    # -- 2. which states to ask about ---------------------------------------------------------

    def choose_queries(self, played: PlayedRollout, budget: int) -> list[Query]:
        """Up to `budget` decisions: the last ones that mattered before each lost life, then the least sure.

        "Mattered": from a decision's saved state, holding each action until the life is lost
        gives different emulator RAM; after the last such decision the game is playing its
        death animation and no answer could change anything, so those decisions are never asked.
        """
        entropy = played.entropies()
        chosen: dict[int, Query] = {}
        frozen: set[int] = set()
        before_loss: list[list[int]] = []
        for loss in played.loss_steps():
            last = self.last_decision_that_mattered(played, loss)
            frozen.update(range(last + 1, loss // played.frameskip + 1))
            before_loss.append([d for d in (last, last - 3) if d >= 0])
        for rank in range(2):  # the last decision before every loss first, then one a little earlier
            for candidates in before_loss:
                if rank < len(candidates) and len(chosen) < budget and candidates[rank] not in chosen:
                    d = candidates[rank]
                    chosen[d] = Query(d, "life lost", float(entropy[d]))
        for d in np.argsort(-entropy, kind="stable").tolist():
            if len(chosen) >= budget:
                break
            if d in frozen or any(abs(d - other) < SPACING for other in chosen):
                continue
            chosen[d] = Query(d, "unsure", float(entropy[d]))
        return [chosen[d] for d in sorted(chosen)]

    def last_decision_that_mattered(self, played: PlayedRollout, loss_step: int) -> int:
        """The last decision before `loss_step` whose action could still change the game."""
        k = played.frameskip
        hi = min(loss_step // k, played.decisions - 1)
        lo = max(0, hi - round(LOOK_BACK_S * FRAMES_PER_SECOND / k))
        points = [(d * k, played.states[d]) for d in range(lo, hi + 1)]
        return lo + last_that_mattered(played.recorder.env, points, loss_step + 1, self.config.game.n_actions)

    # -- 3. the questions -----------------------------------------------------------------------

    def ask(self, played: PlayedRollout, queries: Sequence[Query]) -> tuple[list[int | None], bool]:
        """Show each query paused; return the answers (None: skipped) and whether the person stopped."""
        game = self.config.game
        if queries:
            self.open(played.recorder.frame.shape)
        codes = {pygame.key.key_code(name): name for name in KEY_BINDINGS}
        answers: list[int | None] = [None] * len(queries)
        index, held, pending = 0, [], None
        while index < len(queries):
            while index < len(queries):  # one event at a time: those after the last answer stay queued
                event = pygame.event.poll()
                if event.type == pygame.NOEVENT:
                    break
                if event.type == pygame.QUIT:
                    return answers, True
                if event.type == pygame.KEYDOWN:
                    name = codes.get(event.key)
                    if name is not None:
                        if name not in held:
                            held.append(name)
                        pending = _keys_action(game, held)
                    elif event.key == pygame.K_ESCAPE:
                        return answers, True
                    elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                        answers[index] = played.actions[queries[index].decision]
                        index, held, pending = index + 1, [], None
                    elif event.key == pygame.K_TAB:
                        answers[index] = None
                        index, held, pending = index + 1, [], None
                    elif event.key == pygame.K_BACKSPACE and index > 0:
                        index, held, pending = index - 1, [], None
                        answers[index] = None
                elif event.type == pygame.KEYUP:
                    name = codes.get(event.key)
                    if name in held:
                        held.remove(name)
                        if not held and pending is not None:
                            answers[index] = pending
                            index, pending = index + 1, None
            if index < len(queries):
                self.draw_query(played, queries, index, pending)
                if self.config.realtime:
                    time.sleep(1.0 / FRAMES_PER_SECOND)
        return answers, False

    def draw_query(self, played: PlayedRollout, queries: Sequence[Query], index: int, pending: int | None) -> None:
        game = self.config.game
        q = queries[index]
        agent = played.actions[q.decision]
        why = "just before a life was lost" if q.why == "life lost" else f"agent unsure (entropy {q.entropy:.2f})"
        hud = {"question": f"{index + 1}/{len(queries)}", "at": f"{q.decision * played.frameskip / 60:.1f} s",
               "action": game.action_names[agent], "mode": "REVIEW (paused)",
               "message": f"{why}: keys = your answer, Enter = agent's, Tab = skip"}
        self.view.draw(played.screen(q.decision), hud, probs=played.probs[q.decision])
        draw_choice(self.view, game.action_names[agent], "agent", window.AMBER, row=0)
        if pending is not None:
            draw_choice(self.view, game.action_names[pending], "you", (90, 220, 120), row=1)
        self.view.present()

    # -- 4. store -----------------------------------------------------------------------------

    def store(self, played: PlayedRollout, queries: Sequence[Query], answers: Sequence[int | None],
              folder: Path) -> HumanRollout:
        """The answers become the labels of every step of their decisions; all else stays NO_LABEL."""
        rec, k = played.recorder, played.frameskip
        labels = np.full(rec.length, NO_LABEL, dtype=np.int64)
        for q, answer in zip(queries, answers):
            if answer is not None:
                labels[q.decision * k: (q.decision + 1) * k] = answer
        rec.relabel(labels)
        rec.extra["questions"] = [{"decision": q.decision, "why": q.why, "agent": played.actions[q.decision],
                                   "answer": a} for q, a in zip(queries, answers)]
        score, frames = rec.score, rec.length
        try:
            path = rec.save(Path(folder))
        finally:
            rec.close()
        return HumanRollout(path, score, frames, played.decisions, sum(a is not None for a in answers), (path,),
                            len(queries))


def _keys_action(game: Game, held: Sequence[str]) -> int:
    logical = [KEY_BINDINGS[name] for name in held]
    directions: list[str] = []
    for d in reversed(logical):
        if d in DIRECTIONS and d not in directions:
            directions.insert(0, d)
    return action_for_keys(game, directions, "fire" in logical)


def draw_choice(view: window.GameView, action_name: str, who: str, color, *, row: int) -> None:
    """Draw an action as an arrow (a ring for no move, a dot for FIRE) in the panel under the bars."""
    if not view.probs_panel:
        return
    x0 = view.size[0] - window.PANEL_WIDTH
    y0 = window.HUD_HEIGHT + 8 + len(view.action_names) * 26 + 24 + row * 120
    cx, cy, r = x0 + 150, y0 + 50, 40
    surface = view.surface
    label = view._text(who, color)
    surface.blit(label, (x0 + 12, cy - label.get_height() // 2))
    name = action_name.upper()
    dx = (1 if "RIGHT" in name else 0) - (1 if "LEFT" in name else 0)
    dy = (1 if "DOWN" in name else 0) - (1 if "UP" in name else 0)
    if dx == 0 and dy == 0:
        pygame.draw.circle(surface, color, (cx, cy), r // 2, 5)
    else:
        norm = math.hypot(dx, dy)
        ux, uy = dx / norm, dy / norm
        tip = (cx + ux * r, cy + uy * r)
        tail = (cx - ux * r, cy - uy * r)
        pygame.draw.line(surface, color, tail, tip, 9)
        px, py = -uy, ux
        head = [tip, (tip[0] - ux * 22 + px * 16, tip[1] - uy * 22 + py * 16),
                (tip[0] - ux * 22 - px * 16, tip[1] - uy * 22 - py * 16)]
        pygame.draw.polygon(surface, color, head)
    if "FIRE" in name:
        pygame.draw.circle(surface, color, (cx, cy), 9)


# ---------------------------------------------------------------------------------------------
# rewind: a lost life takes the game back a few seconds, and the person plays from there


@dataclass(frozen=True)
class Mark:
    """A point of the rollout's timeline that the game can rewind to."""

    at: int  # frames into the timeline
    state: bytes
    frame: np.ndarray
    score: float
    terminated: bool = False


class RewindLoop(AgentLoop):
    """The agent loop in which a lost life rewinds the game and hands it to the person.

    The rewind goes `rewind_frames` back from the last moment an action could still change the
    game (found by `last_that_mattered` on the saved states; a death animation that plays
    whatever is pressed is not counted), so the person starts that long before the mistake.

    Phases: "agent" (the agent plays, unlabelled), "prompt" (rewound, paused until the person
    holds a game key; Enter skips the rewind), "human" (the person plays, every step labelled).
    """

    def __init__(self, config: PlayConfig, actor: Actor, *, rewind_frames: int, round_index: int, first: int,
                 on_rollout: Callable[[HumanRollout], None] = lambda r: None) -> None:
        super().__init__(config, actor, takeover=False, source="dagger", extra={"round": round_index, "mode": "rewind"})
        self.rewind_frames = rewind_frames
        self.round_index = round_index
        self.first = first
        self.on_rollout = on_rollout
        self.rollouts: list[HumanRollout] = []
        self.stopped = False
        self.phase = "agent"
        self.rewinds = 0
        self._pieces: list[Path] = []
        self._pending: EpisodeRecorder | None = None  # the agent's stretch that lost the life, unsaved yet
        self._after_loss: Mark | None = None
        look_back = rewind_frames + round(LOOK_BACK_S * FRAMES_PER_SECOND)
        self._marks: deque[Mark] = deque(maxlen=look_back // max(1, actor.frameskip) + 4)
        self.last_rewind: tuple[int, int, int] | None = None  # (to, last moment that mattered, loss), in frames
        self._timeline = 0
        self._rollout_frames = 0
        self._score = 0.0
        self._span = 0  # frames the person plays before control returns
        self._segment = 0

    # -- rollouts and stretches ---------------------------------------------------------------

    @property
    def rollout_number(self) -> int:
        return self.first + len(self.rollouts)

    def start_episode(self) -> None:
        """Start the next rollout: the agent plays from the seed."""
        self._pieces, self._pending, self._after_loss = [], None, None
        self._timeline = self._rollout_frames = 0
        self._score = 0.0
        self._marks.clear()
        self._begin("agent")
        self._mark()

    def _begin(self, phase: str, mark: Mark | None = None, *, rewound: bool = False) -> None:
        c = self.config
        seed = self.config.seed + self.rollout_number - self.first
        human = phase != "agent"
        extra = {**self.extra, "rollout": self.rollout_number, "part": len(self._pieces) + (self._pending is not None),
                 "controls": "human" if human else "agent"}
        if rewound:
            extra["rewound_frames"] = self._span
        self.recorder = EpisodeRecorder(self.game, seed=seed, player=c.player if human else AGENT_PLAYER,
                                        source="dagger", env=self.env, extra=extra)
        if mark is None:
            self.recorder.reset()
        else:
            self.recorder.reset(state=mark.state, frame=mark.frame)
        self.phase = phase
        self._segment = 0
        self._message = ("", 0.0)
        if mark is None or rewound:
            self.actor.reset(self.recorder.frame)
            self._since_decision = []
            self._decide(None)
        elif self._since_decision:  # the same timeline goes on: the agent decides now, from what it saw
            self._decide(np.stack(self._since_decision))
            self._since_decision = []
        self._anchor = None

    def _mark(self) -> None:
        rec = self.recorder
        self._marks.append(Mark(self._timeline, rec.clone_state(), np.array(rec.frame), self._score))

    def _end(self, rec: EpisodeRecorder, ended: str, *, last: bool) -> None:
        """Save one stretch (nothing when nothing was played in it)."""
        if rec.length == 0:
            return
        if not rec.done:
            rec.cut()
            rec.ended = ended
        rec.extra["rollout_end"] = last
        self._pieces.append(rec.save(self.config.directory))

    def _finish_rollout(self) -> None:
        if self._pieces:
            rollout = rollout_from_files(self._pieces, self.actor.frameskip, score=self._score,
                                         frames=self._rollout_frames)
            self.rollouts.append(rollout)
            self.on_rollout(rollout)
        self.recorder = None
        if len(self.rollouts) >= (self.config.episodes or 1):
            self.running = False
        else:
            self.start_episode()

    # -- one frame ----------------------------------------------------------------------------

    def wants_to_advance(self) -> bool:
        if self.phase == "prompt":
            if self.paused or not self._pressed:
                return False
            self.phase = "human"
            self._message = ("", 0.0)
        return super().wants_to_advance()

    def action(self) -> int:
        return PlayLoop.action(self) if self.phase == "human" else self.agent_action

    def advance(self) -> None:
        human = self.phase == "human"
        rec = self.recorder
        action = self.action()
        lives = rec.lives
        step = rec.step(action, label=action if human else NO_LABEL,
                        speed=STEP_MODE if self.step_mode else self.speed)
        self.stats.frames += 1
        self._rollout_frames += 1
        self._timeline += 1
        self._segment += 1
        self._score += step.reward
        self.human_frames += human
        self._since_decision.append(step.frame)
        if len(self._since_decision) == self.actor.frameskip:
            self._decide(np.stack(self._since_decision))
            self._since_decision = []
            self._mark()
        lost = step.lives < lives or step.terminated
        if self._rollout_frames >= self.config.max_frames:
            self._save_pending(last=False)
            self._end(rec, "frame_cap", last=True)
            self._finish_rollout()
        elif lost and not human:
            self.rewind(step.terminated)
        elif step.terminated:
            self._save_pending(last=False)
            self._end(rec, "game_over", last=True)
            self._finish_rollout()
        elif lost or (human and self._segment >= self._span):
            self.hand_back("life_lost" if lost else "played_back")

    def rewind(self, terminated: bool) -> None:
        """The agent lost a life: keep its stretch, go back `rewind_frames`, and wait for the person."""
        rec = self.recorder
        self._after_loss = Mark(self._timeline, rec.clone_state(), np.array(rec.frame), self._score, terminated)
        if not rec.done:
            rec.cut()
            rec.ended = "life_lost"
        self._pending = rec
        if self.view is not None:  # the search below takes a moment: say so
            self._message = ("life lost: rewinding ...", time.perf_counter() + 3600)
            self.draw()
            self.view.present()
        marks = list(self._marks)
        anchor = marks[last_that_mattered(self.env, [(m.at, m.state) for m in marks], self._timeline,
                                          self.game.n_actions)]
        target = next((m for m in reversed(marks) if m.at <= anchor.at - self.rewind_frames), marks[0])
        self.last_rewind = (target.at, anchor.at, self._timeline)
        while self._marks and self._marks[-1].at > target.at:
            self._marks.pop()
        self._span = self._timeline - target.at
        self._timeline, self._score = target.at, target.score
        self.rewinds += 1
        self._pressed.clear()
        self._begin("prompt", target, rewound=True)
        self._message = (f"rewound {self._span / FRAMES_PER_SECOND:.1f} s: hold a game key to play, "
                         "Enter skips", time.perf_counter() + 3600)

    def _save_pending(self, *, last: bool) -> None:
        if self._pending is not None:
            self._end(self._pending, self._pending.ended or "life_lost", last=last)
            self._pending = None

    def hand_back(self, ended: str) -> None:
        """Control returns to the agent: from here (the person's stretch ends), or, at the prompt, from after the loss."""
        rec = self.recorder
        if self.phase == "prompt":  # skipped: the agent goes on from where it lost the life
            mark = self._after_loss
            if mark.terminated:
                self._save_pending(last=True)
                self._finish_rollout()
                return
            self._save_pending(last=False)
            self._timeline, self._score = mark.at, mark.score
            self._marks.clear()
            self._begin("agent", mark, rewound=True)
            self._mark()
            return
        self._save_pending(last=False)
        self._end(rec, ended, last=False)
        mark = Mark(self._timeline, rec.clone_state(), np.array(rec.frame), self._score)
        self._begin("agent", mark)
        self._message = ("the agent plays again", time.perf_counter())

    # -- keys ---------------------------------------------------------------------------------

    def press(self, key: int) -> None:
        if key in (pygame.K_RETURN, pygame.K_KP_ENTER) and self.phase != "agent":
            self.hand_back("handed_back")
            return
        super().press(key)

    def discard_episode(self) -> None:
        self._message = ("Backspace does nothing here: Esc stops", time.perf_counter())

    def quit(self) -> None:
        """Stop: every stretch played so far is saved; the last one ends the rollout."""
        if not self.running:
            return
        self.running = False
        self.stopped = True
        rec = self.recorder
        if rec is not None and rec.length > 0:
            self._save_pending(last=False)
            self._end(rec, "quit", last=True)
        else:
            self._save_pending(last=True)
        if self._pieces:
            rollout = rollout_from_files(self._pieces, self.actor.frameskip, score=self._score,
                                         frames=self._rollout_frames)
            self.rollouts.append(rollout)
            self.on_rollout(rollout)

    # -- showing it ---------------------------------------------------------------------------

    def hud(self) -> dict:
        hud = super().hud()
        hud["score"] = self._score
        hud["episode"] = self.rollout_number + 1
        hud["control"] = {"agent": "agent", "prompt": "YOUR TURN", "human": "YOU"}[self.phase]
        if self.phase == "human":
            hud["back in"] = f"{max(0, self._span - self._segment) / FRAMES_PER_SECOND:.1f} s"
        text, since = self._message
        if text and since > time.perf_counter():  # a prompt stays up until it is answered
            hud["message"] = text
        return hud


@dataclass
class RewindCollector:
    """The agent plays in the window; a lost life rewinds the game and the person plays from there."""

    config: HumanConfig
    make_actor: ActorFactory

    def make_loop(self, checkpoint: Path, *, round_index: int, folder: Path, first: int, episodes: int,
                  on_rollout: Callable[[HumanRollout], None] = lambda r: None) -> RewindLoop:
        c = self.config
        play = c.play_config("rewind", round_index=round_index, folder=folder, first=first, episodes=episodes)
        return RewindLoop(play, self.make_actor(Path(checkpoint)), rewind_frames=c.rewind_frames,
                          round_index=round_index, first=first, on_rollout=on_rollout)

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[HumanRollout], None]) -> None:
        loop = self.make_loop(checkpoint, round_index=round_index, folder=folder, first=first, episodes=episodes,
                              on_rollout=on_rollout)
        loop.run()
        if loop.stopped:
            raise LabellingStopped(f"stopped in round {round_index}: what you played is stored in {folder}")


def make_collector(mode: str, config: HumanConfig, make_actor: ActorFactory):
    """The collector of a mode: "takeover", "review" or "rewind"."""
    kinds = {"takeover": TakeoverCollector, "review": ReviewCollector, "rewind": RewindCollector}
    if mode not in kinds:
        raise ValueError(f"unknown labelling mode {mode!r}: expected one of {', '.join(MODES)}")
    return kinds[mode](config, make_actor)
