"""SD (and DFF) against MD on P(X_t | X_0) from the fixed start of one state (rule evaluate_conditional)."""

from pathlib import Path

from scoredyn.evaluation.stage import evaluate_conditional_stage, method_paths
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    evaluate_conditional_stage,
    sm.wildcards.molecule,
    sm.wildcards.state,
    ensembles=method_paths({k: getattr(sm.input, k) for k in sm.input.keys()}),
    topdir=Path(sm.input.top).parent,
    outputs={k: Path(sm.output[k]) for k in ("figure", "csv")},
)
