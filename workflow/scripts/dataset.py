"""Pack the training pairs of every training molecule (rule dataset)."""

from pathlib import Path

from scoredyn.data.stage import dataset_stage
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
sources = {m: [Path(p) for p in sm.input[f"mol{k}"]] for k, m in enumerate(sm.params.molecules)}
run_rule(sm, dataset_stage, sources, Path(sm.output.h5), Path(sm.output.json))
