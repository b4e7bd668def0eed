"""Choose the cubic box that holds the configured number of waters (rule md_box)."""

from pathlib import Path

from scoredyn.config import load_config
from scoredyn.logs import run_reporting_errors, setup_logging
from scoredyn.md.stages import box_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
setup_logging(sm.log[0])
cfg = load_config(sm.config, check_molecules=False)
run_reporting_errors(box_stage, cfg, Path(sm.input.top).parent, Path(sm.output.box), Path(sm.log[0]))
