"""The play loop: a person plays in the window; every emulator frame is recorded with the keys held.

One `tick()` is one pass of the loop, in verb-named steps:

    handle_events -> advance (one emulator frame, recorded) -> draw -> wait_for_due_time -> present

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

import signal
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recorder import window
from recorder.games import FRAMES_PER_SECOND, Game, make_env
from recorder.keys import DIRECTIONS, KEY_BINDINGS, action_for_keys
from recorder.recording import EpisodeRecorder
from recorder.store import STEP_MODE

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


@dataclass(frozen=True)
class PlayConfig:
    """What `mimic play` was asked for; validated up front."""

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
    title: str = "mimic play"

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


@dataclass(frozen=True)
class EpisodeResult:
    number: int
    path: Path | None  # None when not recording
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

    @property
    def saved(self) -> tuple[EpisodeResult, ...]:
        return tuple(e for e in self.episodes if e.path is not None)


class PlayLoop:
    """The window, the emulator and the recorder, driven by pygame events one frame at a time.

    >>> summary = PlayLoop(PlayConfig(game, player="ana", directory=store.demos)).run()

    Tests and scripted players call `start()`, post events, call `tick()`, and `close()`.
    """

    def __init__(self, config: PlayConfig) -> None:
        self.config = config
        self.game = config.game
        self.speed = config.speed
        self.step_mode = config.step_mode
        self.paused = False
        self.running = False
        self.stats = PlayStats()
        self.results: list[EpisodeResult] = []
        self.attempts = 0  # episodes started, discarded ones included (each gets its own seed)
        self.recorder: EpisodeRecorder | None = None
        self.view: window.GameView | None = None
        self.env = None
        self._pressed: list[str] = []  # physical game keys held, oldest press first
        self._advance_key = False  # Enter held in step mode
        self._release_after_frame: list[int] = []  # keys tapped within one frame
        self._anchor: float | None = None  # when frame `_anchor_frame` of this stretch was due
        self._anchor_frame = 0
        self._shown: deque[float] = deque(maxlen=61)
        self._message = ("", 0.0)
        self._stop_requested = False
        self._between_s = 0.0
        self._key_codes: dict[int, str] = {}
        self.source = "human"  # stored with every episode (DAgger's window modes store "dagger")
        self.extra: dict = {}  # more metadata stored with every episode

    # -- the whole session ------------------------------------------------------------------

    def run(self) -> PlaySummary:
        """Play until the player quits or the episodes asked for are done; save what was played."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, self._request_stop)
        try:
            self.start()
            while self.running:
                self.tick()
        except KeyboardInterrupt:
            self.quit()
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.close()
        return self.summary()

    def start(self) -> None:
        """Open the window and the emulator, and start the first episode."""
        window.check_display()
        pygame.display.init()  # not pygame.init(): no sound, no joystick
        pygame.font.init()
        self._key_codes = {pygame.key.key_code(name): name for name in KEY_BINDINGS}
        self.env = make_env(self.game)  # the frame cap is counted here, in steps (ALE counts reset frames)
        self.view = self.make_view(self.env.observation_space.shape)
        self.running = True
        self.start_episode()
        if self.view.scale != self.view.scale_asked:
            self._message = (f"scale {self.view.scale}: {self.view.scale_asked} does not fit the screen",
                             time.perf_counter())

    def make_view(self, frame_shape) -> window.GameView:
        return window.GameView(frame_shape, self.game.action_names, scale=self.config.scale, title=self.config.title)

    def close(self) -> None:
        if self.view is not None:
            self.view.close()
            self.view = None
        if self.env is not None:
            self.env.close()
            self.env = None
        pygame.quit()

    def summary(self) -> PlaySummary:
        return PlaySummary(tuple(self.results), self.stats)

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
        if self._stop_requested:
            self.quit()
            return
        try:
            self.play_frame(begin)
        finally:
            for key in self._release_after_frame:
                self.release(key)
            self._release_after_frame.clear()

    def play_frame(self, begin: float) -> None:
        """Advance one emulator frame, draw it and show it when due; or, paused, just draw."""
        if self.wants_to_advance():
            self.advance()
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
        name = pygame.key.name(key)
        if key == pygame.K_ESCAPE:
            self.quit()
        elif key == pygame.K_BACKSPACE:
            self.discard_episode()
        elif key in (pygame.K_p, pygame.K_PAUSE):
            self.paused = not self.paused
            self._anchor = None
        elif key == pygame.K_t:
            self.step_mode = not self.step_mode
            self._anchor = None
        elif key in (pygame.K_RETURN, pygame.K_KP_ENTER):
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

    def held(self) -> tuple[list[str], bool]:
        """(directions held, oldest press first; FIRE held) from the physical keys held."""
        logical = [KEY_BINDINGS[name] for name in self._pressed]
        directions: list[str] = []
        for d in reversed(logical):  # a direction held on two keys counts from its latest press
            if d in DIRECTIONS and d not in directions:
                directions.insert(0, d)
        return directions, "fire" in logical

    def action(self) -> int:
        directions, fire = self.held()
        return action_for_keys(self.game, directions, fire)

    # -- the game ---------------------------------------------------------------------------

    def start_episode(self) -> None:
        seed = self.config.seed + self.attempts
        self.attempts += 1
        self.recorder = EpisodeRecorder(self.game, seed=seed, player=self.config.player, env=self.env,
                                        source=self.source, extra=self.extra, max_frames=self.config.max_frames)
        self.recorder.reset()  # with a seed, ale-py reloads the ROM: ~0.1 s between episodes
        self._anchor = None

    def advance(self) -> None:
        """Play one emulator frame with the action held, and record it."""
        speed = STEP_MODE if self.step_mode else self.speed
        self.recorder.step(self.action(), speed=speed)
        self.stats.frames += 1
        if self.recorder.done:
            self.finish_episode()

    def finish_episode(self) -> None:
        """Save the episode that just ended (game over or frame cap); start the next or stop."""
        begin = time.perf_counter()
        try:
            self._finish_episode()
        finally:
            self._between_s += time.perf_counter() - begin
            self.stats.between_s.append(time.perf_counter() - begin)

    def _finish_episode(self) -> None:
        result = self.save_episode()
        self._message = (f"episode {result.number} {'saved' if result.path else 'over'}: "
                         f"score {result.score:,.0f}", time.perf_counter())
        if self.config.episodes is not None and len(self.results) >= self.config.episodes:
            self.running = False
            return
        self.start_episode()

    def save_episode(self) -> EpisodeResult:
        rec = self.recorder
        begin = time.perf_counter()
        path = rec.save(self.config.directory) if self.config.record else None
        if path is not None:
            self.stats.save_s.append(time.perf_counter() - begin)
        result = EpisodeResult(len(self.results) + 1, path, rec.length, rec.score, rec.ended or "quit", rec.seed)
        self.results.append(result)
        self.recorder = None
        return result

    def discard_episode(self) -> None:
        """Throw the episode in progress away and start it again (the same episode number)."""
        self.stats.discarded += 1
        self._message = ("episode discarded: starting again", time.perf_counter())
        begin = time.perf_counter()
        self.start_episode()
        self._between_s += time.perf_counter() - begin

    def quit(self) -> None:
        """Stop; the episode in progress is saved (marked quit) if anything was played."""
        if not self.running:
            return
        self.running = False
        if self.recorder is not None and self.recorder.length > 0:
            self.save_episode()

    def _request_stop(self, signum, frame) -> None:
        self._stop_requested = True

    # -- showing it -------------------------------------------------------------------------

    def hud(self) -> dict:
        rec = self.recorder
        directions, fire = self.held()
        if self.paused:
            mode = "PAUSED"
        elif self.step_mode:
            mode = f"STEP {self.speed:.0%}" + ("" if self.wants_to_advance() else " (hold a key)")
        else:
            mode = f"{self.speed:.0%}"
        text, since = self._message
        return {
            "score": rec.score,
            "lives": rec.lives,
            "episode": len(self.results) + 1,
            "action": self.game.action_names[self.action()],
            "fps": self.fps(),
            "rec": self.config.record,
            "mode": mode,
            "message": text if text and time.perf_counter() - since < MESSAGE_SECONDS else "",
        }

    def fps(self) -> float:
        """Emulator frames shown per second, over the last second or so."""
        if len(self._shown) < 2 or self._shown[-1] - self._shown[0] <= 0:
            return 0.0
        return (len(self._shown) - 1) / (self._shown[-1] - self._shown[0])

    def draw(self) -> None:
        self.view.draw(self.recorder.frame, self.hud())

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
