"""High-temperature vacuum sampling of one molecule (rule md_vacuum_hot)."""

from pathlib import Path

from scoredyn.config import load_config
from scoredyn.logs import run_reporting_errors, setup_logging
from scoredyn.md.stages import vacuum_hot_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
setup_logging(sm.log[0])
cfg = load_config(sm.config, check_molecules=False)
run_reporting_errors(
    vacuum_hot_stage,
    cfg,
    sm.wildcards.molecule,
    topdir=Path(sm.input.top).parent,
    workdir=Path(sm.params.workdir),
    out_h5=Path(sm.output.h5),
    mdp_dir=Path(sm.params.mdp_dir),
    log_file=Path(sm.log[0]),
)
