"""Dihedral plots: Ramachandran scatter, free-energy contours, 1D profiles."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.contour import QuadContourSet
from matplotlib.patches import Rectangle

from scoredyn.plots.style import greek


def dihedral_axes(ax: Axes, names: tuple[str, str]) -> Axes:
    """A [-180, 180]^2 square with ticks every 90 degrees."""
    ax.set_xlim(-180, 180)
    ax.set_ylim(-180, 180)
    ax.set_xticks(np.arange(-180, 181, 90))
    ax.set_yticks(np.arange(-180, 181, 90))
    ax.set_aspect("equal")
    ax.set_xlabel(f"{greek(names[0])} (°)")
    ax.set_ylabel(f"{greek(names[1])} (°)")
    return ax


def ramachandran_scatter(x: np.ndarray, y: np.ndarray, ax: Axes, color: str, names: tuple[str, str],
                         max_points: int = 20_000, size: float = 1.0, seed: int = 0, edge: str | None = None
                         ) -> Axes:  # fmt: skip
    """Scatter of (x, y) dihedral pairs in degrees (an even random subset above ``max_points``);
    ``edge`` outlines each point (for points drawn over filled contours)."""
    x, y = np.ravel(x), np.ravel(y)
    if len(x) > max_points:
        keep = np.random.default_rng(seed).choice(len(x), max_points, replace=False)
        x, y = x[keep], y[keep]
    ax.scatter(x, y, s=size, color=color, alpha=0.5 if len(x) > 2000 else 0.9, rasterized=True,
               edgecolors=edge or "none", linewidths=0.4 if edge else 0)  # fmt: skip
    return dihedral_axes(ax, names)


def free_energy_contours(centres: np.ndarray, f: np.ndarray, ax: Axes, levels: np.ndarray,
                         names: tuple[str, str], cmap: str = "viridis") -> QuadContourSet:  # fmt: skip
    """Filled contours of F [i = x bin, j = y bin] in kJ/mol; bins above the top level stay blank."""
    shown = np.where(np.isfinite(f) & (f <= levels[-1]), f, np.nan)
    mappable = ax.contourf(centres, centres, shown.T, levels=levels, cmap=cmap)
    ax.contour(centres, centres, shown.T, levels=levels, colors="k", linewidths=0.3, alpha=0.5)
    dihedral_axes(ax, names)
    return mappable


def label_states(ax: Axes, centres: dict[str, tuple[float, float]]) -> Axes:
    """Write each state's name at its centre."""
    for name, (cx, cy) in centres.items():
        ax.annotate(greek(name), (cx, cy), ha="center", va="center", fontsize=11, fontweight="bold", color="k",
                    bbox={"boxstyle": "round,pad=0.1", "fc": "w", "ec": "none", "alpha": 0.6})  # fmt: skip
    return ax


def wrapped(lo: float, hi: float) -> list[tuple[float, float]]:
    """An interval of a periodic angle (degrees, possibly past +-180) as pieces inside [-180, 180]."""
    lo, hi = float(lo), float(hi)
    if hi - lo >= 360.0:
        return [(-180.0, 180.0)]
    shift = 360.0 * np.floor((lo + 180.0) / 360.0)
    lo, hi = lo - shift, hi - shift  # lo in [-180, 180)
    return [(lo, min(hi, 180.0))] + ([(-180.0, hi - 360.0)] if hi > 180.0 else [])


def core_boxes(ax: Axes, cores: dict[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]]) -> Axes:
    """Outline each state's core set, given as (x intervals, y intervals) in degrees, with dashed boxes."""
    for x_ranges, y_ranges in cores.values():
        for xr in x_ranges:
            for yr in y_ranges:
                for x0, x1 in wrapped(*xr):
                    for y0, y1 in wrapped(*yr):
                        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, ec="k", lw=0.8, ls="--"))
    return ax


def core_spans(ax: Axes, cores: dict[str, list[tuple[float, float]]]) -> Axes:
    """Shade each state's core intervals (degrees) of a 1D dihedral, named at the top of the panel."""
    for name, ranges in cores.items():
        for r in ranges:
            for x0, x1 in wrapped(*r):
                ax.axvspan(x0, x1, color="0.85", alpha=0.5, lw=0, zorder=0)
                ax.text(0.5 * (x0 + x1), 0.98, greek(name), transform=ax.get_xaxis_transform(), ha="center",
                        va="top", fontsize=7)  # fmt: skip
    return ax


def profile(centres: np.ndarray, f: np.ndarray, ax: Axes, color: str, label: str, xlabel: str) -> Axes:
    """A 1D free-energy profile in kJ/mol (gaps where nothing was sampled)."""
    ax.plot(centres, np.where(np.isfinite(f), f, np.nan), color=color, label=label, lw=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("F (kJ/mol)")
    return ax
