"""The metrics a training run writes beside its model (``metrics.csv``), as a typed record that
the loss figure and ``scoredyn estimate`` read.

The file stays a CSV, one row per validation point, so that it opens in a spreadsheet: the
columns are ``step``, ``train_loss``, ``samples_per_s``, the validation losses (``val_loss``
and one ``val_loss..._tau_LO_HI`` per noise-level bucket, absent without validation data) and
``device``, the same in every row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scoredyn.errors import ScoredynError
from scoredyn.io import write_csv


@dataclass(frozen=True)
class TrainingPoint:
    """One validation point: the mean training loss since the last point, the throughput
    (noisy structures per second) over that stretch, and the EMA model's validation losses."""

    step: int
    train_loss: float
    samples_per_s: float
    val: dict[str, float] = field(default_factory=dict)  # column name -> loss

    def to_dict(self) -> dict[str, float]:
        """The CSV row (and the checkpoint's record of it)."""
        return {"step": self.step, "train_loss": self.train_loss, "samples_per_s": self.samples_per_s, **self.val}

    @classmethod
    def from_dict(cls, row: dict[str, float]) -> TrainingPoint:
        val = {k: float(v) for k, v in row.items() if k.startswith("val_loss")}
        return cls(int(row["step"]), float(row["train_loss"]), float(row["samples_per_s"]), val)


@dataclass(frozen=True)
class TrainingMetrics:
    points: tuple[TrainingPoint, ...]
    device: str  # of the session that finished training ("cpu", "cuda"): what estimate rates

    @property
    def steps(self) -> int:
        return self.points[-1].step if self.points else 0

    @property
    def samples_per_s(self) -> float:
        """The throughput of the last stretch of training (after any warm-up and compilation)."""
        rates = [p.samples_per_s for p in self.points if math.isfinite(p.samples_per_s) and p.samples_per_s > 0]
        if not rates:
            raise ScoredynError("no training throughput was measured (a run shorter than one validation interval)")
        return rates[-1]

    @property
    def val_loss(self) -> float | None:
        """The last validation loss, None without validation data."""
        last = self.points[-1].val.get("val_loss") if self.points else None
        return None if last is None or not math.isfinite(last) else last

    def frame(self) -> pd.DataFrame:
        """The table of ``metrics.csv``."""
        df = pd.DataFrame([p.to_dict() for p in self.points])
        df["device"] = self.device
        return df

    def write(self, path: Path | str) -> None:
        write_csv(self.frame(), path)

    @classmethod
    def from_csv(cls, path: Path | str) -> TrainingMetrics:
        """The metrics in ``path``.

        Raises
        ------
        ScoredynError
            For a missing or unreadable file, or one without the columns above, naming the
            rule to rerun.
        """
        try:
            df = pd.read_csv(path)
            device = str(df["device"].iloc[-1]) if "device" in df and len(df) else "unknown"
            rows = df.drop(columns=["device"], errors="ignore").to_dict("records")
            points = tuple(TrainingPoint.from_dict(r) for r in rows)
        except FileNotFoundError:
            raise ScoredynError(f"{path}: missing; run the training rule (snakemake --cores N) first") from None
        except (OSError, ValueError, KeyError) as exc:
            raise ScoredynError(f"{path}: not a readable training metrics table ({exc}); rerun its training") from None
        if not points:
            raise ScoredynError(f"{path}: no training steps recorded; rerun its training")
        return cls(points, device)
