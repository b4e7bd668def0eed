"""The conditional ensembles whose speed the evaluation reports, as typed records.

The rule ``evaluate_speed`` takes its inputs from :func:`ensemble_runs` and hands the same
records to :func:`scoredyn.evaluation.stage.evaluate_speed_stage`, so the files an
ensemble wrote are named once, from :class:`scoredyn.layout.Layout`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from scoredyn.evaluation.metrics import REFERENCE
from scoredyn.layout import Layout


@dataclass(frozen=True)
class EnsembleRun:
    """One conditional ensemble of one molecule from one state's fixed start, by one method."""

    molecule: str
    state: str
    method: str  # "SD", "DFF" or REFERENCE ("MD")
    runs: int  # a learned method's replicas (one batched job) or MD's runs (one job each)
    ps: float  # simulated per run
    output: Path  # the ensemble .h5 [R, T, N, 3]; MD's records its runs' mean ns/day
    bench: tuple[Path, ...]  # the Snakemake benchmark files: the one job, or one per MD run
    summary: Path | None = None  # a learned method's rollout summary (.json); its wall_s spans resumed sessions

    @property
    def is_md(self) -> bool:
        return self.method == REFERENCE

    @property
    def rule(self) -> str:
        """The rule whose outputs these are, to name in an error."""
        return "md_conditional_run" if self.is_md else f"{self.method.lower()}_conditional"


def ensemble_runs(
    layout: Layout, states: dict[str, list[str]], learned: list[str], replicas: int, md_runs: int, ps: float
) -> list[EnsembleRun]:
    """Every (molecule, state, method) ensemble: ``states`` maps each evaluated molecule to its
    conditional states, ``learned`` lists the learned methods (``sd``, ``dff``) with ``replicas``
    each, and ``md_runs`` MD runs per state (none when 0), all of ``ps`` each."""
    out = []
    for m, names in states.items():
        for s in names:
            for method in learned:
                where = layout.rollouts(method, m)
                bench = layout.benchmarks / method / m / f"conditional_{s}.tsv"
                out.append(EnsembleRun(m, s, method.upper(), replicas, ps, where / f"conditional_{s}.h5", (bench,),
                                       where / f"conditional_{s}.json"))  # fmt: skip
            if md_runs > 0:
                bench = tuple(layout.benchmarks / "md" / m / f"conditional_{s}" / f"run_{i:04d}.tsv"
                              for i in range(md_runs))  # fmt: skip
                out.append(EnsembleRun(m, s, REFERENCE, md_runs, ps, layout.md(m) / f"conditional_{s}.h5", bench))
    return out
