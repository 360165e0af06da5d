"""Review: the agent plays a whole rollout; then the person answers questions about it.

The rollout plays headless (shown fast-forward, or not at all). Then the window shows, paused,
the states where the policy was least sure (highest entropy of its probabilities) and the last
ones where an action still mattered before a life was lost, with the agent's choice drawn. The
person presses the right action (game keys), Enter accepts the agent's choice, Tab skips,
Backspace goes back one question. A budget caps the questions per round. Each answer labels
every step of its decision.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from agent.actor import PolicyActor
from agent.dagger import LabellingStopped
from agent.dagger.human import (
    ActorFactory,
    HumanConfig,
    HumanMode,
    last_that_mattered,
)
from agent.env import recording_env
from agent.rollout import Decisions, PolicyController, Rollout, play
from recorder import window
from recorder.games import FRAMES_PER_SECOND
from recorder.recording import EpisodeRecorder, rollout_seed
from recorder.store import NO_LABEL

TASK = ("The agent plays each rollout on its own; then you are shown, paused, the moments it was "
        "least sure and those just before it lost a life, its choice drawn as an amber arrow. "
        "Say what it should have done there.")
KEYS = (("arrows / WASD, Space", "press and release: this action is the label"),
        ("Enter", "the agent's choice was right: it becomes the label"),
        ("Tab", "skip (no label; S is the WASD down key, so it cannot skip)"),
        ("Backspace", "back to the previous question"),
        ("Esc or close", "stop: the answers given so far are kept"))

SPACING = 3  # decisions between two "unsure" questions at least (0.2 s at frameskip 4)
LOOK_BACK_S = 4.0  # how far before a lost life to look for the last decision that mattered


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


@dataclass
class _Keeping:
    """The policy's controller in a review rollout, keeping what the questions need at every decision."""

    policy: PolicyController
    played: PlayedRollout
    show: Callable[[PlayedRollout, np.ndarray], None] | None

    def decide(self, observations, states, previous) -> Decisions:
        decisions = self.policy.decide(observations)
        played, rec = self.played, self.played.recorder
        played.actions.append(int(decisions.actions[0]))
        played.probs.append(np.asarray(decisions.probs[0], dtype=np.float64))
        played.states.append(states[0])
        played.screens.append(zlib.compress(np.ascontiguousarray(rec.frame).tobytes(), 1))
        if self.show is not None and played.decisions % 4 == 1:
            self.show(played, decisions.probs[0])
        return decisions


def _share(budget: int, total: int, index: int) -> int:
    """Questions for rollout `index` of `total` when a round may ask `budget` (the first ones get the rest)."""
    return budget // total + (index < budget % total)


@dataclass
class ReviewCollector:
    """The agent plays; afterwards the person answers questions on the states that matter most."""

    config: HumanConfig
    make_actor: ActorFactory
    view: window.GameView | None = None

    # -- the round ----------------------------------------------------------------------------

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[Rollout], None]) -> None:
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
            self.view = window.GameView(frame_shape, self.config.game.action_names, scale=self.config.scale,
                                        probs_panel=True, title=f"mimic dagger {self.config.game.name}: review")
        return self.view

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
        window.shutdown()

    # -- 1. the agent plays -------------------------------------------------------------------

    def play_rollout(self, actor: PolicyActor, *, seed: int, round_index: int) -> PlayedRollout:
        """The agent plays one rollout in the decision loop, unlabelled; every decision's state, screen
        and probabilities are kept."""
        c = self.config
        rec = EpisodeRecorder(c.game, seed=seed, player=c.player, source="dagger", max_frames=c.max_frames,
                              extra={"round": round_index, "mode": "review"})
        played = PlayedRollout(rec, actor.frameskip)
        envs = recording_env(rec, actor.obs)
        keeping = _Keeping(actor.controller, played, self._show_progress if c.show_rollout else None)
        for _ in play(envs, keeping, games=1):
            pass
        played.lives_at_start, played.lives = rec.step_lives[0], rec.step_lives[1:]
        rec.relabel(np.full(rec.length, NO_LABEL))
        return played

    def _show_progress(self, played: PlayedRollout, probs) -> None:
        rec = played.recorder
        view = self.open(rec.frame.shape)
        if window.stop_requested():  # keys pressed while the agent plays answer nothing
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
        if not queries:
            return [], False
        view = self.open(played.recorder.frame.shape)
        questions = [window.Question(played.screen(q.decision), played.probs[q.decision],
                                     played.actions[q.decision], self._hud(played, q)) for q in queries]
        return window.ask(view, self.config.game, questions, realtime=self.config.realtime)

    def _hud(self, played: PlayedRollout, q: Query) -> dict:
        why = "just before a life was lost" if q.why == "life lost" else f"agent unsure (entropy {q.entropy:.2f})"
        return {"at": f"{q.decision * played.frameskip / 60:.1f} s",
                "action": self.config.game.action_names[played.actions[q.decision]], "mode": "REVIEW (paused)",
                "message": f"{why}: keys = your answer, Enter = agent's, Tab = skip"}

    # -- 4. store -----------------------------------------------------------------------------

    def store(self, played: PlayedRollout, queries: Sequence[Query], answers: Sequence[int | None],
              folder: Path) -> Rollout:
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
        return Rollout((path,), score, frames, played.decisions, sum(a is not None for a in answers), len(queries))


MODE = HumanMode("review", TASK, KEYS, ReviewCollector,
                 lambda c: f", at most {c.queries} questions a round")
