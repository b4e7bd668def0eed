"""Gather every evaluation rule's metric rows into metrics.csv and metrics.json (rule metrics)."""

from pathlib import Path

from scoredyn.evaluation.stage import metrics_stage
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    metrics_stage,
    [Path(f) for f in sm.input],
    outputs={k: Path(sm.output[k]) for k in ("json", "csv")},
    with_config=False,
)
