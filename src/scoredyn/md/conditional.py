"""MD reference for conditional distributions P(X_t | X_0) (paper Fig. 3).

From the fixed start of a state (the same structure ``sd_conditional`` starts from):
solvate it, minimise, and equilibrate the water with the solute frozen, once; then run M
independent NVT runs from that equilibrated system, each with new random velocities
for every atom, and keep solute frames every SD step. The runs are independent jobs;
a last stage gathers them into one ensemble file [M, T, N, 3].

The minimisation moves the solute a little (freezing it there made GROMACS 2022's
steepest descent crash now and then), so frame 0 of the MD runs is the minimised start,
within a few tenths of an Angstrom of the SD start.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from scoredyn.config import Config
from scoredyn.errors import TrajectoryError
from scoredyn.io import atomic_path, claim_workdir
from scoredyn.md.box import read_box
from scoredyn.md.extract import load_solute_xtc
from scoredyn.md.stages import _inputs, _protocol, _resolved
from scoredyn.md.topology import copy_topology
from scoredyn.seeding import derive_seed
from scoredyn.trajectory import Trajectory, read_trajectory, write_trajectory

log = logging.getLogger(__name__)


def conditional_time_ps(cfg: Config) -> float:
    """How long each conditional run lasts: the same time as the SD ensembles."""
    return float(cfg.rollout.conditional.time_ps)


def conditional_prepare_stage(
    cfg: Config,
    name: str,
    state: str,
    topdir: Path,
    box_json: Path,
    start_gro: Path,
    workdir: Path,
    outputs: dict[str, Path],
    mdp_dir: Path,
    threads: int = 1,
    log_file: Path | None = None,
) -> None:
    """Solvate the state's start and equilibrate the water around it -> ``gro`` and ``top``."""
    proto = _protocol(cfg, log_file, mdp_dir)
    seed = derive_seed(cfg.seed, name, "conditional", state)
    edge, _ = read_box(box_json)
    claim_workdir(workdir, _inputs(cfg, topdir, seed, edge=edge, start=start_gro.read_text()))
    proto.prepare_solution(topdir, start_gro, edge, workdir, seed, threads)
    out = Path(outputs["gro"]).parent
    out.mkdir(parents=True, exist_ok=True)
    for f in workdir.glob("*.itp"):
        shutil.copy2(f, out / f.name)
    for key, src in (("top", "topol.top"), ("gro", "eq.gro")):
        with atomic_path(outputs[key]) as tmp:
            shutil.copy2(workdir / src, tmp)
    log.info("%s: the %s start is solvated and its water equilibrated", name, state)


def conditional_run_stage(
    cfg: Config,
    name: str,
    state: str,
    index: int,
    topdir: Path,
    prepared_gro: Path,
    workdir: Path,
    out_h5: Path,
    mdp_dir: Path,
    threads: int = 1,
    log_file: Path | None = None,
) -> None:
    """Run ``index`` from the prepared system with new velocities -> frames every SD step (``dataset.lag_ps``)."""
    proto = _protocol(cfg, log_file, mdp_dir)
    mol = _resolved(cfg, name, topdir)
    seed = derive_seed(cfg.seed, name, "conditional", state, index)
    ps = conditional_time_ps(cfg)
    lag_ps = float(cfg.dataset.lag_ps)
    every = round(lag_ps / cfg.md.frame_interval_ps)
    claim_workdir(workdir, _inputs(cfg, topdir, seed, state=state, index=index, run_ps=ps,
                                   prepared=prepared_gro.read_text()))  # fmt: skip
    copy_topology(prepared_gro.parent, workdir)
    shutil.copy2(prepared_gro, workdir / "eq.gro")
    phase = proto.run_nvt(workdir, ps, seed, threads)
    traj = load_solute_xtc(topdir / "solute.gro", workdir / "md.xtc", mol.top, cfg.md.frame_interval_ps)
    traj.pos, traj.timestep = traj.pos[::every], lag_ps
    traj.attrs.update(seed=seed, state=state, run=index, ns_per_day=phase.ns_per_day,
                      source=f"scoredyn MD from the {state} start of {name}")  # fmt: skip
    write_trajectory(out_h5, traj)
    shutil.rmtree(workdir, ignore_errors=True)


def gather_stage(run_files: list[Path], out_h5: Path) -> Trajectory:
    """Stack the runs into one ensemble file, pos [M, T, N, 3]."""
    runs = [read_trajectory(f) for f in run_files]
    lengths = {r.n_frames for r in runs}
    if len(lengths) != 1:
        raise TrajectoryError(
            f"{out_h5}: the runs {', '.join(map(str, run_files))} differ in length ({sorted(lengths)} frames); "
            "delete the odd ones and rerun"
        )
    first = runs[0]
    attrs = {k: v for k, v in first.attrs.items() if k not in ("seed", "run", "ns_per_day")}
    attrs["ns_per_day_mean"] = float(np.mean([r.attrs.get("ns_per_day", np.nan) for r in runs]))
    ens = Trajectory(np.stack([r.pos for r in runs]), first.symbols, first.numbers, first.timestep,
                     first.types, first.bonds, attrs)  # fmt: skip
    write_trajectory(out_h5, ens)
    return ens
