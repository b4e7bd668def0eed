"""Solvate a state's fixed start and equilibrate its water (rule md_conditional_prepare)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.conditional import conditional_prepare_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    conditional_prepare_stage,
    sm.wildcards.molecule,
    sm.wildcards.state,
    topdir=Path(sm.input.top).parent,
    box_json=Path(sm.input.box),
    start_gro=Path(sm.input.start),
    workdir=Path(sm.params.workdir),
    outputs={k: Path(sm.output[k]) for k in ("gro", "top")},
    mdp_dir=Path(sm.params.mdp_dir),
    threads=sm.threads,
)
