"""DAgger bookkeeping: the beta schedule, one summary per finished round, resume, the plot.

A round lives in `data/<game>/dagger/round-NNN/`: the labelled rollout episodes (store format,
the action executed and the expert's label both kept) and, once the round has retrained and
evaluated, `round.json`. A round folder without `round.json` is unfinished; a re-run keeps the
episodes it already holds and carries on from there.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from recorder.store import atomic_write

ROUND_FILE = "round.json"


def beta_for_round(round_index: int, beta0: float = 0.5) -> float:
    """Probability that the expert's action is executed in round `round_index` (1-based).

    Halves every round: 0.5, 0.25, 0.125, ... With beta0 = 0 the policy always acts
    (pure DAgger after round 1); beta0 = 1 starts with the expert in control.
    """
    if round_index < 1:
        raise ValueError(f"rounds count from 1, got {round_index}")
    if not 0.0 <= beta0 <= 1.0:
        raise ValueError(f"beta0 must be within [0, 1], got {beta0}")
    return beta0 * 0.5 ** (round_index - 1)


@dataclass(frozen=True)
class RoundResult:
    """What one DAgger round did and reached; saved as round-NNN/round.json."""

    round: int
    beta: float
    new_labels: int
    total_labels: int
    val_accuracy: float
    score_mean: float
    score_ci95: float | None  # None with a single evaluation episode
    episodes: int
    checkpoint: str
    seconds: float

    def save(self, folder: Path) -> Path:
        text = json.dumps(asdict(self), indent=2).encode()
        return atomic_write(folder / ROUND_FILE, lambda handle: handle.write(text))

    @classmethod
    def load(cls, folder: Path) -> RoundResult:
        return cls(**json.loads((folder / ROUND_FILE).read_text()))


def finished_rounds(dagger_dir: Path, warn: Callable[[str], None] | None = None) -> list[RoundResult]:
    """The rounds that finished (have a readable round.json), in order; stops at the first gap. A round.json
    that cannot be read makes its round unfinished (a re-run keeps the round's rollouts and redoes its
    training and evaluation); `warn` hears one line about it."""
    results: list[RoundResult] = []
    index = 1
    while (path := dagger_dir / f"round-{index:03d}" / ROUND_FILE).is_file():
        try:
            results.append(RoundResult.load(path.parent))
        except (OSError, UnicodeDecodeError, ValueError, TypeError) as exc:  # JSON errors are ValueErrors
            if warn is not None:
                warn(f"{path} is damaged ({type(exc).__name__}); round {index} counts as unfinished: its rollouts "
                     "are kept, its training and evaluation run again")
            break
        index += 1
    return results


def plot_rounds(
    results: list[RoundResult],
    path: Path,
    *,
    game: str,
    expert_score: float | None = None,
    bc_score: float | None = None,
) -> Path:
    """PNG: score (with its 95% interval) against the labels used, per round."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=120)
    labels = [r.total_labels for r in results]
    scores = [r.score_mean for r in results]
    ax.errorbar(labels, scores, yerr=[r.score_ci95 or 0.0 for r in results], marker="o", capsize=4, label="DAgger")
    for r in results:
        ax.annotate(f"round {r.round}", (r.total_labels, r.score_mean), textcoords="offset points", xytext=(4, 6),
                    fontsize=8)
    if expert_score is not None:
        ax.axhline(expert_score, color="tab:green", linestyle="--", label=f"expert demonstrations ({expert_score:,.0f})")
    if bc_score is not None:
        ax.axhline(bc_score, color="tab:orange", linestyle=":", label=f"BC before DAgger ({bc_score:,.0f})")
    ax.set_xlabel("expert labels in the training set")
    ax.set_ylabel("mean score (eval protocol)")
    ax.set_title(f"{game}: DAgger score per round")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    try:
        atomic_write(path, lambda handle: fig.savefig(handle, format="png"))
    finally:
        plt.close(fig)
    return path


def rounds_table(results: list[RoundResult], *, game: str):
    """A Rich table of the finished rounds, one row each, with a caption saying what the columns count."""
    from rich import box
    from rich.table import Table

    table = Table(title=f"{game}: DAgger rounds", title_justify="left", box=box.SIMPLE_HEAD, caption_justify="left",
                  caption="+labels: labelled decisions the round added; labels: all in the training set; "
                          "score: mean over `evals` evaluation episodes")
    for column in ("round", "beta", "+labels", "labels", "val acc", "score", "±95%", "evals", "time"):
        table.add_column(column, justify="right", no_wrap=True)
    for r in results:
        table.add_row(str(r.round), f"{r.beta:.3g}", f"{r.new_labels:,}", f"{r.total_labels:,}", f"{r.val_accuracy:.1%}",
                      f"{r.score_mean:,.1f}", "-" if r.score_ci95 is None else f"{r.score_ci95:,.1f}", str(r.episodes),
                      f"{r.seconds:.0f} s")
    return table


def plus_minus(mean: float, ci95: float | None) -> str:
    """A score as "mean ± 95% interval", the mean alone when there is no interval."""
    return f"{mean:,.1f}" if ci95 is None else f"{mean:,.1f} ± {ci95:,.1f}"


def round_line(r: RoundResult) -> str:
    """One line (Rich markup) for a finished round: labels added and in all, validation accuracy, score, time."""
    return (f"[bold]round {r.round}[/]: +{r.new_labels:,} labels (total {r.total_labels:,}), val acc "
            f"{r.val_accuracy:.1%}, score {plus_minus(r.score_mean, r.score_ci95)} over {r.episodes} episodes, "
            f"{r.seconds:.0f} s")
