"""Simulated ns per day of SD and MD from the benchmark files, and SD stability (rule evaluate_speed)."""

from pathlib import Path

from scoredyn.evaluation.stage import evaluate_speed_stage
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    evaluate_speed_stage,
    list(sm.params.molecules),
    md={"json": [Path(f) for f in sm.input.md_json], "bench": [Path(f) for f in sm.input.md_bench]},
    sd={"json": [Path(f) for f in sm.input.sd_json], "bench": [Path(f) for f in sm.input.sd_bench]},
    ensembles=list(sm.params.ensembles),
    threads=dict(sm.params.threads),
    outputs={k: Path(sm.output[k]) for k in ("figure", "csv")},
)
