"""High-temperature vacuum sampling of one molecule (rule md_vacuum_hot)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import vacuum_hot_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    vacuum_hot_stage,
    sm.wildcards.molecule,
    topdir=Path(sm.input.top).parent,
    workdir=Path(sm.params.workdir),
    out_h5=Path(sm.output.h5),
    mdp_dir=Path(sm.params.mdp_dir),
)
