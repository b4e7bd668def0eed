"""One MD run with new velocities from a prepared state start (rule md_conditional_run)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.conditional import conditional_run_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    conditional_run_stage,
    sm.wildcards.molecule,
    sm.wildcards.state,
    int(sm.wildcards.index),
    topdir=Path(sm.input.top).parent,
    prepared_gro=Path(sm.input.gro),
    workdir=Path(sm.params.workdir),
    out_h5=Path(sm.output.h5),
    mdp_dir=Path(sm.params.mdp_dir),
    threads=sm.threads,
)
