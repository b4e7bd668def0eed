"""What a config will cost, extrapolated from a small run that finished on this machine.

Rates come from the small run's own measurements (mdrun's ns/day, training samples/s,
SD ps/s, and the peak memory of each job in its Snakemake benchmark), which stay right when a
job was resumed, and scale to the target config as :mod:`scoredyn.costs` says. Disk: bytes per
ps of trajectory (solute files and GROMACS working files, the latter scaled by atoms), bytes
per training pair.

The numbers are estimates for planning a cluster allocation, good to a factor of about 2.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pandas as pd

from scoredyn.config import Config
from scoredyn.costs import Rates, Scale, box_atoms
from scoredyn.data.summary import DatasetSummary
from scoredyn.errors import ScoredynError
from scoredyn.layout import Layout
from scoredyn.md.summary import MDSummary
from scoredyn.rollout.summary import RolloutSummary
from scoredyn.training_metrics import TrainingMetrics


def _need(path: Path) -> Path:
    if not path.is_file():
        raise ScoredynError(f"{path}: missing; finish the small run first (snakemake --cores N) and estimate again")
    return path


def peak_rss_mb(benchmark: Path) -> float:
    """The largest max_rss (MB) of a Snakemake benchmark file (one row per repeat)."""
    table = pd.read_csv(_need(benchmark), sep="\t")
    rss = pd.to_numeric(table["max_rss"], errors="coerce").dropna()
    if rss.empty:
        raise ScoredynError(f"{benchmark}: no max_rss measured (Snakemake's benchmark needs psutil); rerun the job")
    return float(rss.max())


def measure(small: Config, results: Path) -> Rates:
    """Rates of the small run of ``small`` whose outputs are under ``results`` (its :class:`Layout` root)."""
    tree = Layout(results)
    mol = small.evaluate[0]
    md_dir = tree.md(mol)
    prod = MDSummary.from_json(_need(tree.md_production(mol, "json"))).production
    md_ps = prod.ps
    md_cpu = small.gromacs.threads * 86400.0 / (1000.0 * prod.ns_per_day)
    metrics = TrainingMetrics.from_csv(tree.model_dir() / "metrics.csv")
    train_device = metrics.device
    sd = RolloutSummary.from_json(_need(tree.rollout_production("sd", mol, "json")), "sd_production")
    pairs = DatasetSummary.from_json(_need(tree.dataset_summary)).pairs or 1
    run_dir = md_dir / "production_run"
    run_bytes = sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file()) if run_dir.is_dir() else 0
    solute = sum(p.stat().st_size for p in (tree.md_production(mol, "h5"), tree.md_production(mol, "xtc"))
                 if p.is_file())  # fmt: skip
    bench = tree.benchmarks
    return Rates(
        md_cpu_s_per_ps=md_cpu,
        train_s_per_sample=1.0 / metrics.samples_per_s,
        train_device=train_device,
        sd_s_per_evaluation_step=1.0 / (sd.ps_per_s / sd.lag_ps) / sd.evaluations_per_step,
        sd_device=sd.device,
        md_bytes_per_ps=solute / md_ps,
        run_bytes_per_ps=run_bytes / md_ps,
        dataset_bytes_per_pair=tree.dataset.stat().st_size / pairs,
        md_rss_mb=peak_rss_mb(bench / "md" / mol / "production.tsv"),
        train_rss_mb=peak_rss_mb(bench / "train.tsv"),
        sd_rss_mb=peak_rss_mb(bench / "sd" / mol / "production.tsv"),
        scale=Scale.of(small),
        measured=f"run {small.run} ({mol}) on {socket.gethostname()}: MD on {small.gromacs.threads} threads, "
        f"training on {train_device}, SD on {sd.device}",
    )


def estimate(target: Config, rates: Rates) -> pd.DataFrame:
    """One row per cost: what, amount, unit, and how it was derived."""
    md, roll, ev, t = target.md, target.rollout, target.evaluation, target.training
    cpu_per_ps = rates.md_cpu_s(target, 1.0)
    n_eval = len(target.evaluate)
    prod_ps = sum(target.production_ns(m) * 1000.0 + md.equilibrate_ps for m in target.molecules)
    starts = {"dihedrals": md.dihedral_starts, "vacuum_hot": md.vacuum_hot}
    start_ps = 0.0
    for m in target.train:
        spec = starts[target.molecule(m).start_method]
        start_ps += spec.count * (md.equilibrate_ps + spec.run_ps)
    states = sum(len(target.molecule(m).states) for m in target.evaluate)
    cond_runs = md.conditional_replicas * states
    cond_ps = cond_runs * roll.conditional.time_ps + states * md.equilibrate_ps
    train_h = rates.train_s(target, t.steps) / 3600.0
    per_eval = rates.evaluation_s(target, 1.0)
    lag = target.dataset.lag_ps
    sd_steps = roll.production.time_ns * 1000.0 / lag * n_eval
    sd_h = sd_steps * roll.solver.evaluations * per_eval / 3600.0
    sweep_time = target.sweep_time_ns()
    sweep_h = sum(s.evaluations for s in ev.sweep.solvers) * sweep_time * 1000.0 / lag
    sweep_h *= n_eval * per_eval / 3600.0
    cond_steps = roll.conditional.replicas * roll.conditional.time_ps / lag * states
    cond_h = cond_steps * roll.solver.evaluations * per_eval / 3600.0
    pairs = (md.production_ns * 1000.0 * len(target.train) + start_ps) / lag  # about one pair per lag of data
    atoms = box_atoms(target) / rates.scale.box_atoms
    disk = (prod_ps + start_ps + cond_ps) * (rates.md_bytes_per_ps + rates.run_bytes_per_ps * atoms)
    disk += pairs * rates.dataset_bytes_per_pair
    rows = [
        ("MD production", prod_ps * cpu_per_ps / 3600.0, "CPU-hours", f"{prod_ps / 1000:g} ns"),
        ("MD diverse starts", start_ps * cpu_per_ps / 3600.0, "CPU-hours", f"{start_ps / 1000:g} ns"),
        ("MD conditional runs", cond_ps * cpu_per_ps / 3600.0, "CPU-hours", f"{cond_runs} runs"),
        ("training", train_h, f"{rates.train_device}-hours", f"{t.steps} steps x {t.batch_size}"),
        ("SD production", sd_h, f"{rates.sd_device}-hours (1 replica)", f"{sd_steps:g} steps"),
        ("SD conditional", cond_h, f"{rates.sd_device}-hours unbatched", f"{cond_steps:g} replica-steps"),
        ("SD solver sweep", sweep_h, f"{rates.sd_device}-hours", f"{len(ev.sweep.solvers)} settings"),
    ]
    dff = target.dff
    if dff.enabled:  # the same network; one evaluation per Brownian step
        dff_steps = dff.steps if dff.steps is not None else t.steps
        per_ps = 1000.0 / dff.timestep_fs
        rows += [
            ("DFF training", train_h * dff_steps / t.steps, f"{rates.train_device}-hours",
             f"{dff_steps} steps x {t.batch_size}"),
            ("DFF production", sd_steps * lag * per_ps * per_eval / 3600.0, f"{rates.sd_device}-hours (1 replica)",
             f"{sd_steps * lag * per_ps:g} force evaluations"),
            ("DFF conditional", cond_steps * lag * per_ps * per_eval / 3600.0, f"{rates.sd_device}-hours unbatched",
             f"{cond_steps * lag * per_ps:g} replica-evaluations"),
        ]  # fmt: skip
    rows.append(("disk", disk / 1e9, "GB", "trajectories, GROMACS working files, dataset"))
    return pd.DataFrame(rows, columns=["what", "amount", "unit", "for"])
