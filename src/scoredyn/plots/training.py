"""The loss curve of a training run."""

from __future__ import annotations

import pandas as pd
from matplotlib.axes import Axes


def loss_curve(metrics: pd.DataFrame, ax: Axes) -> Axes:
    """Training and validation loss (SD's DSM or the DFF's denoising loss) against step,
    per-tau-bucket validation losses faint, and the loss of predicting zero noise (1.0)."""
    ax.plot(metrics["step"], metrics["train_loss"], label="training", color="C0", lw=2)
    if "val_loss" in metrics:
        ax.plot(metrics["step"], metrics["val_loss"], label="validation (EMA)", color="C1", lw=2)
    buckets = [c for c in metrics.columns if c.startswith("val_loss_tau_")]
    for k, col in enumerate(buckets):
        lo, hi = col.removeprefix("val_loss_tau_").split("_")
        ax.plot(metrics["step"], metrics[col], lw=1, alpha=0.6, color=f"C{k + 2}", ls="--",
                label=f"validation, {lo} <= tau < {hi}")  # fmt: skip
    ax.axhline(1.0, color="0.4", lw=1, ls=":", label="zero-noise prediction")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss (mean squared noise error)")
    ax.set_yscale("log")
    ax.legend(fontsize=7, frameon=False)
    return ax
