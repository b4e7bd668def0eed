"""Train SD's score model (rules train and train_size) or the DFF's denoiser (rule train_dff) on the
packed pairs; the rule's params say which (method) and on how many of them (size)."""

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
    method=sm.params.method,
    size=sm.params.get("size"),
)
