"""Choose the cubic box that holds the configured number of waters (rule md_box)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import box_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(sm, box_stage, Path(sm.input.top).parent, Path(sm.output.box))
