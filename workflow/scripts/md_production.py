"""The long NVT production of one molecule (rule md_production)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import production_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    production_stage,
    sm.wildcards.molecule,
    topdir=Path(sm.input.top).parent,
    box_json=Path(sm.input.box),
    workdir=Path(sm.params.workdir),
    outputs={k: Path(sm.output[k]) for k in ("h5", "pdb", "xtc", "json")},
    threads=sm.threads,
    mdp_dir=Path(sm.params.mdp_dir),
)
