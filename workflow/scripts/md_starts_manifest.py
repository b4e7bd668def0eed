"""Tabulate the short runs of one molecule (rule md_starts_manifest)."""

from pathlib import Path

from scoredyn.logs import run_reporting_errors, setup_logging
from scoredyn.md.stages import manifest_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
setup_logging(sm.log[0])
run_reporting_errors(manifest_stage, [Path(f) for f in sm.input], Path(sm.output.csv))
