"""The rollout rules: a long trajectory, and ensembles from a fixed start in each state.

They run SD (rules ``sd_*``, the trained score model) or the DFF baseline (rules
``dff_*``: the trained denoiser's force in Brownian dynamics, frames as far apart as
SD's), through :class:`~scoredyn.rollout.system.RolloutSystem`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from scoredyn.config import Config
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.errors import ScoredynError
from scoredyn.md.extract import solute_trajectory, write_for_people
from scoredyn.molecules import check_summary
from scoredyn.rollout.summary import RolloutSummary
from scoredyn.rollout.system import RolloutSystem, run_rollout
from scoredyn.seeding import derive_seed
from scoredyn.trajectory import read_trajectory, write_trajectory


def production_stage(
    cfg: Config,
    name: str,
    model: Path,
    production_h5: Path,
    topdir: Path,
    workdir: Path,
    outputs: dict[str, Path],
    threads: int = 1,
    solver: str | None = None,
    time_ns: float | None = None,
    method: str = "sd",
) -> RolloutSummary:
    """One long SD or DFF rollout from an MD production frame -> ``h5``, ``pdb``, ``xtc`` and ``json``.

    ``solver`` (a label such as ``"dpm3x5"``; SD only) and ``time_ns`` replace
    ``rollout.solver`` and ``rollout.production.time_ns`` when given: the rules pass both,
    the sweep's from ``evaluation.sweep``.
    """
    torch.set_num_threads(max(1, threads))
    if solver is not None:
        cfg = cfg.with_solver(parse_solver(solver), time_ns)
    elif time_ns is not None:
        cfg = cfg.override(rollout={"production": {"time_ns": time_ns}})
    roll = cfg.rollout
    reference = read_trajectory(production_h5)
    frame = roll.production.start_frame
    if frame >= reference.n_frames:
        raise ScoredynError(
            f"config: rollout.production.start_frame = {frame} but {production_h5} has {reference.n_frames} frames; "
            "choose an earlier frame"
        )
    system = RolloutSystem.load(cfg, name, model, reference, production_h5, topdir, method)
    seed = derive_seed(roll.seed, name, f"{method}_production")
    result = run_rollout(system, cfg, reference.pos[frame][None], 1000.0 * roll.production.time_ns, seed, workdir)
    traj = solute_trajectory(
        result.pos[0], system.molecule.top, system.lag_ps, seed=seed, start_frame=frame,
        solver=system.label, source=f"scoredyn {system.name} production of {name}",
    )  # fmt: skip
    write_trajectory(outputs["h5"], traj)
    write_for_people(traj, system.molecule.top, outputs["pdb"], outputs["xtc"])
    checks = check_summary(system.molecule, traj.pos)
    summary = system.summary(name, result, seed, threads, checks=checks, start_frame=frame)
    summary.write(outputs["json"])
    return summary


def conditional_stage(
    cfg: Config,
    name: str,
    state: str,
    model: Path,
    start_h5: Path,
    topdir: Path,
    workdir: Path,
    outputs: dict[str, Path],
    threads: int = 1,
    method: str = "sd",
) -> RolloutSummary:
    """M SD or DFF replicas from the fixed start of ``state`` -> an ensemble ``h5`` [M, T, N, 3] and ``json``."""
    torch.set_num_threads(max(1, threads))
    roll = cfg.rollout
    reference = read_trajectory(start_h5)
    system = RolloutSystem.load(cfg, name, model, reference, start_h5, topdir, method)
    seed = derive_seed(roll.seed, name, f"{method}_conditional", state)
    start = np.repeat(reference.pos[:1], roll.conditional.replicas, axis=0)
    result = run_rollout(system, cfg, start, roll.conditional.time_ps, seed, workdir)
    traj = solute_trajectory(
        result.pos, system.molecule.top, system.lag_ps, seed=seed, state=state,
        solver=system.label, source=f"scoredyn {system.name} from the {state} start of {name}",
    )  # fmt: skip
    write_trajectory(outputs["h5"], traj)
    rep = system.molecule.check(result.pos.reshape(-1, *result.pos.shape[2:]), roll.peptide_bonds)
    checks = {k: float(getattr(rep, k).mean()) for k in ("bonds_ok", "chirality_ok", "trans_ok")}
    summary = system.summary(name, result, seed, threads, checks=checks, state=state)
    summary.write(outputs["json"])
    return summary


def parse_solver(label: str) -> SolverConfig:
    """``"dpm3x20"`` -> SolverConfig("dpm3", 20), with one clear error for a bad label."""
    try:
        return SolverConfig.parse(label)
    except ValueError as exc:
        raise ScoredynError(str(exc)) from None
