r"""Core-set states, first-passage times and populations.

A frame belongs to the state whose core it entered last (Buchete and Hummer 2008):
crossing the barrier and coming back without reaching the other core is not a
transition. A first passage from A to B starts when the trajectory enters A's core
(coming from B, or at its first visit) and ends when it first enters B's core. A
trajectory that begins inside A does not say when it entered A, so that first dwell is
not counted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

UNASSIGNED = -1


def core_assignment(in_core: np.ndarray) -> np.ndarray:
    """Last-visited core of each frame.

    Parameters
    ----------
    in_core : [T, S] bool, whether frame t lies in the core of state s (cores are disjoint)

    Returns
    -------
    [T] int, the state index, or -1 before the first core is reached
    """
    in_core = np.asarray(in_core, dtype=bool)
    if in_core.shape[1] == 0:  # a molecule without named states (ethane)
        return np.full(len(in_core), UNASSIGNED)
    if (in_core.sum(axis=1) > 1).any():
        raise ValueError("core sets overlap: a frame lies in two cores")
    hit = np.where(in_core.any(axis=1), in_core.argmax(axis=1), UNASSIGNED)
    idx = np.where(hit != UNASSIGNED, np.arange(len(hit)), -1)
    last = np.maximum.accumulate(idx)  # index of the last frame inside any core
    return np.where(last >= 0, hit[np.maximum(last, 0)], UNASSIGNED)


def first_passage_times(assignment: np.ndarray, a: int, b: int, dt: float) -> np.ndarray:
    """Times (in dt's unit) of every completed passage from core ``a`` to core ``b``."""
    s = np.asarray(assignment)
    change = np.flatnonzero(s[1:] != s[:-1]) + 1  # frames where a new state begins
    starts = np.concatenate([[0], change])
    labels = s[starts]
    out = []
    for k in range(len(starts) - 1):
        if labels[k] == a and labels[k + 1] == b and starts[k] > 0:
            out.append((starts[k + 1] - starts[k]) * dt)
    return np.asarray(out, dtype=float)


@dataclass(frozen=True)
class MeanWithInterval:
    """A mean and its bootstrap confidence interval; n is the number of samples."""

    mean: float
    low: float
    high: float
    n: int


def bootstrap_mean(values: np.ndarray, n_boot: int = 2000, level: float = 0.95, seed: int = 0) -> MeanWithInterval:
    """Mean of ``values`` with a percentile bootstrap interval (NaN when empty)."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return MeanWithInterval(float("nan"), float("nan"), float("nan"), 0)
    rng = np.random.default_rng(seed)
    means = rng.choice(values, size=(n_boot, len(values)), replace=True).mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return MeanWithInterval(float(values.mean()), float(lo), float(hi), len(values))


def populations(assignment: np.ndarray, n_states: int) -> np.ndarray:
    """Fraction [S] of assigned frames in each state."""
    s = np.asarray(assignment)
    s = s[s != UNASSIGNED]
    return np.bincount(s, minlength=n_states) / max(len(s), 1)
