"""The game window: the frame scaled up, a HUD, and an optional panel of action-probability bars.

One view serves every screen that shows a game:

- `mimic play`: a person plays; the HUD shows score, lives, episode, the action held, the frame
  rate achieved, a red REC mark and the speed / PAUSED / STEP state.
- `mimic watch`: the agent plays; pass the policy's probabilities and the bars show them.
- `watch --video`: `GameView(..., headless=True)` draws into an off-screen surface with no
  display at all, and `to_array()` hands back each composed picture as uint8 RGB.
- DAgger's human modes: `draw_choice` draws an action as an arrow under the bars (the agent's
  choice, the person's answer); `ask` runs the review mode's question screen.

    >>> view = GameView(frame_shape=(210, 160), action_names=game.action_names, scale=4)
    >>> view.draw(frame, {"score": 120, "lives": 3, "episode": 1, "action": "LEFT", "fps": 60.0,
    ...                    "rec": True, "mode": "100%"}, probs=None)
    >>> view.present()

The window's events (keys, closing) stay on pygame's event queue for the caller to read.
"""

from __future__ import annotations

import ctypes
import math
import os
import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
# The X11 window class (desktops group windows by it; `xdotool search --classname mimic`).
os.environ.setdefault("SDL_VIDEO_X11_WMCLASS", "mimic")
import pygame  # noqa: E402

from recorder.games import FRAMES_PER_SECOND, Game  # noqa: E402
from recorder.keys import KEY_BINDINGS, action_for_held  # noqa: E402

DEFAULT_SCALE = 4
HUD_HEIGHT = 44
PANEL_WIDTH = 230
_HEADLESS_DRIVERS = ("dummy", "offscreen")

BACKGROUND = (16, 16, 24)
TEXT = (230, 230, 230)
DIM = (140, 140, 150)
RED = (230, 40, 40)
AMBER = (250, 190, 60)
BAR = (70, 150, 230)
BAR_CHOSEN = (250, 190, 60)
GREEN = (90, 220, 120)


class NoDisplayError(RuntimeError):
    """No display to open a window on; the message says what to do."""


def check_display() -> None:
    """Raise `NoDisplayError` with one clear line when a window cannot be opened here.

    Checked before pygame tries: SDL would otherwise print its own errors, or quietly fall back
    to its off-screen driver and play in a window nobody can see.
    """
    driver = os.environ.get("SDL_VIDEODRIVER", "")
    if driver in _HEADLESS_DRIVERS:
        return
    display = os.environ.get("DISPLAY", "")
    if sys.platform.startswith("linux"):
        if not (display or os.environ.get("WAYLAND_DISPLAY")):
            raise NoDisplayError(
                "no display to open the game window on (DISPLAY is not set): run it on a desktop, "
                "set DISPLAY, or run it under a virtual X server: xvfb-run mimic play ..."
            )
        local = re.fullmatch(r"(?:unix)?:(\d+)(?:\.\d+)?", display)
        if local and not os.environ.get("WAYLAND_DISPLAY") and not Path(f"/tmp/.X11-unix/X{local[1]}").exists():
            raise NoDisplayError(
                f"no X server answers on DISPLAY={display}: check DISPLAY, or run under xvfb-run mimic play ..."
            )
    _catch_x_errors()
    try:
        pygame.display.init()
    except pygame.error as exc:
        raise NoDisplayError(f"cannot open a window ({exc}): check DISPLAY, or run under xvfb-run") from None
    if pygame.display.get_driver() in _HEADLESS_DRIVERS:
        pygame.display.quit()
        raise NoDisplayError(
            f"no display to open the game window on (DISPLAY={display or 'unset'}): check DISPLAY, "
            "or run under xvfb-run mimic play ..."
        )


class GameView:
    """A window (or an off-screen surface) showing a game frame, a HUD and probability bars."""

    def __init__(
        self,
        frame_shape: Sequence[int],
        action_names: Sequence[str],
        *,
        scale: int = DEFAULT_SCALE,
        probs_panel: bool = False,
        headless: bool = False,
        title: str = "mimic",
    ) -> None:
        if not isinstance(scale, int) or not 1 <= scale <= 8:
            raise ValueError(f"scale must be a whole number from 1 to 8, got {scale!r}")
        height, width = int(frame_shape[0]), int(frame_shape[1])
        self.frame_size = (width, height)
        self.action_names = tuple(action_names)
        self.probs_panel = probs_panel
        self.headless = headless
        self.scale_asked = scale
        panel_w = PANEL_WIDTH if probs_panel else 0
        pygame.font.init()
        if not headless:
            check_display()
            _catch_x_errors()
            pygame.display.init()
            scale = self._fit_screen(scale, panel_w)
        self.scale = scale
        game_w, game_h = width * scale, height * scale
        self.size = (game_w + panel_w, HUD_HEIGHT + game_h)
        if headless:
            self.surface = pygame.Surface(self.size)
        else:
            try:
                self.surface = pygame.display.set_mode(self.size)
            except pygame.error as exc:
                raise NoDisplayError(f"cannot open a {self.size[0]}x{self.size[1]} window ({exc})") from None
            pygame.display.set_caption(title)
        self.title = title
        self.lost: str | None = None  # why the window is gone (destroyed from outside, the display lost)
        self.on_display_lost: Callable[[], None] | None = None  # called before the process ends with its display
        if not headless:
            global _watched
            _watched = self
        self._game_area = self.surface.subsurface(pygame.Rect(0, HUD_HEIGHT, game_w, game_h))
        self._panel = self.surface.subsurface(pygame.Rect(game_w, HUD_HEIGHT, panel_w, game_h)) if panel_w else None
        self._unscaled = pygame.Surface(self.frame_size, 0, self.surface)
        self._hud_area = self.surface.subsurface(pygame.Rect(0, 0, self.size[0], HUD_HEIGHT))
        self._font = pygame.font.Font(None, 24)
        self._small = pygame.font.Font(None, 20)
        self._texts: dict[tuple[str, tuple[int, int, int], bool], pygame.Surface] = {}

    def _fit_screen(self, scale: int, panel_w: int) -> int:
        """The largest scale up to `scale` whose window fits the screen (leaving room for a
        title bar and a task bar); `scale_asked` keeps what was asked."""
        if pygame.display.get_driver() in _HEADLESS_DRIVERS:
            return scale  # no real screen to fit (the dummy driver reports 1024x768)
        sizes = pygame.display.get_desktop_sizes()
        if not sizes:
            return scale
        screen_w, screen_h = sizes[0]
        width, height = self.frame_size
        while scale > 1 and (width * scale + panel_w > screen_w or HUD_HEIGHT + height * scale > screen_h - 80):
            scale -= 1
        return scale

    # -- drawing ------------------------------------------------------------------------------

    def draw(
        self,
        frame: np.ndarray,
        hud: Mapping[str, object],
        probs: Sequence[float] | np.ndarray | None = None,
        action_names: Sequence[str] | None = None,
    ) -> None:
        """Compose one picture: the frame scaled, the HUD, and (with a panel) the bars.

        `hud` keys, all optional: score, lives, episode, action (name held or chosen), fps,
        rec (bool: red REC mark), mode ("100%", "PAUSED", "STEP ..."), message (a short note);
        any other key is shown as "key value". `probs` has one entry per action.
        """
        self._draw_frame(frame)
        self._draw_hud(hud)
        if self._panel is not None:
            self._draw_probs(probs, action_names or self.action_names, hud.get("action"))

    def draw_choice(self, action_name: str, who: str, color, *, row: int) -> None:
        """Draw an action as an arrow (a ring for no move, a dot for FIRE) in the panel under the
        bars, labelled `who`; `row` 0 is the first place under the bars, 1 the next."""
        if self._panel is None:
            return
        x0 = self.size[0] - PANEL_WIDTH
        y0 = HUD_HEIGHT + 8 + len(self.action_names) * 26 + 24 + row * 120
        cx, cy, r = x0 + 150, y0 + 50, 40
        surface = self.surface
        label = self._text(who, color)
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

    def set_title(self, title: str) -> None:
        """The window's title (set only when it changes; nothing off-screen)."""
        if title != self.title and not self.headless:
            pygame.display.set_caption(title)
        self.title = title

    def present(self) -> None:
        """Show the composed picture in the window (nothing to do off-screen)."""
        if not self.headless:
            pygame.display.flip()

    def to_array(self) -> np.ndarray:
        """The composed picture as (height, width, 3) uint8 RGB, e.g. for a video."""
        return np.ascontiguousarray(pygame.surfarray.array3d(self.surface).transpose(1, 0, 2))

    def close(self) -> None:
        if not self.headless:
            pygame.display.quit()
        global _watched
        if _watched is self:
            _watched = None

    def _draw_frame(self, frame: np.ndarray) -> None:
        frame = np.ascontiguousarray(frame, dtype=np.uint8)
        if frame.shape[1::-1] != self.frame_size or frame.ndim != 3:
            raise ValueError(f"frame shape {frame.shape} does not match the view's {self.frame_size[::-1]} x 3")
        source = pygame.image.frombuffer(frame.data, self.frame_size, "RGB")
        self._unscaled.blit(source, (0, 0))  # to the window's pixel format, which scale() needs
        pygame.transform.scale(self._unscaled, self._game_area.get_size(), self._game_area)

    def _text(self, text: str, color=TEXT, small: bool = False) -> pygame.Surface:
        key = (text, color, small)
        surface = self._texts.get(key)
        if surface is None:
            if len(self._texts) > 512:  # scores and rates change; keep the cache bounded
                self._texts.clear()
            surface = (self._small if small else self._font).render(text, True, color)
            self._texts[key] = surface
        return surface

    def _draw_hud(self, hud: Mapping[str, object]) -> None:
        area = self._hud_area
        area.fill(BACKGROUND)
        x = 8
        top, bottom = 4, 24
        if hud.get("rec"):
            pygame.draw.circle(area, RED, (x + 7, top + 8), 7)
            area.blit(self._text("REC", RED), (x + 18, top + 1))
            x += 62
        fields = []
        if "score" in hud:
            fields.append(f"score {float(hud['score']):,.0f}")
        if "lives" in hud:
            fields.append(f"lives {hud['lives']}")
        if "episode" in hud:
            fields.append(f"episode {hud['episode']}")
        for key, value in hud.items():
            if key not in ("score", "lives", "episode", "action", "fps", "rec", "mode", "message"):
                fields.append(f"{key} {value}")
        area.blit(self._text("   ".join(fields)), (x, top + 1))
        line = []
        if "action" in hud:
            line.append(f"action {hud['action']}")
        if "fps" in hud:
            line.append(f"{float(hud['fps']):.0f} fps")
        area.blit(self._text("   ".join(line), DIM, small=True), (8, bottom + 2))
        mode = str(hud.get("mode", ""))
        if mode:
            color = AMBER if mode != "100%" else TEXT
            text = self._text(mode, color)
            area.blit(text, (self.size[0] - text.get_width() - 8, top + 1))
        message = str(hud.get("message", ""))
        if message:
            text = self._text(message, AMBER, small=True)
            area.blit(text, (self.size[0] - text.get_width() - 8, bottom + 2))

    def _draw_probs(self, probs, names: Sequence[str], chosen: object) -> None:
        panel = self._panel
        panel.fill(BACKGROUND)
        if probs is None:
            return
        probs = np.asarray(probs, dtype=float)
        if probs.shape != (len(names),):
            raise ValueError(f"{len(probs)} probabilities for {len(names)} actions")
        row = min(26, panel.get_height() // max(1, len(names)))
        bar_x, bar_w = 96, panel.get_width() - 96 - 50
        best = int(np.argmax(probs))
        for i, (name, p) in enumerate(zip(names, probs)):
            y = 8 + i * row
            color = BAR_CHOSEN if name == chosen or (chosen is None and i == best) else BAR
            panel.blit(self._text(name, TEXT, small=True), (6, y))
            pygame.draw.rect(panel, (40, 40, 52), (bar_x, y, bar_w, row - 8))
            pygame.draw.rect(panel, color, (bar_x, y, round(bar_w * float(np.clip(p, 0, 1))), row - 8))
            panel.blit(self._text(f"{p:4.0%}", DIM, small=True), (bar_x + bar_w + 6, y))


_X_HANDLERS: list = []  # Xlib's error handlers set here (kept alive: Xlib calls them)
_watched: GameView | None = None  # the open window they report to


def _catch_x_errors() -> None:
    """Set Xlib's error handlers, once, before SDL opens the display (SDL then keeps them as the handlers it
    calls and puts back). Xlib's own end the process at once on an X error (as when the window is destroyed
    from outside) or a lost connection to the X server. Here an X error marks the open window `lost` (the play
    loop then stops and saves); a lost connection calls the window's `on_display_lost`, then ends the process
    with exit status 1 (Xlib allows no X call after it)."""
    if _X_HANDLERS or not sys.platform.startswith("linux"):
        return
    try:
        xlib = ctypes.CDLL("libX11.so.6")  # the library SDL loads
    except OSError:
        return

    def on_error(display, event) -> int:
        if _watched is not None:
            _watched.lost = _watched.lost or "the game window was closed from outside"
        return 0

    def on_io_error(display) -> int:
        try:
            if _watched is not None:
                _watched.lost = "the connection to the display was lost"
                if _watched.on_display_lost is not None:
                    _watched.on_display_lost()
            else:
                print("error: the connection to the display was lost", file=sys.stderr)
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(1)
        return 1

    _X_HANDLERS.extend([ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)(on_error),
                        ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p)(on_io_error)])
    xlib.XSetErrorHandler.argtypes = xlib.XSetIOErrorHandler.argtypes = [ctypes.c_void_p]
    xlib.XSetErrorHandler(ctypes.cast(_X_HANDLERS[0], ctypes.c_void_p))
    xlib.XSetIOErrorHandler(ctypes.cast(_X_HANDLERS[1], ctypes.c_void_p))


# ---------------------------------------------------------------------------------------------
# Between the games: events outside a play loop, and the review mode's question screen


def stop_requested() -> bool:
    """Read the queued events; True when one asks to stop (Esc, the window closed or lost). Other keys are dropped."""
    stop = _watched is not None and _watched.lost is not None
    for event in pygame.event.get():
        if event.type == pygame.QUIT or (event.type == pygame.KEYDOWN and event.key == pygame.K_ESCAPE):
            stop = True
    return stop


def shutdown() -> None:
    """Close every window and pygame itself."""
    pygame.quit()


@dataclass(frozen=True)
class Question:
    """One paused state to label: the screen, the agent's probabilities and choice, what the HUD says."""

    frame: np.ndarray
    probs: np.ndarray
    agent: int  # the agent's action there (Enter accepts it)
    hud: Mapping[str, object]


def ask(view: GameView, game: Game, questions: Sequence[Question], *, realtime: bool = True
        ) -> tuple[list[int | None], bool]:
    """Show each question paused until the person answers; (answers, stopped).

    Game keys pressed and released: that action is the answer (several held: as in play). Enter:
    the agent's choice. Tab: skipped (None). Backspace: back to the previous question. Esc or
    closing the window (or losing it) stops: the answers so far come back with `stopped` True.
    """
    codes = {pygame.key.key_code(name): name for name in KEY_BINDINGS}
    answers: list[int | None] = [None] * len(questions)
    index, held, pending = 0, [], None
    while index < len(questions):
        if view.lost:
            return answers, True
        while index < len(questions):  # one event at a time: those after the last answer stay queued
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
                    pending = action_for_held(game, held)
                elif event.key == pygame.K_ESCAPE:
                    return answers, True
                elif event.key in (pygame.K_RETURN, pygame.K_KP_ENTER):
                    answers[index] = questions[index].agent
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
        if index < len(questions):
            q = questions[index]
            view.draw(q.frame, {"question": f"{index + 1}/{len(questions)}", **q.hud}, probs=q.probs)
            view.draw_choice(game.action_names[q.agent], "agent", AMBER, row=0)
            if pending is not None:
                view.draw_choice(game.action_names[pending], "you", GREEN, row=1)
            view.present()
            if realtime:
                time.sleep(1.0 / FRAMES_PER_SECOND)
    return answers, False
