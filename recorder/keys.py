"""The key map: which keys a person holds -> which action of the game's minimal set.

Pure functions, no pygame: the window turns its key codes into the logical keys below.

- Arrows or WASD move the joystick, space is FIRE; two directions at once are the diagonals,
  a direction with space the FIRE combos; nothing held is NOOP.
- Opposite directions cancel (left + right is no horizontal move).
- When the combination is not in the game's minimal action set (Pac-Man has no diagonals and
  no FIRE) the nearest action that is: FIRE is dropped first, then of two directions the one
  pressed last wins, then the other, then NOOP.
"""

from __future__ import annotations

from collections.abc import Sequence

from ale_py import Action

from recorder.games import Game

UP, DOWN, LEFT, RIGHT = "up", "down", "left", "right"
DIRECTIONS = (UP, DOWN, LEFT, RIGHT)

# Physical key names (as pygame.key.name spells them) -> logical key.
KEY_BINDINGS: dict[str, str] = {
    "up": UP,
    "w": UP,
    "down": DOWN,
    "s": DOWN,
    "left": LEFT,
    "a": LEFT,
    "right": RIGHT,
    "d": RIGHT,
    "space": "fire",
}

_COMBO: dict[tuple[str | None, str | None, bool], Action] = {}
for _v, _vname in ((None, ""), (UP, "UP"), (DOWN, "DOWN")):
    for _h, _hname in ((None, ""), (LEFT, "LEFT"), (RIGHT, "RIGHT")):
        for _fire in (False, True):
            _name = _vname + _hname + ("FIRE" if _fire else "")
            _COMBO[(_v, _h, _fire)] = Action[_name or "NOOP"]


def _axis(held: Sequence[str], neg: str, pos: str) -> str | None:
    has_neg, has_pos = neg in held, pos in held
    if has_neg == has_pos:
        return None  # neither, or opposite keys cancel
    return neg if has_neg else pos


def full_action(held: Sequence[str], fire: bool) -> Action:
    """The ALE action (of all 18) for the directions held and the FIRE button."""
    return _COMBO[(_axis(held, UP, DOWN), _axis(held, LEFT, RIGHT), fire)]


def action_for_keys(game: Game, held: Sequence[str], fire: bool = False) -> int:
    """The index into `game`'s minimal action set for the keys held.

    `held` lists the directions held, oldest press first (the last one is the most recent).
    """
    vertical = _axis(held, UP, DOWN)
    horizontal = _axis(held, LEFT, RIGHT)
    # Most recent direction first: it wins when a diagonal must fall back to one direction.
    recent = [d for d in reversed(held) if d in (vertical, horizontal)]
    candidates: list[tuple[str | None, str | None, bool]] = [(vertical, horizontal, fire)]
    if fire:
        candidates.append((vertical, horizontal, False))
    for direction in recent:
        single = (direction, None) if direction in (UP, DOWN) else (None, direction)
        if fire:
            candidates.append((*single, True))
        candidates.append((*single, False))
    if fire:
        candidates.append((None, None, True))
    candidates.append((None, None, False))
    for combo in candidates:
        index = game.action_index(_COMBO[combo].value)
        if index is not None:
            return index
    raise ValueError(f"{game.name} has no NOOP in its action set")  # never for ALE games


def action_for_held(game: Game, names: Sequence[str]) -> int:
    """The action for the physical keys held (`KEY_BINDINGS` names, oldest press first).

    A direction held on two keys (Left and A) counts from its latest press.
    """
    logical = [KEY_BINDINGS[name] for name in names]
    directions: list[str] = []
    for d in reversed(logical):
        if d in DIRECTIONS and d not in directions:
            directions.insert(0, d)
    return action_for_keys(game, directions, "fire" in logical)


def keys_table(game: Game) -> list[tuple[str, str]]:
    """(keys to press, action name) for every action of the game, for `mimic play --keys`."""
    words = {UP: "Up/W", DOWN: "Down/S", LEFT: "Left/A", RIGHT: "Right/D"}
    rows = []
    for ale_action, name in zip(game.ale_actions, game.action_names):
        combo = next(k for k, v in _COMBO.items() if v.value == ale_action)
        vertical, horizontal, fire = combo
        parts = [words[d] for d in (vertical, horizontal) if d] + (["Space"] if fire else [])
        rows.append((" + ".join(parts) or "(nothing held)", name))
    return rows


def key_help(title: str, rows: Sequence[tuple[str, str]], columns: tuple[str, str] = ("key", "does")):
    """A Rich table of (key, what it does) rows under `title`, as the CLI prints key help."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    return table
