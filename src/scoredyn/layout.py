"""Where a run's results live: ``results/<run>/`` and the folders under it.

The rules (``common.smk``), ``scoredyn estimate`` and the benches all take their paths from
:class:`Layout`, so that the tree is written down once. A molecule argument may be a
Snakemake wildcard (``"{molecule}"``): the methods only join strings.

::

    results/<run>/
      md/<molecule>/          production.h5/.json, topology/, starts/, conditional_<state>/
      dataset/                dataset.h5, summary.json
      model/                  SD's model.pt, metrics.csv, loss.png (dff/ for the DFF's)
      sd/<molecule>/          production.h5/.json, conditional_<state>.h5, sweep/<solver>/
      dff/<molecule>/         the same for the DFF baseline
      sizes/<size>/           the models and rollouts of evaluation.training_sizes
      evaluation/<molecule>/  figures and tables; evaluation/metrics.json, speed.png
      logs/, benchmarks/      one per job
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: learned method -> the folder of its trained model (the rollouts go to the method's own name)
MODEL_FOLDERS = {"sd": "model", "dff": "dff"}


@dataclass(frozen=True)
class Layout:
    root: Path  # results/<run>

    @classmethod
    def of_run(cls, run: str, base: Path | str = "results") -> Layout:
        return cls(Path(base) / run)

    def md(self, molecule: str) -> Path:
        return self.root / "md" / molecule

    def topology(self, molecule: str) -> Path:
        return self.md(molecule) / "topology"

    def md_production(self, molecule: str, ext: str = "h5") -> Path:
        return self.md(molecule) / f"production.{ext}"

    @property
    def dataset(self) -> Path:
        return self.root / "dataset" / "dataset.h5"

    @property
    def dataset_summary(self) -> Path:
        return self.root / "dataset" / "summary.json"

    def model_dir(self, method: str = "sd") -> Path:
        return self.root / MODEL_FOLDERS[method]

    def model(self, method: str = "sd") -> Path:
        return self.model_dir(method) / "model.pt"

    def rollouts(self, method: str, molecule: str) -> Path:
        """The folder of a learned method's rollouts of one molecule (``sd/<molecule>``)."""
        return self.root / method / molecule

    def rollout_production(self, method: str, molecule: str, ext: str = "h5") -> Path:
        return self.rollouts(method, molecule) / f"production.{ext}"

    def size(self, size: str) -> Path:
        return self.root / "sizes" / size

    def evaluation(self, molecule: str | None = None) -> Path:
        return self.root / "evaluation" if molecule is None else self.root / "evaluation" / molecule

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def benchmarks(self) -> Path:
        return self.root / "benchmarks"
