"""One short NVT run from a diverse starting structure (rule md_start)."""

from pathlib import Path

from scoredyn.config import load_config
from scoredyn.logs import run_reporting_errors, setup_logging
from scoredyn.md.stages import start_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
setup_logging(sm.log[0])
cfg = load_config(sm.config, check_molecules=False)
run_reporting_errors(
    start_stage,
    cfg,
    sm.wildcards.molecule,
    int(sm.wildcards.index),
    topdir=Path(sm.input.top).parent,
    box_json=Path(sm.input.box),
    workdir=Path(sm.params.workdir),
    out_h5=Path(sm.output.h5),
    mdp_dir=Path(sm.params.mdp_dir),
    hot_h5=Path(sm.input.hot) if "hot" in sm.input.keys() else None,
    log_file=Path(sm.log[0]),
)
