"""Train SD's score model (rule train) or the DFF's denoiser (rule train_dff) on the packed pairs."""

from pathlib import Path

from scoredyn.logs import run_rule
from scoredyn.training import train_stage

sm = snakemake  # noqa: F821 - provided by Snakemake
run_rule(
    sm,
    train_stage,
    Path(sm.input.h5),
    workdir=Path(sm.params.workdir),
    outputs={k: Path(sm.output[k]) for k in ("model", "metrics", "figure")},
    threads=sm.threads,
    method={"train": "sd", "train_dff": "dff"}[sm.rule],
)
