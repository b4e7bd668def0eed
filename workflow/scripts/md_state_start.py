"""The fixed start of one named state, picked from the production (rule md_state_start)."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.md.stages import state_start_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    state_start_stage,
    sm.wildcards.molecule,
    sm.wildcards.state,
    production_h5=Path(sm.input.h5),
    topdir=Path(sm.input.top).parent,
    outputs={k: Path(sm.output[k]) for k in ("h5", "gro")},
)
