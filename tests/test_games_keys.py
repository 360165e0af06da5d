"""Game names and the key map: pure functions on the real ROM metadata."""

from __future__ import annotations

import itertools

import pytest
from ale_py import Action

from recorder.games import Game, UnknownGameError, game_names, resolve_game
from recorder.keys import DOWN, LEFT, RIGHT, UP, action_for_keys, full_action, keys_table


def test_pacman_is_the_2600_rom_and_mspacman_has_nine_actions():
    pacman, mspacman = resolve_game("pacman"), resolve_game("mspacman")
    assert pacman.rom == "pacman" and pacman.action_names == ("NOOP", "UP", "RIGHT", "LEFT", "DOWN")
    assert mspacman.rom == "ms_pacman" and mspacman.n_actions == 9 and "FIRE" not in mspacman.action_names


def test_mirrored_actions_swap_left_and_right_and_a_set_without_both_has_none():
    for name, pairs in [("pacman", {"NOOP": "NOOP", "UP": "UP", "LEFT": "RIGHT", "RIGHT": "LEFT"}),
                        ("mspacman", {"DOWN": "DOWN", "UPLEFT": "UPRIGHT", "DOWNRIGHT": "DOWNLEFT"}),
                        ("pong", {"FIRE": "FIRE", "RIGHTFIRE": "LEFTFIRE", "LEFT": "RIGHT"})]:
        game = resolve_game(name)
        mirror = game.mirror_actions
        named = {game.action_names[a]: game.action_names[m] for a, m in enumerate(mirror)}
        assert pairs.items() <= named.items()
        assert [mirror[m] for m in mirror] == list(range(game.n_actions))  # its own inverse
    lopsided = Game(name="lopsided", rom="pacman", action_names=("NOOP", "LEFT"), ale_actions=(0, 4))
    assert lopsided.mirror_actions is None


@pytest.mark.parametrize("typed", ["ms_pacman", "MsPacman", "ms-pacman", " mspacman "])
def test_rom_names_are_accepted_with_or_without_underscores(typed):
    assert resolve_game(typed).name == "mspacman"


def test_every_shipped_rom_is_a_game():
    names = game_names()
    assert len(names) > 100 and {"pacman", "mspacman", "breakout", "spaceinvaders"} <= set(names)


def test_unknown_game_names_the_closest():
    with pytest.raises(UnknownGameError, match="did you mean.*pacman"):
        resolve_game("pacmn")
    with pytest.raises(UnknownGameError, match="mimic games"):
        resolve_game("zzzzzz")


def test_full_action_for_every_combination():
    expected = {
        (): Action.NOOP, (UP,): Action.UP, (DOWN,): Action.DOWN, (LEFT,): Action.LEFT, (RIGHT,): Action.RIGHT,
        (UP, RIGHT): Action.UPRIGHT, (UP, LEFT): Action.UPLEFT,
        (DOWN, RIGHT): Action.DOWNRIGHT, (DOWN, LEFT): Action.DOWNLEFT,
        (LEFT, RIGHT): Action.NOOP, (UP, DOWN): Action.NOOP, (UP, DOWN, LEFT): Action.LEFT,
    }
    for held, action in expected.items():
        for order in itertools.permutations(held):
            assert full_action(order, fire=False) == action, order
            fired = Action.FIRE if action == Action.NOOP else Action[action.name + "FIRE"]
            assert full_action(order, fire=True) == fired, order


def test_eighteen_action_game_maps_every_combination_to_itself():
    game = resolve_game("seaquest")
    assert game.n_actions == 18
    for held in itertools.chain.from_iterable(itertools.combinations(
            (UP, DOWN, LEFT, RIGHT), n) for n in range(3)):
        for fire in (False, True):
            index = action_for_keys(game, held, fire)
            assert game.ale_actions[index] == full_action(held, fire).value


def test_mspacman_diagonals_and_fire_dropped():
    game = resolve_game("mspacman")
    name = lambda held, fire=False: game.action_names[action_for_keys(game, held, fire)]
    assert name([UP, RIGHT]) == "UPRIGHT"
    assert name([DOWN, LEFT], fire=True) == "DOWNLEFT"  # no FIRE in Ms. Pac-Man
    assert name([], fire=True) == "NOOP"
    assert name([]) == "NOOP"


def test_pacman_diagonal_falls_back_to_the_latest_direction():
    game = resolve_game("pacman")
    name = lambda held: game.action_names[action_for_keys(game, held)]
    assert name([UP, RIGHT]) == "RIGHT"  # right pressed last
    assert name([RIGHT, UP]) == "UP"
    assert name([LEFT, RIGHT, UP]) == "UP"  # left and right cancel


def test_keys_table_lists_each_action_once():
    rows = keys_table(resolve_game("mspacman"))
    assert [action for _, action in rows] == list(resolve_game("mspacman").action_names)
    assert rows[0] == ("(nothing held)", "NOOP")
    assert ("Up/W + Right/D", "UPRIGHT") in rows
