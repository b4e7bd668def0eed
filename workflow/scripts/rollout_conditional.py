"""SD or DFF replicas from the fixed start of one state (rules sd_conditional and dff_conditional)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.rollout.stage import conditional_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    conditional_stage,
    sm.wildcards.molecule,
    sm.wildcards.state,
    model=Path(sm.input.model),
    start_h5=Path(sm.input.start),
    topdir=Path(sm.input.top).parent,
    workdir=Path(sm.params.workdir),
    outputs={k: Path(sm.output[k]) for k in ("h5", "json")},
    threads=sm.threads,
    method=sm.params.method,
)
