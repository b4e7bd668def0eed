"""Tabulate the short runs of one molecule (rule md_starts_manifest)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import manifest_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(sm, manifest_stage, [Path(f) for f in sm.input], Path(sm.output.csv), with_config=False)
