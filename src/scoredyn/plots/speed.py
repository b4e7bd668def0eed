"""Throughput and stability bars (paper Fig. 5)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator


def compact(value: float, _pos: object = None) -> str:
    """A tick label that stays short: 120000 -> 120k, 2500000 -> 2.5M, 0.25 -> 0.25."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            return f"{value / size:.3g}{suffix}"
    return f"{value:.3g}"


def bars(labels: Sequence[str], values: Sequence[float], colors: Sequence[str], ax: Axes, xlabel: str,
         log: bool = True, fmt: str | None = None, notes: Sequence[str] | None = None) -> Axes:  # fmt: skip
    """Horizontal bars, one per label, each annotated with its value (``fmt``, or :func:`compact`)
    and its entry of ``notes``."""
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
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(FuncFormatter(compact))
    for k, v in enumerate(vals):
        value = (fmt.format(v) if fmt else compact(v)) if np.isfinite(v) else "n/a"
        text = " " + value + (f" {notes[k]}" if notes and notes[k] else "")
        ax.text(shown[k] if shown[k] > 0 else ax.get_xlim()[0], k, text, va="center", fontsize=7)
    ax.set_xlabel(xlabel)
    return ax
