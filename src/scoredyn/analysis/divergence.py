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


def wasserstein_circular(a: np.ndarray, b: np.ndarray, period: float = 360.0) -> float:
    r"""Earth mover's distance between two samples of a periodic variable (e.g. a dihedral).

    On a circle :math:`W_1 = \min_c \int_0^L |F_a(x) - F_b(x) - c|\,dx`, minimised by
    the weighted median of :math:`F_a - F_b` (Rabin, Delon and Gousseau 2011), so mass
    may travel either way round and the seam at +-180 degrees costs nothing.
    """
    a = np.sort(np.mod(np.ravel(a), period))
    b = np.sort(np.mod(np.ravel(b), period))
    if not len(a) or not len(b):
        return float("nan")
    x = np.concatenate([a, b])
    x.sort()
    diff = np.searchsorted(a, x, side="right") / len(a) - np.searchsorted(b, x, side="right") / len(b)
    widths = np.diff(np.append(x, x[0] + period))  # the last interval wraps round
    order = np.argsort(diff)
    cum = np.cumsum(widths[order])
    c = diff[order][np.searchsorted(cum, 0.5 * cum[-1])]
    return float(np.sum(widths * np.abs(diff - c)))
