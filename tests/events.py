"""Real pygame key events for driving the play loop and its kin in tests (SDL's dummy video driver)."""

from __future__ import annotations

from recorder.window import pygame


def down(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key))


def up(key: int) -> None:
    pygame.event.post(pygame.event.Event(pygame.KEYUP, key=key))


def ticks(loop, n: int) -> None:
    """Run `n` passes of the loop (each plays one frame unless paused)."""
    for _ in range(n):
        loop.tick()
