"""Build the solute topology of one molecule (rule md_topology)."""

from pathlib import Path

from scoredyn.config import load_config
from scoredyn.logs import run_reporting_errors, setup_logging
from scoredyn.md.stages import topology_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
setup_logging(sm.log[0])
cfg = load_config(sm.config, check_molecules=False)
run_reporting_errors(topology_stage, cfg, sm.wildcards.molecule, Path(sm.output.top).parent, Path(sm.log[0]))
