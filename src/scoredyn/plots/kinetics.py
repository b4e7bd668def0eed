"""First-passage time histograms."""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes

from scoredyn.plots.style import method_color


def fpt_histogram(samples: dict[str, np.ndarray], means: dict[str, tuple[float, float, float]], ax: Axes,
                  title: str, bins: int = 20, spans: dict[str, str] | None = None) -> Axes:  # fmt: skip
    """Histograms (density, shared bins) of first-passage times (ps) per method, the mean
    marked by a vertical line and its bootstrap interval by a band. Without a single passage
    the panel says so, with each method's trajectory length from ``spans``, and draws no axes."""
    pooled = np.concatenate([np.ravel(s) for s in samples.values()] or [np.zeros(0)])
    if not len(pooled):
        seen = ", ".join(f"{m} {spans[m]}" for m in samples if spans and m in spans) or "these trajectories"
        ax.text(0.5, 0.5, f"no transition seen\nin {seen}", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        ax.set_title(title)
        return ax
    edges = np.histogram_bin_edges(pooled, bins=bins) if len(pooled) else np.linspace(0, 1, bins + 1)
    for method, s in samples.items():
        color = method_color(method)
        mean, low, high = means[method]
        label = f"{method}: n = {len(s)}" + (f", mean {mean:.0f} ps [{low:.0f}, {high:.0f}]" if len(s) else "")
        if len(s):
            ax.hist(s, bins=edges, density=True, histtype="stepfilled", alpha=0.25, color=color)
            ax.hist(s, bins=edges, density=True, histtype="step", color=color, lw=1.5, label=label)
            ax.axvline(mean, color=color, ls="--", lw=1.2)
            ax.axvspan(low, high, color=color, alpha=0.08)
        else:
            ax.plot([], [], color=color, label=label)
    ax.set_xlabel("first-passage time (ps)")
    ax.set_ylabel("density (1/ps)")
    ax.set_title(title)
    ax.set_ylim(0, ax.get_ylim()[1] * 1.45)  # headroom: the legend sits above the tallest bar
    ax.legend(fontsize=7, frameon=False, loc="upper right")
    return ax
