r"""Distances between distributions, reported beside the noise floor of the reference.

The Jensen-Shannon divergence uses natural logarithms, so it lies in [0, ln 2]:

.. math::  \mathrm{JSD}(P, Q) = \tfrac12 \sum_i P_i \ln\frac{P_i}{M_i} + \tfrac12 \sum_i Q_i \ln\frac{Q_i}{M_i},
           \qquad M = \tfrac12 (P + Q).

A JSD between SD and MD only means something next to the JSD that MD's own sampling
noise produces: :func:`split_half_floor` compares the two halves of the reference
trajectory, binned the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy import stats


def jsd(p: np.ndarray, q: np.ndarray) -> float:
    """Jensen-Shannon divergence (nats) of two histograms of the same shape (normalised here)."""
    p = np.asarray(p, dtype=float).ravel()
    q = np.asarray(q, dtype=float).ravel()
    if p.shape != q.shape:
        raise ValueError(f"histograms differ in shape: {p.shape} and {q.shape}")
    p, q = p / p.sum(), q / q.sum()
    m = 0.5 * (p + q)

    def kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * kl(p) + 0.5 * kl(q)


def split_half_floor(samples: np.ndarray, histogram: Callable[[np.ndarray], np.ndarray]) -> float:
    """JSD between the first and second half of ``samples`` (first axis is time), histogrammed alike."""
    half = len(samples) // 2
    return jsd(histogram(samples[:half]), histogram(samples[half : 2 * half]))


def wasserstein_1d(a: np.ndarray, b: np.ndarray) -> float:
    """Earth mover's distance between two 1D samples, in their unit."""
    return float(stats.wasserstein_distance(np.ravel(a), np.ravel(b)))
