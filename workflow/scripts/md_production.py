"""The long NVT production of one molecule (rule md_production)."""

from pathlib import Path

from scoredyn.config import load_config
from scoredyn.logs import run_reporting_errors, setup_logging
from scoredyn.md.stages import production_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
setup_logging(sm.log[0])
cfg = load_config(sm.config, check_molecules=False)
run_reporting_errors(
    production_stage,
    cfg,
    sm.wildcards.molecule,
    topdir=Path(sm.input.top).parent,
    box_json=Path(sm.input.box),
    workdir=Path(sm.params.workdir),
    outputs={k: Path(sm.output[k]) for k in ("h5", "pdb", "xtc", "json")},
    threads=sm.threads,
    mdp_dir=Path(sm.params.mdp_dir),
    log_file=Path(sm.log[0]),
)
