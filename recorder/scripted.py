"""A scripted player for the play loop: real pygame key events from a seeded random script.

Used where no person is at the keyboard: the interim `make demo`, and the play-loop benchmark.
It presses keys exactly as the keyboard would (KEYDOWN / KEYUP on pygame's event queue), so
the loop under it is the same loop a person plays through. It is not a good player.

    python -m recorder.scripted --game pacman --frames 600 --data /tmp/mimic-demo
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recorder.games import resolve_game
from recorder.play import PlayConfig, PlayLoop, PlaySummary
from recorder.store import GameStore
from recorder.window import pygame

MOVE_KEYS = ("up", "down", "left", "right")


@dataclass
class ScriptedPlayer:
    """Holds one arrow key at a time, a new random one every `hold` frames."""

    rng: np.random.Generator
    hold: int = 30
    _held: int | None = None

    def press_keys(self, frame_index: int) -> None:
        """Post the key events for the frame about to be played."""
        if frame_index % self.hold:
            return
        if self._held is not None:
            pygame.event.post(pygame.event.Event(pygame.KEYUP, key=self._held))
        self._held = pygame.key.key_code(MOVE_KEYS[int(self.rng.integers(len(MOVE_KEYS)))])
        pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=self._held))


def play_scripted(config: PlayConfig, frames: int, seed: int = 0, hold: int = 30) -> PlaySummary:
    """Run the real play loop for `frames` emulator frames with a scripted player, then quit."""
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    player = ScriptedPlayer(np.random.default_rng(seed), hold=hold)
    loop = PlayLoop(config)
    loop.start()
    try:
        while loop.running and loop.stats.frames < frames:
            player.press_keys(loop.stats.frames)
            loop.tick()
        if loop.running:
            pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE))
            loop.tick()
    finally:
        loop.close()
    return loop.summary()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Record a scripted (random-key) player through the real play loop.")
    parser.add_argument("--game", default="pacman")
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--max-frames", type=int, default=None)
    parser.add_argument("--data", type=Path, default=Path("data"))
    args = parser.parse_args(argv)
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
    game = resolve_game(args.game)
    store = GameStore(args.data, game.name)
    config = PlayConfig(game, player="scripted", seed=args.seed, directory=store.demos, realtime=False,
                        max_frames=args.max_frames, title="mimic play (scripted)")
    print(f"A SCRIPTED player (random arrow keys, not a person) plays {game.name} for {args.frames} frames "
          f"({args.frames / 60:.0f} s of game time, un-throttled) through the real play loop, "
          f"its window on SDL's {os.environ['SDL_VIDEODRIVER']} video driver.")
    summary = play_scripted(config, args.frames, seed=args.seed)
    for episode in summary.saved:
        print(f"  saved {episode.path} ({episode.length} frames, score {episode.score:.0f}, ended {episode.ended})")


if __name__ == "__main__":
    main()
