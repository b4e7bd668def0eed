"""The evaluation rules: SD (and the DFF baseline when enabled) against MD, per molecule and per run.

Each stage reads trajectories, reduces them to observables, writes its metric rows as
a tidy CSV and its figures. :func:`metrics_stage` gathers the rows of every stage into
``metrics.csv`` and ``metrics.json``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from scoredyn.config import METHOD_NAMES, Config, is_multiple
from scoredyn.data.dataset import subset_pairs
from scoredyn.errors import ScoredynError, TrajectoryError
from scoredyn.evaluation import figures
from scoredyn.evaluation.ensembles import EnsembleRun
from scoredyn.evaluation.metrics import (
    COLUMNS,
    REFERENCE,
    Rows,
    conditional_rows,
    equilibrium_rows,
    kinetics_rows,
    nested,
)
from scoredyn.evaluation.observe import Observed, observe
from scoredyn.figure_file import save_figure
from scoredyn.io import atomic_write_text, write_csv
from scoredyn.md.summary import MDSummary
from scoredyn.md.topology import resolve_molecule
from scoredyn.molecules import ResolvedMolecule
from scoredyn.rollout.summary import RolloutSummary
from scoredyn.seeding import derive_seed
from scoredyn.trajectory import read_trajectory, trajectory_info

log = logging.getLogger(__name__)


def _save(fig: plt.Figure, path: Path) -> None:
    save_figure(fig, path)
    plt.close(fig)
    log.info("wrote %s", path)


def method_paths(files: Mapping[str, str]) -> dict[str, Path]:
    """{"MD": ..., "SD": ..., "DFF": ...} from a rule's inputs named md, sd and (when enabled) dff."""
    return {name: Path(files[key]) for key, name in METHOD_NAMES.items() if key in files}


def read_observed(mol: ResolvedMolecule, paths: dict[str, Path]) -> dict[str, Observed]:
    """Observables of each method's trajectory, every saved frame."""
    out = {}
    for method, path in paths.items():
        traj = read_trajectory(path)
        if traj.pos.ndim != 3 or traj.n_atoms != mol.top.n_atoms:
            raise TrajectoryError(
                f"{path}: holds pos {traj.pos.shape}; expected one trajectory [T, {mol.top.n_atoms}, 3] of "
                f"{mol.molecule.name}"
            )
        out[method] = observe(mol, traj.pos, traj.timestep)
        log.info("%s: %d frames every %g ps from %s", method, traj.n_frames, traj.timestep, path)
    return out


def evaluate_equilibrium_stage(
    cfg: Config, name: str, trajectories: dict[str, Path], topdir: Path, outputs: dict[str, Path],
) -> pd.DataFrame:  # fmt: skip
    """Long trajectories of each method against MD: distributions, free energies, kinetics.

    ``trajectories`` maps method -> production ``.h5`` (``MD`` first). Writes the figures
    ``dihedrals``, ``dihedral_profiles``, ``bonds``, ``angles``, ``fpt`` and the rows ``csv``.
    Bond classes that ``md.constraints`` fixes in MD are flagged instead of compared by JSD.
    """
    ev = cfg.evaluation
    temperature = cfg.md.temperature_K
    mol = resolve_molecule(cfg.molecule(name), topdir)
    observed = read_observed(mol, trajectories)
    seed = derive_seed(cfg.seed, name, "evaluate")
    eq = equilibrium_rows(name, observed, cfg.md.constraints)
    kin, passages, means = kinetics_rows(name, observed, n_boot=ev.bootstrap_samples, seed=seed)
    learned = [m for m in observed if m != REFERENCE]
    seen = Rows(name)
    for method in learned:
        seen.add("training", method, "seen_in_training", float(name in cfg.train))
    df = pd.concat([eq, kin, seen.frame()], ignore_index=True)
    held_out = "" if name in cfg.train else " (held out: never seen in training)"
    spans = {m: obs.n_frames * obs.dt_ps for m, obs in observed.items()}
    lengths = ", ".join(f"{m} {figures.duration(ps)}" for m, ps in spans.items())
    title = f"{name}: {' and '.join(learned)} against {REFERENCE}{held_out}; {lengths}"
    f_max, bw = ev.free_energy_max_kJ_mol, ev.kde_bandwidth_deg
    cores = {s: st.ranges for s, st in mol.molecule.states.items()}
    with plt.rc_context(figures.STYLE):
        if len(mol.dihedral_atoms) >= 2:
            names = list(mol.dihedral_atoms)[:2]
            centres = {s: (st.centre[names[0]], st.centre[names[1]]) for s, st in mol.molecule.states.items()
                       if all(n in st.centre for n in names)}  # fmt: skip
            full = [(-180.0, 180.0)]
            boxes = {s: (st.ranges.get(names[0], full), st.ranges.get(names[1], full))
                     for s, st in mol.molecule.states.items()}  # fmt: skip
            fig = figures.ramachandran_figure(observed, centres, temperature, bw, f_max, boxes)
        else:
            fig = figures.dihedral_profiles_figure(observed, temperature, bw, f_max, cores)
        figs = {
            "dihedrals": fig,
            "dihedral_profiles": figures.dihedral_profiles_figure(observed, temperature, bw, f_max, cores),
            "bonds": figures.geometry_figure(observed, "bonds", temperature, f_max, cfg.md.constraints),
            "angles": figures.geometry_figure(observed, "angles", temperature, f_max),
            "fpt": figures.fpt_figure(passages, means, spans),
        }
        for key, f in figs.items():
            f.suptitle(figures.fitted_title(title, f.get_figwidth()), fontsize=9)
            _save(f, outputs[key])
    write_csv(df, outputs["csv"])
    _log_headline(df, name)
    return df


def _log_headline(df: pd.DataFrame, name: str) -> None:
    v = df.set_index(["observable", "method", "statistic"]).value
    jsd = df[(df.statistic == "jsd_nats") & ~df.method.str.contains("split-half")]
    for r in jsd.itertuples():
        floor = v.get((r.observable, f"{REFERENCE} split-half", "jsd_nats"), np.nan)
        half = v.get((r.observable, r.method, "half_jsd_nats"), np.nan)
        log.info("%s %s: JSD %s = %.4f; of halves %.4f, %.1fx the MD split-half floor %.4f", name, r.observable,
                 r.method, r.value, half, half / floor if floor > 0 else np.nan, floor)  # fmt: skip


def conditional_times(cfg: Config, lag_ps: float, time_ps: float) -> list[float]:
    """The configured times at which P(X_t | X_0) is compared that the ensembles reach."""
    times = [t for t in cfg.evaluation.conditional_times_ps if t <= time_ps + 1e-9]
    off = [t for t in times if not is_multiple(t, lag_ps)]
    if off:
        raise ScoredynError(
            f"evaluation.conditional_times_ps: {off} are not multiples of the {lag_ps} ps between ensemble frames; "
            "use multiples of dataset.lag_ps"
        )
    return times


def evaluate_conditional_stage(
    cfg: Config, name: str, state: str, ensembles: dict[str, Path], topdir: Path, outputs: dict[str, Path],
) -> pd.DataFrame:  # fmt: skip
    """P(X_t | X_0) from the fixed start of ``state``: each method's ensemble against MD's.

    ``ensembles`` maps method -> ensemble ``.h5`` [R, T, N, 3]. Writes ``figure`` and ``csv``.
    """
    ev = cfg.evaluation
    mol = resolve_molecule(cfg.molecule(name), topdir)
    dihedrals: dict[str, dict[str, np.ndarray]] = {}
    times: list[float] | None = None
    for method, path in ensembles.items():
        ens = read_trajectory(path)
        if ens.pos.ndim != 4:
            raise TrajectoryError(f"{path}: pos has shape {ens.pos.shape}; expected an ensemble [R, T, N, 3]")
        t_here = conditional_times(cfg, ens.timestep, (ens.n_frames - 1) * ens.timestep)
        times = t_here if times is None or len(t_here) < len(times) else times
        idx = [round(t / ens.timestep) for t in t_here]
        dihedrals[method] = {k: v[:, idx] for k, v in mol.dihedral_values(ens.pos).items()}
        log.info("%s: %d runs of %g ps from %s", method, ens.n_replicas, (ens.n_frames - 1) * ens.timestep, path)
    assert times is not None
    if not times:
        raise ScoredynError(
            f"{name} {state}: the ensembles are shorter than every time in evaluation.conditional_times_ps; "
            "lengthen rollout.conditional.time_ps or add a shorter time"
        )
    dihedrals = {m: {k: v[:, : len(times)] for k, v in d.items()} for m, d in dihedrals.items()}
    df = conditional_rows(name, state, dihedrals, times, ev.conditional_bins)
    with plt.rc_context(figures.STYLE):
        fig = figures.conditional_figure(dihedrals, times, state, ev.conditional_kde_bandwidth_deg,
                                         cfg.md.temperature_K, ev.free_energy_max_kJ_mol)  # fmt: skip
        _save(fig, outputs["figure"])
    write_csv(df, outputs["csv"])
    return df


def _benchmark_seconds(path: Path) -> float:
    """Wall seconds of a rule from its Snakemake benchmark file (mean over repeats)."""
    try:
        return float(pd.read_csv(path, sep="\t")["s"].mean())
    except (OSError, KeyError, ValueError, pd.errors.ParserError) as exc:
        raise ScoredynError(f"{path}: not a readable Snakemake benchmark file ({exc}); rerun its rule") from None


def _threads(n: int) -> str:
    return f"{n} thread" + ("s" if n != 1 else "")


def _job_seconds(bench: Path, own_wall_s: float) -> float:
    """Wall seconds of a job: its benchmark time, or the run's own recorded compute time when that is
    longer (a rerun that resumed finished work takes seconds, but the simulation took its own time)."""
    seconds = _benchmark_seconds(bench)
    if seconds < own_wall_s:
        log.warning("%s: %.1f s is less than the %.1f s its run recorded (it resumed); using the latter",
                    bench, seconds, own_wall_s)  # fmt: skip
    return max(seconds, own_wall_s)


def _ns_per_day(ps: float, seconds: float) -> float:
    return ps / 1000.0 / max(seconds, 1e-9) * 86400.0


def _positive(value: object, path: Path | str, what: str, rule: str) -> float:
    """``value`` as a positive finite float, else an error naming the file and the rule to rerun."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        v = float("nan")
    if not (np.isfinite(v) and v > 0):
        raise ScoredynError(f"{path}: records no positive {what} (found {value!r}); rerun {rule}")
    return v


def _md_ns_per_day(summary: MDSummary, path: Path) -> float:
    """GROMACS' own ns/day of the production phase ``md`` of an MD production summary."""
    ns_per_day = summary.production.ns_per_day
    return _positive(ns_per_day, path, "ns_per_day of the production phase 'md'", "md_production")


def _rollout_ns_per_day(summary: RolloutSummary, path: Path | str, rule: str) -> float:
    """A rollout's simulated ns per day of its own sampling time, summed over its replicas."""
    return _positive(summary.aggregate_ns_per_day, path, "aggregate_ns_per_day", rule)


def _ensemble_speeds(e: EnsembleRun) -> tuple[float, float]:
    """(own, whole-job) ns/day of one ensemble: a learned method's sampling speed over all its replicas
    from its rollout summary, or MD's mean mdrun ns/day of one run (``ns_per_day_mean`` of its output)."""
    if e.is_md:
        attrs = trajectory_info(e.output)[2]
        own = _positive(attrs.get("ns_per_day_mean"), e.output, "ns_per_day_mean", "md_conditional")
        own_wall_s = 0.0
    else:
        if e.summary is None:
            raise ValueError(f"the {e.method} ensemble of {e.molecule} {e.state} names no rollout summary")
        info = RolloutSummary.from_json(e.summary, e.rule)
        own = _rollout_ns_per_day(info, e.summary, e.rule)
        own_wall_s = info.wall_s
    one_job = len(e.bench) == 1
    seconds = _job_seconds(e.bench[0], own_wall_s) if one_job else sum(map(_benchmark_seconds, e.bench))
    return own, _ns_per_day(e.runs * e.ps, seconds)


def evaluate_speed_stage(
    cfg: Config, molecules: list[str], md: dict[str, list[Path]], learned: dict[str, dict[str, list[Path]]],
    ensembles: list[EnsembleRun], threads: dict[str, int], outputs: dict[str, Path],
) -> pd.DataFrame:  # fmt: skip
    """Simulated ns per day of every production and ensemble run, and the learned simulators'
    moves rejected or violating the checks per 100k steps (paper Fig. 5).

    ``ns_per_day`` (the bars and the ``speedup`` rows) is each run's own measured speed: GROMACS'
    ns/day of MD's production phase (of one run for an MD ensemble), and a rollout's simulated
    time over its sampling wall time, summed over its replicas (``aggregate_ns_per_day`` of its
    summary). ``job_ns_per_day`` is the secondary number from the rule's Snakemake benchmark: the
    whole job's wall time, start-up (imports, model loading, equilibration) included.

    Parameters
    ----------
    md : ``{"json": [...], "bench": [...]}`` of each molecule's MD production, in ``molecules`` order
    learned : method (``SD``, ``DFF``) -> the same for its production rollouts
    ensembles : one per (molecule, state, method), from :func:`scoredyn.evaluation.ensembles.ensemble_runs`
    threads : threads of the rules md_production, md_conditional_run and <method>_production,
        <method>_conditional of each learned method
    """
    table, rows = [], {m: Rows(m) for m in molecules}
    for k, name in enumerate(molecules):
        md_summary = MDSummary.from_json(md["json"][k])
        md_speed = _md_ns_per_day(md_summary, Path(md["json"][k]))
        md_job = _ns_per_day(md_summary.ps, _job_seconds(md["bench"][k], md_summary.wall_s))
        table.append({"label": f"MD production, {name}, {_threads(threads['md_production'])}", "method": "MD",
                      "ns_per_day": md_speed, "job_ns_per_day": md_job})  # fmt: skip
        rows[name].add("throughput production", "MD", "ns_per_day", md_speed)
        rows[name].add("throughput production", "MD", "job_ns_per_day", md_job)
        for method, files in learned.items():
            rule = f"{method.lower()}_production"
            info = RolloutSummary.from_json(files["json"][k], rule)
            ps = info.simulated_ps_per_replica * info.replicas
            speed = _rollout_ns_per_day(info, files["json"][k], rule)
            job = _ns_per_day(ps, _job_seconds(files["bench"][k], info.wall_s))
            rejected, violating = info.per_100k_steps
            per100k = {"rejections_per_100k": rejected, "violations_per_100k": violating}
            table.append({"label": f"{method} production, {name}, {_threads(info.threads)} ({info.device})",
                          "method": method, "ns_per_day": speed, "job_ns_per_day": job, **per100k})  # fmt: skip
            rows[name].add("throughput production", method, "ns_per_day", speed)
            rows[name].add("throughput production", method, "job_ns_per_day", job)
            rows[name].add("throughput production", f"{method}/{REFERENCE}", "speedup", speed / md_speed)
            rows[name].add("throughput production", method, "evaluations_per_step", info.evaluations_per_step)
            for stat, v in per100k.items():
                rows[name].add("stability", method, stat.replace("100k", "100k_steps"), v)
            for check, v in info.checks.items():
                if isinstance(v, float):
                    rows[name].add("stability", method, f"frames_{check}", v)
    for e in ensembles:
        speed, job = _ensemble_speeds(e)
        each = ", per run" if e.is_md else ""  # MD's runs are separate jobs, SD's one batch
        label = (f"{e.method} ensemble, {e.molecule} {e.state}, {e.runs} x {e.ps:g} ps{each}, "
                 f"{_threads(threads[e.rule])}")  # fmt: skip
        table.append({"label": label, "method": e.method, "ns_per_day": speed, "job_ns_per_day": job,
                      "rejections_per_100k": np.nan, "violations_per_100k": np.nan})  # fmt: skip
        observable = f"throughput ensemble {e.state}"
        rows[e.molecule].add(observable, e.method, "ns_per_day", speed)
        rows[e.molecule].add(observable, e.method, "job_ns_per_day", job)
    df = pd.concat([r.frame() for r in rows.values()], ignore_index=True)
    table_df = pd.DataFrame(table)
    for col in ("rejections_per_100k", "violations_per_100k"):
        if col not in table_df:
            table_df[col] = np.nan
    with plt.rc_context(figures.STYLE):
        _save(figures.speed_figure(table_df), outputs["figure"])
    write_csv(df, outputs["csv"])
    return df


def dihedral_rows(name: str, observed: dict[str, Observed]) -> pd.DataFrame:
    """The dihedral rows of :func:`equilibrium_rows` (JSDs against MD and split-half floors), without
    the bond and angle classes: what the sweep and the training sizes compare."""
    eq = equilibrium_rows(name, observed)
    return eq[~eq.observable.str.startswith(("bond ", "angle "))].copy()


def evaluate_sweep_stage(
    cfg: Config, name: str, md_h5: Path, runs: dict[str, tuple[Path, Path]], topdir: Path, outputs: dict[str, Path],
) -> pd.DataFrame:  # fmt: skip
    """Accuracy against cost of each solver setting (paper Fig. 4b): the dihedral JSDs against MD,
    network evaluations per SD step, ns/day and check violations of each sweep rollout.

    ``runs`` maps a solver label (``"dpm3x20"``) -> (production ``.h5``, its ``.json``).
    """
    mol = resolve_molecule(cfg.molecule(name), topdir)
    paths = {"MD": md_h5} | {f"SD[{label}]": h5 for label, (h5, _) in runs.items()}
    df = dihedral_rows(name, read_observed(mol, paths))
    extra = Rows(name)
    for label, (_, js) in runs.items():
        info = RolloutSummary.from_json(js, "sd_sweep")
        rejected, violating = info.per_100k_steps
        extra.add("solver", f"SD[{label}]", "evaluations_per_step", info.evaluations_per_step)
        extra.add("solver", f"SD[{label}]", "ns_per_day", info.ns_per_day)
        extra.add("solver", f"SD[{label}]", "steps", info.steps)
        extra.add("stability", f"SD[{label}]", "violations_per_100k_steps", violating)
        extra.add("stability", f"SD[{label}]", "rejections_per_100k_steps", rejected)
    df = pd.concat([df, extra.frame()], ignore_index=True)
    with plt.rc_context(figures.STYLE):
        _save(figures.sweep_figure(df), outputs["figure"])
    write_csv(df, outputs["csv"])
    return df


def evaluate_sizes_stage(
    cfg: Config, name: str, md_h5: Path, runs: dict[float, Path], dataset_h5: Path, topdir: Path,
    outputs: dict[str, Path],
) -> pd.DataFrame:  # fmt: skip
    """Accuracy against the amount of training data (paper Fig. 4a): the dihedral JSD against MD
    of each training size's SD production, with the number of pairs that size trained on.

    ``runs`` maps a size of ``evaluation.training_sizes`` -> its production ``.h5``; the pairs are
    counted as the training counted them (:func:`~scoredyn.data.dataset.subset_pairs`).
    """
    mol = resolve_molecule(cfg.molecule(name), topdir)
    labels = {size: f"SD[{size:g}]" for size in runs}
    df = dihedral_rows(name, read_observed(mol, {"MD": md_h5} | {labels[s]: h5 for s, h5 in runs.items()}))
    extra = Rows(name)
    for label, n in zip(labels.values(), subset_pairs(dataset_h5, list(labels)), strict=True):
        extra.add("training size", label, "train_pairs", float(n))
    df = pd.concat([df, extra.frame()], ignore_index=True)
    with plt.rc_context(figures.STYLE):
        _save(figures.training_size_figure(df, f"{name}: SD trained on fewer pairs against MD"), outputs["figure"])
    write_csv(df, outputs["csv"])
    return df


def metrics_stage(csvs: list[Path], outputs: dict[str, Path]) -> pd.DataFrame:
    """Gather the rows of every evaluation rule into ``csv`` (tidy) and ``json`` (nested)."""
    frames = []
    for path in csvs:
        df = pd.read_csv(path)
        if list(df.columns) != COLUMNS:
            raise ScoredynError(f"{path}: columns {list(df.columns)} are not {COLUMNS}; rerun the rule that wrote it")
        frames.append(df)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    write_csv(df, outputs["csv"])
    atomic_write_text(outputs["json"], json.dumps(nested(df), indent=1))
    log.info("gathered %d metrics from %d files", len(df), len(csvs))
    return df
