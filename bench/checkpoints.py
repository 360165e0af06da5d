"""What the benches share about checkpoints: `NAME=CHECKPOINT` arguments (`NAME=A.pt+B.pt`: an
ensemble of those), and whether two checkpoints hold the same weights."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch


def named_checkpoints(parser: argparse.ArgumentParser, items: list[str]) -> list[tuple[str, Path]]:
    """(name, path) of each `NAME=CHECKPOINT`; a usage error naming the first that is not one."""
    named = named_policies(parser, items)
    for item, (_, paths) in zip(items, named, strict=True):
        if len(paths) > 1:
            parser.error(f"{item!r}: expected NAME=CHECKPOINT, one checkpoint (this bench scores no ensembles)")
    return [(name, paths[0]) for name, paths in named]


def named_policies(parser: argparse.ArgumentParser, items: list[str]) -> list[tuple[str, list[Path]]]:
    """(name, paths) of each `NAME=CHECKPOINT` or `NAME=A.pt+B.pt+...` (an ensemble of those
    single networks, `agent.policy.ensemble_of`); a usage error naming the first that is neither."""
    named = []
    for item in items:
        name, sep, spec = item.partition("=")
        paths = [Path(p) for p in spec.split("+")]
        if not sep or not all(p.is_file() for p in paths):
            parser.error(f"{item!r}: expected NAME=CHECKPOINT or NAME=A.pt+B.pt naming existing checkpoint files")
        named.append((name, paths))
    return named


def same_weights(a: Path, b: Path) -> bool:
    """The two checkpoints hold bit-identical weights."""
    first, second = (torch.load(p, weights_only=True)["state_dict"] for p in (a, b))
    return first.keys() == second.keys() and all(torch.equal(first[k], second[k]) for k in first)
