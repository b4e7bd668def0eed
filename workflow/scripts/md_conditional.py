"""Gather a state's MD runs into one ensemble file (rule md_conditional)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.conditional import gather_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(sm, gather_stage, [Path(f) for f in sm.input], Path(sm.output.h5), with_config=False)
