"""SD (and DFF) against MD on long trajectories: distributions, free energies, kinetics (rule evaluate_equilibrium)."""

from pathlib import Path

from scoredyn.evaluation.stage import evaluate_equilibrium_stage, method_paths
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    evaluate_equilibrium_stage,
    sm.wildcards.molecule,
    trajectories=method_paths({k: getattr(sm.input, k) for k in sm.input.keys()}),
    topdir=Path(sm.input.top).parent,
    outputs={k: Path(sm.output[k]) for k in ("dihedrals", "dihedral_profiles", "bonds", "angles", "fpt", "csv")},
)
