"""One short NVT run from a diverse starting structure (rule md_start)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import start_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    start_stage,
    sm.wildcards.molecule,
    int(sm.wildcards.index),
    topdir=Path(sm.input.top).parent,
    box_json=Path(sm.input.box),
    workdir=Path(sm.params.workdir),
    out_h5=Path(sm.output.h5),
    mdp_dir=Path(sm.params.mdp_dir),
    hot_h5=Path(sm.input.hot) if "hot" in sm.input.keys() else None,
    threads=sm.threads,
)
