"""Simulated ns per day of MD, SD (and DFF) as each run measured it, and stability (rule evaluate_speed)."""

from pathlib import Path

from scoredyn.config import METHOD_NAMES
from scoredyn.evaluation.stage import evaluate_speed_stage
from scoredyn.logs import run_rule

sm = snakemake  # noqa: F821 - provided by Snakemake
inputs = set(sm.input.keys())


def files(method: str) -> dict[str, list[Path]]:
    return {k: [Path(f) for f in getattr(sm.input, f"{method}_{k}")] for k in ("json", "bench")}


run_rule(
    sm,
    evaluate_speed_stage,
    list(sm.params.molecules),
    md=files("md"),
    learned={name: files(key) for key, name in METHOD_NAMES.items() if key != "md" and f"{key}_json" in inputs},
    ensembles=list(sm.params.ensembles),
    threads=dict(sm.params.threads),
    outputs={k: Path(sm.output[k]) for k in ("figure", "csv")},
)
