"""One ensemble from networks trained apart (`mimic ensemble`).

`mimic train --ensemble N` trains N networks side by side on one train/validation split. Networks
trained by separate runs (other seeds, so other splits, initial weights and batch orders) can
also vote: `join` stacks their weights into one checkpoint (`agent.policy.ensemble_of`) that
`mimic eval`, `watch` and `dagger` load like any other.

    join([Path("seed-1/avg.pt"), Path("seed-2/avg.pt"), Path("seed-3/avg.pt")], Path("models/ensemble.pt"), game)

Its meta lets DAgger go on from it: the first member's training settings, as an ensemble of the
members with batches of their own (each was trained on its own order), and one split for them
all. An episode any member trained on counts as trained; only one every member held out stays
held out, as validation of the vote must be play none of its members has seen.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from agent.policy import MAX_ENSEMBLE, Checkpoint, CheckpointError, ensemble_of, load_checkpoint, save_checkpoint
from recorder.games import Game


def join(paths: Sequence[Path], out: Path, game: Game) -> tuple[Checkpoint, list[Checkpoint]]:
    """Write the ensemble of the single networks at `paths` (two or more, all trained for `game`
    on the same observations and layers) to `out`: (the ensemble, its members as loaded);
    `CheckpointError` in one line otherwise."""
    paths = [Path(p) for p in paths]
    if not 2 <= len(paths) <= MAX_ENSEMBLE:
        raise CheckpointError(f"an ensemble joins 2 to {MAX_ENSEMBLE} checkpoints, got {len(paths)}"
                              + (": train more with `mimic train --seed S --out DIR`" if len(paths) < 2 else ""))
    resolved = {p.resolve() for p in paths}
    if len(resolved) < len(paths):
        raise CheckpointError("the same checkpoint is named twice: an ensemble's members must be different networks")
    if Path(out).resolve() in resolved:
        raise CheckpointError(f"{out} is one of the members: write the ensemble to another file")
    members = [load_checkpoint(p, game) for p in paths]
    joined = ensemble_of(members)
    joined.meta.update(_split_meta(members))
    started = members[0].meta.get("train")
    if started:  # what DAgger's rounds train on (agent.dagger.round_training reads it)
        joined.meta["train"] = {**started, "ensemble": len(members), "member_batches": "shuffled"}
    save_checkpoint(out, joined.policy, game, joined.obs, meta=joined.meta)
    joined.path = Path(out)
    return joined, members


def _split_meta(members: Sequence[Checkpoint]) -> dict:
    """The members' one split: trained by any, held out only where held out by all."""
    trained = sorted({name for m in members for name in m.meta.get("train_episodes", ())})
    held_out = set.intersection(*(set(m.meta.get("val_episodes", ())) for m in members))
    return {"train_episodes": trained, "val_episodes": sorted(held_out - set(trained))}
