"""The play loop: the window, the keys, the clock, the emulator and the recorder; a controller plays.

One `PlayLoop` serves every window that plays a game. What changes between `mimic play`,
`mimic watch` and DAgger's human modes is the *controller* (`Controller`): it decides, frame
by frame, the action and its label from what the person holds and what the agent chose,
reacts to each step (a rewind), and adds fields to the HUD. The loop owns the rest.

One `tick()` is one pass of the loop:

    handle_events -> advance (controller.choose -> one emulator frame, recorded -> controller.stepped)
                  -> draw -> wait_for_due_time -> present

Controllers here: `PersonControls` (a person plays, `mimic play`) and `AgentControls` (the
agent plays, `mimic watch`); the human DAgger modes (`agent.dagger.takeover`, `.rewind`) bring
their own. The agent enters as an `Actor` (`agent.actor.PolicyActor`): `recorder` never
imports torch.

The loop reads pygame's event queue, so a test or a scripted player drives it with real pygame
events (`pygame.event.post`), under `SDL_VIDEODRIVER=dummy` when there is no display.

Time: at speed s the loop shows 60*s emulator frames a second. Frame n of a stretch played at
one speed is due at anchor + n/(60*s), computed from the anchor, so sleeping late never adds
up to drift. A frame shown more than one frame period after its due time counts as dropped.
Pausing, step mode, a speed change or a new episode start a new anchor. With `realtime=False`
(benchmarks) the loop does not wait at all; a frame then counts as dropped when its work
alone took longer than its period, i.e. when it could not have been shown in time.
"""

from __future__ import annotations

import math
import signal
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

from recorder import window
from recorder.games import FRAMES_PER_SECOND, Game, make_env
from recorder.keys import KEY_BINDINGS, action_for_held, key_help, keys_table
from recorder.recording import EpisodeRecorder, Step
from recorder.store import NO_LABEL, STEP_MODE, STOP_SIGNALS, ensure_writable

pygame = window.pygame

SPEEDS = (0.25, 0.5, 1.0)  # the ladder the - and + keys walk
SPEED_KEYS = {"1": 1.0, "2": 0.5, "3": 0.25}
MESSAGE_SECONDS = 2.5

# For `mimic play --keys` and the README: (key, what it does).
CONTROL_KEYS: tuple[tuple[str, str], ...] = (
    ("1 / 2 / 3", "speed 100% / 50% / 25% of real time (60 frames a second)"),
    ("- / +", "slower / faster (25%, 50%, 100%)"),
    ("P", "pause / resume"),
    ("T", "step mode on / off: the game advances only while a game key is held"),
    ("Enter", "in step mode: advance with nothing held (NOOP)"),
    ("Backspace", "throw away the episode in progress and start again"),
    ("Esc or close", "quit; the episode in progress is saved, marked quit"),
)
TITLE_EVERY = 6  # frames between updates of the window title's recording length


@dataclass(frozen=True)
class PlayConfig:
    """What a window session was asked for; validated up front, the folder recorded into included: one that
    cannot be written is a `StoreError` before the window opens, not after the play."""

    game: Game
    player: str = "anon"
    seed: int = 0
    scale: int = window.DEFAULT_SCALE
    speed: float = 1.0
    step_mode: bool = False
    episodes: int | None = None  # stop after this many finished episodes (None: until quit)
    record: bool = True
    directory: Path | None = None  # where finished episodes are saved (needed with record)
    max_frames: int | None = None  # cap each episode at this many steps (ended "frame_cap")
    realtime: bool = True  # False: never wait (benchmarks, tests)
    title: str | None = None  # the window's title (default "mimic play GAME"); recording adds its length
    source: str = "human"  # stored with every episode ("dagger" for DAgger's window modes)
    extra: dict = field(default_factory=dict)  # more metadata stored with every episode

    def __post_init__(self) -> None:
        if not 0.05 <= self.speed <= 4.0:
            raise ValueError(f"speed must be between 0.05 and 4 (1.0 is real time), got {self.speed}")
        if not isinstance(self.scale, int) or not 1 <= self.scale <= 8:
            raise ValueError(f"scale must be a whole number from 1 to 8, got {self.scale!r}")
        if self.episodes is not None and self.episodes < 1:
            raise ValueError(f"episodes must be at least 1, got {self.episodes}")
        if self.max_frames is not None and self.max_frames < 1:
            raise ValueError(f"max frames per episode must be at least 1, got {self.max_frames}")
        if self.record and self.directory is None:
            raise ValueError("recording needs a directory to save episodes in")
        if not self.player.strip():
            raise ValueError("player must not be empty")
        if self.record:
            ensure_writable(self.directory)


@dataclass(frozen=True)
class EpisodeResult:
    number: int
    path: Path | None  # None when not recording (or nothing was left to save)
    length: int
    score: float
    ended: str  # "game_over", "frame_cap", "quit"
    seed: int


@dataclass
class PlayStats:
    frames: int = 0  # emulator frames played (discarded episodes included)
    dropped: int = 0  # frames that could not be shown in time
    discarded: int = 0  # episodes thrown away with Backspace
    work_s: list[float] = field(default_factory=list)  # per frame: events, emulator, recording, drawing
    save_s: list[float] = field(default_factory=list)  # per saved episode
    between_s: list[float] = field(default_factory=list)  # per finished episode: save, then restart
    first_shown: float | None = None  # perf_counter() when the first played frame was shown
    last_shown: float | None = None  # ... and the last

    def work_ms(self) -> tuple[float, float]:
        """(mean, p99) of the work per frame in milliseconds."""
        if not self.work_s:
            return 0.0, 0.0
        ms = np.asarray(self.work_s) * 1000.0
        return float(ms.mean()), float(np.percentile(ms, 99))


@dataclass(frozen=True)
class PlaySummary:
    episodes: tuple[EpisodeResult, ...]
    stats: PlayStats
    stopped: bool = False  # the person quit (Esc, closing the window, Ctrl-C) before the episodes asked for

    @property
    def saved(self) -> tuple[EpisodeResult, ...]:
        return tuple(e for e in self.episodes if e.path is not None)


# ---------------------------------------------------------------------------------------------
# Who plays: the controller protocol, and the two plain controllers


class Actor(Protocol):
    """The agent, deciding every `frameskip` frames (`agent.actor.PolicyActor`)."""

    frameskip: int

    def reset(self, frame: np.ndarray) -> None: ...

    def act(self, frames: np.ndarray | None) -> tuple[int, np.ndarray]: ...


class Controller(Protocol):
    """Decides each frame's action and label; the loop owns the window, keys, clock and recorder.

    `Controls` gives every method a do-nothing default, so a controller writes only what it needs.
    """

    panel: bool  # the window shows the agent's probabilities as bars
    probs: np.ndarray | None  # the bars' values now (None: none drawn)

    def begin(self, loop: PlayLoop) -> None:
        """A new episode: `loop.recorder` has just been reset to its first frame."""

    def choose(self, loop: PlayLoop) -> tuple[int, int] | None:
        """(action, label) of the next frame, or None to wait (the frame is not played yet)."""

    def stepped(self, loop: PlayLoop, step: Step) -> None:
        """After each frame; the loop ends the episode afterwards if `loop.recorder` is done."""

    def key(self, loop: PlayLoop, name: str) -> bool:
        """A control key pressed ("enter", "backspace", "p", ...); True when the controller used it."""

    def hud(self, loop: PlayLoop) -> dict:
        """HUD fields to add to (or replace in) the loop's; "action" names the action of the next frame."""

    def saved(self, loop: PlayLoop, result: EpisodeResult | None) -> None:
        """The episode ended and the loop saved it (None: the person quit with nothing played)."""


class Controls:
    """Do-nothing defaults of the `Controller` methods."""

    panel = False
    probs: np.ndarray | None = None

    def begin(self, loop: PlayLoop) -> None:
        pass

    def choose(self, loop: PlayLoop) -> tuple[int, int] | None:
        raise NotImplementedError

    def stepped(self, loop: PlayLoop, step: Step) -> None:
        pass

    def key(self, loop: PlayLoop, name: str) -> bool:
        return False

    def hud(self, loop: PlayLoop) -> dict:
        return {}

    def saved(self, loop: PlayLoop, result: EpisodeResult | None) -> None:
        pass


class PersonControls(Controls):
    """A person plays (`mimic play`): the keys held are the action and its label."""

    def choose(self, loop: PlayLoop) -> tuple[int, int]:
        action = loop.keys_action()
        return action, action

    def hud(self, loop: PlayLoop) -> dict:
        return {"action": loop.game.action_names[loop.keys_action()]}


class AgentControls(Controls):
    """The agent plays (`mimic watch`), deciding every `frameskip` frames; its frames are unlabelled.

    The other controllers that let the agent play hold one of these and call `restart`, `observe`
    and `decide_pending` as their stretches begin and go on.
    """

    panel = True

    def __init__(self, actor: Actor) -> None:
        self.actor = actor
        self.action = 0  # the agent's choice, held until its next decision
        self.probs: np.ndarray | None = None
        self._since: list[np.ndarray] = []  # frames since the last decision

    def restart(self, frame: np.ndarray) -> None:
        """A new start: the agent sees `frame` alone and decides."""
        self.actor.reset(frame)
        self._since = []
        self._decide(None)

    def observe(self, frame: np.ndarray) -> bool:
        """One more frame played; the agent decides once it has a decision's frames (True then)."""
        self._since.append(frame)
        if len(self._since) < self.actor.frameskip:
            return False
        self.decide_pending()
        return True

    def decide_pending(self) -> None:
        """Decide now from the frames seen since the last decision (nothing when there are none)."""
        if self._since:
            self._decide(np.stack(self._since))
            self._since = []

    def _decide(self, frames: np.ndarray | None) -> None:
        self.action, self.probs = self.actor.act(frames)

    def begin(self, loop: PlayLoop) -> None:
        self.restart(loop.recorder.frame)

    def choose(self, loop: PlayLoop) -> tuple[int, int]:
        return self.action, NO_LABEL

    def stepped(self, loop: PlayLoop, step: Step) -> None:
        if not loop.recorder.done:  # a new episode starts with its own first decision
            self.observe(step.frame)

    def hud(self, loop: PlayLoop) -> dict:
        return {"action": loop.game.action_names[self.action]}


# ---------------------------------------------------------------------------------------------
# The loop


class PlayLoop:
    """The window, the emulator and the recorder, driven by pygame events one frame at a time;
    `controller` (default: a person playing) decides what each frame plays.

    >>> summary = PlayLoop(PlayConfig(game, player="ana", directory=store.demos)).run()
    >>> summary = PlayLoop(PlayConfig(game, player="agent", record=False), AgentControls(actor)).run()

    Tests and scripted players call `start()`, post events, call `tick()`, and `close()`.
    """

    def __init__(self, config: PlayConfig, controller: Controller | None = None) -> None:
        self.config = config
        self.game = config.game
        self.controller: Controller = controller if controller is not None else PersonControls()
        self.speed = config.speed
        self.step_mode = config.step_mode
        self.paused = False
        self.running = False
        self.stopped = False  # the person quit
        self.stats = PlayStats()
        self.results: list[EpisodeResult] = []
        self.attempts = 0  # episodes started, discarded ones included (each gets its own seed)
        self.episode_seed = config.seed
        self.recorder: EpisodeRecorder | None = None
        self.view: window.GameView | None = None
        self.env = None
        self._pressed: list[str] = []  # physical game keys held, oldest press first
        self._advance_key = False  # Enter held in step mode
        self._release_after_frame: list[int] = []  # keys tapped within one frame
        self._anchor: float | None = None  # when frame `_anchor_frame` of this stretch was due
        self._anchor_frame = 0
        self._shown: deque[float] = deque(maxlen=61)
        self._message = ("", 0.0)  # (text, shown until)
        self._stop_requested = False
        self._between_s = 0.0
        self._key_codes: dict[int, str] = {}

    # -- the whole session ------------------------------------------------------------------

    def run(self) -> PlaySummary:
        """Play until the player quits or the episodes asked for are done; save what was played."""
        previous = {}
        if threading.current_thread() is threading.main_thread():  # Ctrl-C, SIGTERM, the terminal closed: save, stop
            previous = {signum: signal.signal(signum, self._request_stop) for signum in STOP_SIGNALS
                        if signal.getsignal(signum) is not signal.SIG_IGN}  # those ignored (nohup) stay ignored
        try:
            self.start()
            while self.running:
                self.tick()
        except KeyboardInterrupt:
            self.quit()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            self.close()
        return self.summary()

    def start(self) -> None:
        """Open the window and the emulator, and start the first episode."""
        window.check_display()
        pygame.display.init()  # not pygame.init(): no sound, no joystick
        pygame.font.init()
        self._key_codes = {pygame.key.key_code(name): name for name in KEY_BINDINGS}
        self.env = make_env(self.game)  # the frame cap is counted here, in steps (ALE counts reset frames)
        self.view = window.GameView(self.env.observation_space.shape, self.game.action_names, scale=self.config.scale,
                                    probs_panel=self.controller.panel, title=self.title)
        self.view.on_display_lost = self.display_lost
        self.running = True
        self.start_episode()
        if self.view.scale != self.view.scale_asked:
            self.say(f"scale {self.view.scale}: {self.view.scale_asked} does not fit the screen")

    @property
    def title(self) -> str:
        return self.config.title or f"mimic play {self.game.name}"

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
        if self.env is not None:
            self.env.close()
            self.env = None
        pygame.quit()

    def summary(self) -> PlaySummary:
        return PlaySummary(tuple(self.results), self.stats, self.stopped)

    # -- one pass of the loop ---------------------------------------------------------------

    def tick(self) -> None:
        """Handle the events queued, play one frame if the game is running, draw, keep time."""
        if not self.running:
            return
        begin = time.perf_counter()
        self._between_s = 0.0
        self.handle_events()
        if not self.running:
            return
        if self._stop_requested or self.view.lost:
            self.quit()
            return
        try:
            self.play_frame(begin)
        finally:
            for key in self._release_after_frame:
                self.release(key)
            self._release_after_frame.clear()

    def play_frame(self, begin: float) -> None:
        """Advance one emulator frame, draw it and show it when due; or, paused or waiting, just draw."""
        choice = self.controller.choose(self) if self.wants_to_advance() else None
        if choice is not None:
            self.advance(*choice)
            if not self.running:
                return
            self.draw()
            work = time.perf_counter() - begin - self._between_s  # saving and restarting between episodes is no frame's work
            self.stats.work_s.append(work)
            self.wait_for_due_time(work)
            self.present()
            self._shown.append(time.perf_counter())
            self.stats.last_shown = self._shown[-1]
            if self.stats.first_shown is None:
                self.stats.first_shown = self.stats.last_shown
        else:
            self._anchor = None  # paused or waiting for a key: time starts again on the next frame
            self.draw()
            self.present()
            if self.config.realtime:
                time.sleep(1.0 / FRAMES_PER_SECOND)

    @property
    def period(self) -> float:
        """Seconds between emulator frames at the current speed."""
        return 1.0 / (FRAMES_PER_SECOND * self.speed)

    def wants_to_advance(self) -> bool:
        """Whether the clock runs: not paused, and in step mode a key held."""
        if self.paused:
            return False
        if self.step_mode:
            return bool(self._pressed) or self._advance_key
        return True

    # -- events -----------------------------------------------------------------------------

    def handle_events(self) -> None:
        """Apply the queued events. A key pressed and released since the last frame (a tap
        shorter than a frame) still counts as held for the next frame: its release waits."""
        pressed_now: set[int] = set()
        for event in pygame.event.get():
            if event.type == pygame.QUIT:
                self.quit()
                return
            if event.type == pygame.KEYDOWN:
                pressed_now.add(event.key)
                self.press(event.key)
                if not self.running:
                    return
            elif event.type == pygame.KEYUP:
                if event.key in pressed_now:
                    self._release_after_frame.append(event.key)
                else:
                    self.release(event.key)
            elif event.type == pygame.WINDOWFOCUSLOST:
                self._pressed.clear()  # the key-ups will go to another window
                self._advance_key = False

    def press(self, key: int) -> None:
        name = self._key_codes.get(key)
        if name is not None:
            if name in self._pressed:
                self._pressed.remove(name)
            self._pressed.append(name)
            return
        if key == pygame.K_ESCAPE:
            self.quit()
            return
        name = "enter" if key in (pygame.K_RETURN, pygame.K_KP_ENTER) else pygame.key.name(key)
        if self.controller.key(self, name):
            return
        if key == pygame.K_BACKSPACE:
            self.discard_episode()
        elif key in (pygame.K_p, pygame.K_PAUSE):
            self.paused = not self.paused
            self._anchor = None
        elif key == pygame.K_t:
            self.step_mode = not self.step_mode
            self._anchor = None
        elif name == "enter":
            self._advance_key = True
        elif name.strip("[]") in SPEED_KEYS:
            self.set_speed(SPEED_KEYS[name.strip("[]")])
        elif key in (pygame.K_MINUS, pygame.K_KP_MINUS):
            self.set_speed(max([s for s in SPEEDS if s < self.speed], default=SPEEDS[0]))
        elif key in (pygame.K_EQUALS, pygame.K_PLUS, pygame.K_KP_PLUS):
            self.set_speed(min([s for s in SPEEDS if s > self.speed], default=max(SPEEDS[-1], self.speed)))

    def release(self, key: int) -> None:
        name = self._key_codes.get(key)
        if name in self._pressed:
            self._pressed.remove(name)
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
            self._advance_key = False

    def set_speed(self, speed: float) -> None:
        if speed != self.speed:
            self.speed = speed
            self._anchor = None

    # -- what the person holds (for controllers) ----------------------------------------------

    def holding(self) -> bool:
        """Whether the person holds a game key."""
        return bool(self._pressed)

    def keys_action(self) -> int:
        """The action of the game keys held (NOOP when none)."""
        return action_for_held(self.game, self._pressed)

    def release_keys(self) -> None:
        """Forget the game keys held: the person must press again (after a rewind)."""
        self._pressed.clear()

    # -- the game ---------------------------------------------------------------------------

    def start_episode(self) -> None:
        """Start the next episode from its seed and tell the controller."""
        self.episode_seed = self.config.seed + self.attempts
        self.attempts += 1
        self.record()  # with a seed, ale-py reloads the ROM: ~0.1 s between episodes
        self.controller.begin(self)

    def record(self, *, player: str | None = None, extra: dict | None = None, state: bytes | None = None,
               frame: np.ndarray | None = None) -> EpisodeRecorder:
        """Start a new recording of this episode: from its seed, or from a saved state and its screen.

        `extra` adds to the config's metadata. A controller calls this to record an episode in
        several stretches (a rewind); the loop saves only the one it holds when the episode ends.
        """
        c = self.config
        self.recorder = EpisodeRecorder(self.game, seed=self.episode_seed, player=player or c.player, source=c.source,
                                        env=self.env, extra={**c.extra, **(extra or {})}, max_frames=c.max_frames,
                                        journal=c.directory if c.record else None)
        self.recorder.reset(state=state, frame=frame)
        self._anchor = None
        return self.recorder

    def advance(self, action: int, label: int) -> None:
        """Play one emulator frame and record it; the controller sees the step."""
        speed = STEP_MODE if self.step_mode else self.speed
        step = self.recorder.step(action, label=label, speed=speed)
        self.stats.frames += 1
        self.controller.stepped(self, step)
        if self.running and self.recorder is not None and self.recorder.done:
            self.finish_episode()

    def finish_episode(self) -> None:
        """Save the episode that just ended; start the next or stop."""
        begin = time.perf_counter()
        try:
            result = self.save_episode()
            self.controller.saved(self, result)
            self.say(f"episode {result.number} {'saved' if result.path else 'over'}: score {result.score:,.0f}")
            if self.config.episodes is not None and len(self.results) >= self.config.episodes:
                self.running = False
            else:
                self.start_episode()
        finally:
            self._between_s += time.perf_counter() - begin
            self.stats.between_s.append(time.perf_counter() - begin)

    def save_episode(self) -> EpisodeResult:
        rec = self.recorder
        begin = time.perf_counter()
        path = rec.save(self.config.directory) if self.config.record and rec.length else None
        if path is not None:
            self.stats.save_s.append(time.perf_counter() - begin)
        result = EpisodeResult(len(self.results) + 1, path, rec.length, rec.score, rec.ended or "quit", rec.seed)
        self.results.append(result)
        self.recorder = None
        return result

    def discard_episode(self) -> None:
        """Throw the episode in progress away and start it again (the same episode number)."""
        self.stats.discarded += 1
        self.recorder.discard()
        self.say("episode discarded: starting again")
        begin = time.perf_counter()
        self.start_episode()
        self._between_s += time.perf_counter() - begin

    def quit(self) -> None:
        """Stop; the episode in progress is saved (marked quit) if anything was played."""
        if not self.running:
            return
        self.running = False
        self.stopped = True
        if self.recorder is not None:
            result = self.save_episode() if self.recorder.length > 0 else None
            self.controller.saved(self, result)

    def display_lost(self) -> None:
        """The connection to the display is gone, and the process with it: save the episode in progress now."""
        self.quit()
        saved = self.results[-1].path if self.results and self.results[-1].path else None
        print(f"error: {self.view.lost}; " + (f"the episode in progress is saved: {saved}" if saved else
                                               "there was nothing to save"), file=sys.stderr)

    def _request_stop(self, signum, frame) -> None:
        """Stop after the frame being played (never in the middle of recording it); a second signal stops at once."""
        if self._stop_requested:
            raise KeyboardInterrupt
        self._stop_requested = True

    # -- showing it -------------------------------------------------------------------------

    def say(self, text: str, *, hold: bool = False) -> None:
        """Show `text` in the HUD for a few seconds, or with `hold` until the next message."""
        self._message = (text, math.inf if hold else time.perf_counter() + MESSAGE_SECONDS)

    def hud(self) -> dict:
        rec = self.recorder
        if self.paused:
            mode = "PAUSED"
        elif self.step_mode:
            mode = f"STEP {self.speed:.0%}" + ("" if self.wants_to_advance() else " (hold a key)")
        else:
            mode = f"{self.speed:.0%}"
        text, until = self._message
        hud = {
            "score": rec.score,
            "lives": rec.lives,
            "episode": len(self.results) + 1,
            "fps": self.fps(),
            "rec": self.config.record,
            "mode": mode,
            "message": text if time.perf_counter() < until else "",
        }
        hud.update(self.controller.hud(self))
        return hud

    def fps(self) -> float:
        """Emulator frames shown per second, over the last second or so."""
        if len(self._shown) < 2 or self._shown[-1] - self._shown[0] <= 0:
            return 0.0
        return (len(self._shown) - 1) / (self._shown[-1] - self._shown[0])

    def draw(self) -> None:
        self.view.draw(self.recorder.frame, self.hud(), probs=self.controller.probs)
        if self.config.record:  # the title says how long the recording is, e.g. "[REC 0:21, 1,260 frames]"
            frames = self.recorder.length - self.recorder.length % TITLE_EVERY
            minutes, seconds = divmod(frames // FRAMES_PER_SECOND, 60)
            self.view.set_title(f"{self.title} [REC {minutes}:{seconds:02d}, {frames:,} frames]")

    def show(self) -> None:
        """Draw and show the window now (before a moment's work, e.g. a rewind's search)."""
        if self.view is not None:
            self.draw()
            self.present()

    def wait_for_due_time(self, work: float) -> None:
        """Wait until this frame is due; count it dropped when it is a whole period late."""
        period = self.period
        if not self.config.realtime:
            if work > period:
                self.stats.dropped += 1
            return
        if self._anchor is None:  # a new stretch starts with this frame, due now
            self._anchor, self._anchor_frame = time.perf_counter(), self.stats.frames
        due = self._anchor + (self.stats.frames - self._anchor_frame) * period
        remaining = due - time.perf_counter()
        if remaining > 0.002:
            time.sleep(remaining - 0.001)
        while time.perf_counter() < due:
            pass
        late = time.perf_counter() - due
        if late > period:
            self.stats.dropped += 1
            if late > 8 * period:  # far behind (the machine stalled): do not sprint to catch up
                self._anchor = None

    def present(self) -> None:
        self.view.present()


# ---------------------------------------------------------------------------------------------
# What `mimic play` prints


def login_name() -> str:
    """The name a person plays under by default: their login, "anon" where there is none (some containers)."""
    import getpass

    try:
        return getpass.getuser()
    except Exception:  # no login name
        return "anon"


def play_session(config: PlayConfig, console) -> PlaySummary:
    """`mimic play`: says on a Rich `console` who plays and where the episodes go, plays in the window, then
    prints what was played (`summary_report`)."""
    what = (f"recording into {config.directory}/" if config.record
            else "not recording (add --record to save episodes)")
    console.print(f"Playing {config.game.name} as {config.player}, {what}. Esc quits; `mimic play --keys` lists "
                  "the keys.")
    summary = PlayLoop(config).run()
    console.print(summary_report(summary, config.record))
    return summary


def keys_help(game: Game):
    """`mimic play --keys`: the keys of the game's actions, then the keys that control the loop."""
    from rich.console import Group

    return Group(key_help(f"{game.name}: {game.n_actions} actions", keys_table(game), ("hold", "action")),
                 key_help("while playing", CONTROL_KEYS))


def summary_report(summary: PlaySummary, record: bool):
    """After a session: a table of the episodes played (where they were saved), and a line of totals."""
    from rich import box
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    parts = []
    if summary.episodes:
        folder = summary.saved[0].path.parent if summary.saved else None
        title = f"episodes saved in {folder}/" if folder else "episodes (not saved)"
        table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
        for column in ("#", "frames", "score", "ended", "file" if record else "seed"):
            table.add_column(column, justify="right" if column in ("#", "frames", "score") else "left",
                             overflow="fold")
        for e in summary.episodes:
            where = e.path.name if e.path is not None else str(e.seed)
            table.add_row(str(e.number), f"{e.length:,}", f"{e.score:,.0f}", e.ended, where)
        parts.append(table)
    stats = summary.stats
    mean_ms, p99_ms = stats.work_ms()
    played = len(summary.episodes)
    saved = len(summary.saved)
    head = (f"{saved} episode{'s' * (saved != 1)} saved" if record
            else f"{played} episode{'s' * (played != 1)} played, none saved")
    parts.append(Text(f"{head}; {stats.discarded} discarded; {stats.frames:,} frames played, {stats.dropped} dropped "
                      f"(work per frame {mean_ms:.1f} ms mean, {p99_ms:.1f} ms p99)."))
    return Group(*parts)
