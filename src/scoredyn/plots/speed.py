"""Throughput and stability bars (paper Fig. 5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes


def bars(labels: Sequence[str], values: Sequence[float], colors: Sequence[str], ax: Axes, xlabel: str,
         log: bool = True, fmt: str = "{:.3g}", notes: Sequence[str] | None = None) -> Axes:  # fmt: skip
    """Horizontal bars, one per label, each annotated with its value and its entry of ``notes``."""
    y = np.arange(len(labels))
    vals = np.asarray(values, dtype=float)
    shown = np.where(np.isfinite(vals), vals, 0.0)
    ax.barh(y, shown, color=list(colors))
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    if log and (shown > 0).any():
        ax.set_xscale("log")
        ax.set_xlim(shown[shown > 0].min() / 3, shown.max() * (30 if notes else 8))  # room for the text
    else:
        ax.set_xlim(0, max(shown.max() * 1.4, 1.0))
    for k, v in enumerate(vals):
        text = " " + (fmt.format(v) if np.isfinite(v) else "n/a") + (f" {notes[k]}" if notes and notes[k] else "")
        ax.text(shown[k] if shown[k] > 0 else ax.get_xlim()[0], k, text, va="center", fontsize=7)
    ax.set_xlabel(xlabel)
    return ax
