"""Accuracy against cost of the swept solver settings (rule evaluate_sweep)."""

from pathlib import Path

from scoredyn.evaluation.stage import evaluate_sweep_stage
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    evaluate_sweep_stage,
    sm.wildcards.molecule,
    md_h5=Path(sm.input.md),
    runs={s: (Path(h5), Path(js)) for s, h5, js in zip(sm.params.solvers, sm.input.h5, sm.input.json, strict=True)},
    topdir=Path(sm.input.top).parent,
    outputs={k: Path(sm.output[k]) for k in ("figure", "csv")},
)
