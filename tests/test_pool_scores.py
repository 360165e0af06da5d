"""bench/pool_scores.py: pooling evaluations of one policy, and the difference of two."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from agent.evaluate import Scores
from bench.pool_scores import difference, pool

ROOT = Path(__file__).resolve().parent.parent


def summary(scores: np.ndarray) -> tuple[float, float, int]:
    """(mean, ci95, n) as the evaluator prints them."""
    s = Scores("policy", [float(x) for x in scores], [0] * len(scores))
    return s.mean, s.ci95, s.n


def test_pooling_two_evaluations_gives_the_mean_and_interval_of_all_their_games():
    rng = np.random.default_rng(0)
    games = rng.gamma(2.0, 100.0, size=300)  # skewed, as game scores are
    mean, ci, n = pool([summary(games[:100]), summary(games[100:])])
    whole_mean, whole_ci, _ = summary(games)
    assert n == 300
    assert mean == pytest.approx(whole_mean, rel=1e-12)
    assert ci == pytest.approx(whole_ci, rel=1e-9)


def test_the_difference_interval_covers_the_true_difference_about_95_times_in_100():
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(400):  # unequal spreads and sizes: where Welch's interval is the right one
        a = rng.normal(240.0, 160.0, size=100)
        b = rng.normal(200.0, 60.0, size=300)
        diff, ci = difference(summary(a), summary(b))
        assert diff == pytest.approx(a.mean() - b.mean())
        covered += abs(diff - 40.0) <= ci
    assert 0.92 <= covered / 400 <= 0.98


def test_a_difference_of_an_unknown_row_is_one_line_naming_the_rows():
    done = subprocess.run([sys.executable, "bench/pool_scores.py", "DAgger=239.7,30.8,100", "BC=199.8,26.9,100",
                           "--difference", "DAgger", "BC-same"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.splitlines()[-1] == ("pool_scores.py: error: --difference DAgger BC-same: no rows named "
                                            "BC-same; the rows name DAgger, BC")
