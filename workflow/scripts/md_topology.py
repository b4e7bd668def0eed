"""Build the solute topology of one molecule (rule md_topology)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import topology_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(sm, topology_stage, sm.wildcards.molecule, Path(sm.output.top).parent)
