"""The accuracy of SD against the size of its training set (rule evaluate_sizes, paper Fig. 4a)."""

from pathlib import Path

from scoredyn.evaluation.stage import evaluate_sizes_stage
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    evaluate_sizes_stage,
    sm.wildcards.molecule,
    md_h5=Path(sm.input.md),
    runs={float(s): Path(h5) for s, h5 in zip(sm.params.sizes, sm.input.h5, strict=True)},
    dataset_h5=Path(sm.input.dataset),
    topdir=Path(sm.input.top).parent,
    outputs={k: Path(sm.output[k]) for k in ("figure", "csv")},
)
