"""Rewind: the agent plays in the window; a lost life rewinds the game and the person plays from there.

When the agent loses a life the game rewinds (a saved emulator state) to `rewind_seconds`
before the last moment an action could still change the outcome (found by
`last_that_mattered` on the saved states; a death animation that plays whatever is pressed
does not count), and waits for the person, who plays from there. Control returns to the agent
when they have played the rewound span (back to the moment the life was lost), when they press
Enter, or when they lose a life themselves.

Every stretch is stored as its own episode (`part` 0, 1, ...) starting from a saved state: the
person's (player "human") fully labelled with what they held, the agent's (player "agent")
unlabelled. The file that ends a rollout carries `extra["rollout_end"] = True`, the others False.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from agent.dagger import LabellingStopped
from agent.dagger.human import (
    COMMON_KEYS,
    ActorFactory,
    HumanConfig,
    HumanMode,
    last_that_mattered,
    rollout_from_files,
)
from agent.rollout import Rollout
from recorder.games import FRAMES_PER_SECOND
from recorder.play import Actor, AgentControls, Controls, EpisodeResult, PlayLoop
from recorder.recording import EpisodeRecorder, Step
from recorder.store import AGENT_PLAYER, NO_LABEL

TASK = ("The agent plays. When it loses a life the game rewinds to a few seconds before the last moment "
        "anything could still have saved it, and waits for you: hold a game key to play from there; all "
        "you play becomes labels. The agent takes over again when you reach the moment it lost the life, "
        "when you press Enter, or when you lose a life.")
KEYS = (("arrows / WASD, Space", "after a rewind: hold to play from there (all of it is labelled)"),
        ("Enter", "give control back to the agent (at the rewind prompt: skip this rewind)"),
        *COMMON_KEYS)

LOOK_BACK_S = 4.0  # how far before a lost life to look for the last moment that mattered


@dataclass(frozen=True)
class Mark:
    """A point of the rollout's timeline that the game can rewind to."""

    at: int  # frames into the timeline
    state: bytes
    frame: np.ndarray
    score: float
    terminated: bool = False


class RewindControls(Controls):
    """Who plays a rewind rollout, and when the game goes back.

    Phases: "agent" (the agent plays, unlabelled), "prompt" (rewound, waiting until the person
    holds a game key; Enter skips the rewind), "human" (the person plays, every step labelled).
    The loop's episode is a rollout; its stretches are recorded with `loop.record` and saved
    here, except the last, which the loop saves when the rollout ends.
    """

    panel = True

    def __init__(self, actor: Actor, *, rewind_frames: int, max_frames: int, player: str, first: int,
                 on_rollout: Callable[[Rollout], None] = lambda r: None) -> None:
        self.agent = AgentControls(actor)
        self.rewind_frames = rewind_frames
        self.max_frames = max_frames  # frames per rollout at most, replays included
        self.player = player
        self.first = first
        self.on_rollout = on_rollout
        self.rollouts: list[Rollout] = []
        self.phase = "agent"
        self.rewinds = 0
        self.last_rewind: tuple[int, int, int] | None = None  # (to, last moment that mattered, loss), in frames
        self.pieces: list[Path] = []  # the stretches of this rollout saved so far
        self.pending: EpisodeRecorder | None = None  # the agent's stretch that lost the life, unsaved yet
        self.after_loss: Mark | None = None
        look_back = rewind_frames + round(LOOK_BACK_S * FRAMES_PER_SECOND)
        self.marks: deque[Mark] = deque(maxlen=look_back // max(1, actor.frameskip) + 4)
        self.timeline = 0  # frames into the rollout's timeline (a rewind goes back on it)
        self.rollout_frames = 0  # frames played in the rollout, replays included
        self.score = 0.0
        self.span = 0  # frames the person plays before control returns
        self.segment = 0  # frames played in this stretch
        self._lives = 0

    @property
    def probs(self):
        return self.agent.probs

    @property
    def rollout_number(self) -> int:
        return self.first + len(self.rollouts)

    # -- rollouts and stretches ---------------------------------------------------------------

    def begin(self, loop: PlayLoop) -> None:
        """A new rollout: the agent plays from the seed."""
        self.pieces, self.pending, self.after_loss = [], None, None
        self.timeline = self.rollout_frames = 0
        self.score = 0.0
        self.marks.clear()
        self._begin(loop, "agent")
        self._mark(loop)

    def _begin(self, loop: PlayLoop, phase: str, mark: Mark | None = None, *, rewound: bool = False) -> None:
        human = phase != "agent"
        tags = {"rollout": self.rollout_number, "part": len(self.pieces) + (self.pending is not None),
                "controls": "human" if human else "agent", "rollout_end": True}
        if rewound:
            tags["rewound_frames"] = self.span
        loop.record(player=self.player if human else AGENT_PLAYER, extra=tags,  # from the seed, or the mark
                    state=None if mark is None else mark.state, frame=None if mark is None else mark.frame)
        self.phase = phase
        self.segment = 0
        self._lives = loop.recorder.lives
        loop.say("")
        if mark is None or rewound:
            self.agent.restart(loop.recorder.frame)
        else:  # the same timeline goes on: the agent decides now, from what it saw
            self.agent.decide_pending()

    def _mark(self, loop: PlayLoop) -> None:
        rec = loop.recorder
        self.marks.append(Mark(self.timeline, rec.clone_state(), np.array(rec.frame), self.score))

    def _end(self, loop: PlayLoop, rec: EpisodeRecorder, ended: str, *, last: bool) -> None:
        """Save one stretch (nothing when nothing was played in it)."""
        if rec.length == 0:
            return
        if not rec.done:
            rec.cut()
            rec.ended = ended
        rec.extra["rollout_end"] = last
        self.pieces.append(rec.save(loop.config.directory))

    def _save_pending(self, loop: PlayLoop, *, last: bool) -> None:
        if self.pending is not None:
            self._end(loop, self.pending, self.pending.ended or "life_lost", last=last)
            self.pending = None

    def saved(self, loop: PlayLoop, result: EpisodeResult | None) -> None:
        """The rollout ended (game over, frame cap, or the person quit) and the loop saved its last stretch."""
        final = result.path if result is not None else None
        self._save_pending(loop, last=final is None)
        if final is not None:
            self.pieces.append(final)
        if self.pieces:
            rollout = rollout_from_files(self.pieces, self.agent.actor.frameskip, score=self.score,
                                         frames=self.rollout_frames)
            self.rollouts.append(rollout)
            self.on_rollout(rollout)

    # -- one frame ----------------------------------------------------------------------------

    def choose(self, loop: PlayLoop) -> tuple[int, int] | None:
        if self.phase == "prompt":
            if not loop.holding():
                return None  # rewound: the game waits for the person
            self.phase = "human"
            loop.say("")
        if self.phase == "human":
            action = loop.keys_action()
            return action, action
        return self.agent.action, NO_LABEL

    def stepped(self, loop: PlayLoop, step: Step) -> None:
        human = self.phase == "human"
        rec = loop.recorder
        self.rollout_frames += 1
        self.timeline += 1
        self.segment += 1
        self.score += step.reward
        if self.agent.observe(step.frame):
            self._mark(loop)
        lost = step.lives < self._lives or step.terminated
        self._lives = step.lives
        if self.rollout_frames >= self.max_frames:
            if not rec.done:
                rec.cut()  # the loop ends the rollout: frame cap
        elif lost and not human:
            self.rewind(loop, step.terminated)
        elif step.terminated:
            pass  # the person's game is over: the loop ends the rollout
        elif lost or (human and self.segment >= self.span):
            self.hand_back(loop, "life_lost" if lost else "played_back")

    def rewind(self, loop: PlayLoop, terminated: bool) -> None:
        """The agent lost a life: keep its stretch, go back `rewind_frames`, and wait for the person."""
        rec = loop.recorder
        self.after_loss = Mark(self.timeline, rec.clone_state(), np.array(rec.frame), self.score, terminated)
        if not rec.done:
            rec.cut()
            rec.ended = "life_lost"
        self.pending = rec
        loop.say("life lost: rewinding ...", hold=True)  # the search below takes a moment
        loop.show()
        marks = list(self.marks)
        anchor = marks[last_that_mattered(loop.env, [(m.at, m.state) for m in marks], self.timeline,
                                          loop.game.n_actions)]
        target = next((m for m in reversed(marks) if m.at <= anchor.at - self.rewind_frames), marks[0])
        self.last_rewind = (target.at, anchor.at, self.timeline)
        while self.marks and self.marks[-1].at > target.at:
            self.marks.pop()
        self.span = self.timeline - target.at
        self.timeline, self.score = target.at, target.score
        self.rewinds += 1
        loop.release_keys()
        self._begin(loop, "prompt", target, rewound=True)
        loop.say(f"rewound {self.span / FRAMES_PER_SECOND:.1f} s: hold a game key to play, Enter skips", hold=True)

    def hand_back(self, loop: PlayLoop, ended: str) -> None:
        """Control returns to the agent: from here (the person's stretch ends), or, at the prompt, from after the loss."""
        rec = loop.recorder
        if self.phase == "prompt":  # skipped: the agent goes on from where it lost the life
            mark = self.after_loss
            if mark.terminated:  # ... but its game is over: the rollout ends
                loop.finish_episode()
                return
            self._save_pending(loop, last=False)
            self.timeline, self.score = mark.at, mark.score
            self.marks.clear()
            self._begin(loop, "agent", mark, rewound=True)
            self._mark(loop)
            return
        self._save_pending(loop, last=False)
        self._end(loop, rec, ended, last=False)
        mark = Mark(self.timeline, rec.clone_state(), np.array(rec.frame), self.score)
        self._begin(loop, "agent", mark)
        loop.say("the agent plays again")

    # -- keys and showing it --------------------------------------------------------------------

    def key(self, loop: PlayLoop, name: str) -> bool:
        if name == "enter" and self.phase != "agent":
            self.hand_back(loop, "handed_back")
            return True
        if name == "backspace":
            loop.say("Backspace does nothing here: Esc stops")
            return True
        return False

    def hud(self, loop: PlayLoop) -> dict:
        action = loop.keys_action() if self.phase == "human" else self.agent.action
        hud = {"score": self.score, "episode": self.rollout_number + 1, "action": loop.game.action_names[action],
               "control": {"agent": "agent", "prompt": "YOUR TURN", "human": "YOU"}[self.phase]}
        if self.phase == "human":
            hud["back in"] = f"{max(0, self.span - self.segment) / FRAMES_PER_SECOND:.1f} s"
        return hud


@dataclass
class RewindCollector:
    """The agent plays in the window; a lost life rewinds the game and the person plays from there."""

    config: HumanConfig
    make_actor: ActorFactory

    def make_loop(self, checkpoint: Path, *, round_index: int, folder: Path, first: int, episodes: int,
                  on_rollout: Callable[[Rollout], None] = lambda r: None) -> PlayLoop:
        c = self.config
        play = c.play_config("rewind", round_index=round_index, folder=folder, first=first, episodes=episodes)
        controls = RewindControls(self.make_actor(Path(checkpoint)), rewind_frames=c.rewind_frames,
                                  max_frames=c.max_frames, player=c.player, first=first, on_rollout=on_rollout)
        return PlayLoop(dataclasses.replace(play, max_frames=None), controls)  # the controls cap a rollout

    def collect(self, checkpoint: Path, *, round_index: int, beta: float, folder: Path, episodes: int,
                first: int, on_rollout: Callable[[Rollout], None]) -> None:
        loop = self.make_loop(checkpoint, round_index=round_index, folder=folder, first=first, episodes=episodes,
                              on_rollout=on_rollout)
        loop.run()
        if loop.stopped:
            raise LabellingStopped(f"stopped in round {round_index}: what you played is stored in {folder}")


MODE = HumanMode("rewind", TASK, KEYS, RewindCollector,
                 lambda c: f"; a lost life rewinds to {c.rewind_seconds:g} s before the last moment that mattered")
