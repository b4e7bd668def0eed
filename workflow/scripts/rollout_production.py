"""One long SD or DFF trajectory of one molecule (rules sd_production, sd_sweep, sd_size and
dff_production; the rule's params say which method)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.rollout.stage import production_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    production_stage,
    sm.wildcards.molecule,
    model=Path(sm.input.model),
    production_h5=Path(sm.input.h5),
    topdir=Path(sm.input.top).parent,
    workdir=Path(sm.params.workdir),
    outputs={k: Path(sm.output[k]) for k in ("h5", "pdb", "xtc", "json")},
    threads=sm.threads,
    solver=sm.params.solver,  # None for the DFF
    time_ns=sm.params.time_ns,
    method=sm.params.method,
)
