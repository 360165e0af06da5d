"""Games: names a user types, the ROMs ale-py ships, and the emulator settings we record with.

`--game` takes a ROM name as ale-py spells it (``ms_pacman``) or the same without
underscores (``mspacman``); the folder under the data root is the latter. ``pacman`` is the
Atari 2600 Pac-Man ROM; ``mspacman`` is Ms. Pac-Man, the game with published reference scores.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass

import ale_py
import gymnasium as gym
from ale_py import roms

# Recording settings: every emulator frame, no sticky actions, so that a recording replays
# exactly from its seed and the action stored is the action the emulator executed.
RECORD_FRAMESKIP = 1
RECORD_STICKY = 0.0
# ALE prints a banner on every emulator it makes; keep stderr for what matters.
ale_py.ALEInterface.setLoggerMode(ale_py.LoggerMode.Error)

# The real-time rate of the Atari 2600 (NTSC).
FRAMES_PER_SECOND = 60

# The game table: facts about a game that a user cannot be asked to know, by ROM name.
# Screens that are their own mirror image left to right (the maze; LEFT there is RIGHT here):
# training also sees every decision mirrored, its label's LEFT and RIGHT swapped.
SYMMETRIC_ROMS = frozenset({"pacman", "ms_pacman"})


class UnknownGameError(ValueError):
    """A game name that no ROM shipped with ale-py answers to."""


@dataclass(frozen=True)
class Game:
    """One game: the name used on the command line and on disk, its ROM, its minimal action set,
    and whether its screen is the same mirrored left to right (`SYMMETRIC_ROMS`)."""

    name: str
    rom: str
    action_names: tuple[str, ...]
    ale_actions: tuple[int, ...]
    symmetric: bool = False

    def __post_init__(self) -> None:
        if self.symmetric and self.mirror_actions is None:
            raise ValueError(f"{self.name} is marked symmetric, but its actions ({', '.join(self.action_names)}) "
                             "have no mirror image left to right for each")

    @property
    def n_actions(self) -> int:
        return len(self.ale_actions)

    @property
    def mirror_actions(self) -> tuple[int, ...] | None:
        """Each action's mirror image left to right, as indices into the action set (LEFT is RIGHT's,
        UPLEFTFIRE is UPRIGHTFIRE's, UP its own), or None when the set lacks one of them."""
        swap = {"LEFT": "RIGHT", "RIGHT": "LEFT"}
        mirrored = [re.sub("LEFT|RIGHT", lambda m: swap[m.group()], name) for name in self.action_names]
        if not set(mirrored) <= set(self.action_names):
            return None
        return tuple(self.action_names.index(name) for name in mirrored)

    @property
    def mirror(self) -> tuple[int, ...] | None:
        """The action map that training relabels mirrored decisions by: `mirror_actions` when the
        screen is symmetric, None when decisions are not mirrored."""
        return self.mirror_actions if self.symmetric else None

    def action_index(self, ale_action: int) -> int | None:
        """The index in this game's action set of an ALE action (0..17), or None if absent."""
        try:
            return self.ale_actions.index(int(ale_action))
        except ValueError:
            return None


def _canonical(name: str) -> str:
    return name.strip().lower().replace("_", "").replace("-", "").replace(" ", "")


@functools.cache
def _rom_by_name() -> dict[str, str]:
    return {_canonical(rom): rom for rom in roms.get_all_rom_ids()}


def game_names() -> list[str]:
    """Every game name `--game` accepts, in canonical (folder) form."""
    return sorted(_rom_by_name())


@functools.cache
def resolve_game(name: str) -> Game:
    """The Game for a user-typed name; `UnknownGameError` with the closest names otherwise."""
    key = _canonical(name)
    rom = _rom_by_name().get(key)
    if rom is None:
        close = difflib.get_close_matches(key, game_names(), n=3, cutoff=0.6)
        hint = f"did you mean {', '.join(close)}?" if close else "run `mimic games` for the list."
        raise UnknownGameError(f"unknown game {name!r}: expected a ROM name that ale-py ships; {hint}")
    ale = ale_py.ALEInterface()
    ale.loadROM(roms.get_rom_path(rom))
    actions = tuple(a.value for a in ale.getMinimalActionSet())
    names = tuple(ale_py.Action(a).name for a in actions)
    return Game(name=key, rom=rom, action_names=names, ale_actions=actions, symmetric=rom in SYMMETRIC_ROMS)


def make_env(
    game: Game,
    *,
    frameskip: int = RECORD_FRAMESKIP,
    sticky: float = RECORD_STICKY,
    max_frames: int | None = None,
    render_mode: str | None = None,
) -> gym.Env:
    """The real ALE environment for `game`, with its minimal action set and RGB observations.

    Defaults are the recording settings (frameskip 1, sticky actions off). The evaluation
    protocol passes ``sticky=0.25, max_frames=108_000``.
    """
    return ale_py.env.AtariEnv(
        game=game.rom,
        obs_type="rgb",
        frameskip=frameskip,
        repeat_action_probability=sticky,
        full_action_space=False,
        max_num_frames_per_episode=max_frames,
        render_mode=render_mode,
    )


def ale_version() -> str:
    return ale_py.__version__

