r"""Free-energy profiles :math:`F = -k_B T \ln P`, in kJ/mol, from samples.

Bins without samples get :math:`F = +\infty` (plotted as gaps); the minimum is shifted
to zero.
"""

from __future__ import annotations

import numpy as np

from scoredyn.units import KB_KJ_PER_MOL_K

#: The 2D dihedral binning used throughout: 36 x 36 bins of 10 degrees on [-180, 180)^2.
DIHEDRAL_BINS = 36
DIHEDRAL_RANGE = (-180.0, 180.0)


def free_energy(p: np.ndarray, temperature_K: float) -> np.ndarray:
    """-kT ln p (kJ/mol) of a histogram of any shape, shifted so its minimum is 0."""
    p = np.asarray(p, dtype=float)
    with np.errstate(divide="ignore"):
        f = -KB_KJ_PER_MOL_K * temperature_K * np.log(p / p.sum())
    finite = np.isfinite(f)
    if finite.any():
        f -= f[finite].min()
    return f


def histogram_1d(x: np.ndarray, bins: int, value_range: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Normalised histogram p [bins] (sums to 1) and bin centres [bins]."""
    counts, edges = np.histogram(np.ravel(x), bins=bins, range=value_range)
    return counts / max(counts.sum(), 1), 0.5 * (edges[1:] + edges[:-1])


def dihedral_histogram_2d(phi: np.ndarray, psi: np.ndarray, bins: int = DIHEDRAL_BINS) -> np.ndarray:
    """Normalised 2D histogram [bins, bins] of (phi, psi) in degrees, wrapped into [-180, 180)."""
    wrap = lambda a: np.mod(np.ravel(a) + 180.0, 360.0) - 180.0  # noqa: E731
    counts, _, _ = np.histogram2d(wrap(phi), wrap(psi), bins=bins, range=[DIHEDRAL_RANGE, DIHEDRAL_RANGE])
    return counts / max(counts.sum(), 1)


def free_energy_1d(x: np.ndarray, bins: int, value_range: tuple[float, float], temperature_K: float
                   ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Bin centres and F (kJ/mol) of samples x."""
    p, centres = histogram_1d(x, bins, value_range)
    return centres, free_energy(p, temperature_K)
