"""The MD stages of the workflow, one function per Snakemake rule.

Each takes the validated :class:`~scoredyn.config.Config`, the molecule name and
paths, so that the rule scripts stay thin and the same stages run from the command
line. Working directories hold GROMACS' intermediate files and checkpoints; only the
declared outputs are final, and they are written atomically.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from scoredyn.config import Config
from scoredyn.errors import MoleculeError
from scoredyn.geometry import adjacency, min_nonbonded_distance, set_dihedral
from scoredyn.io import claim_workdir, write_csv
from scoredyn.md.box import find_box_edge, read_box, write_box
from scoredyn.md.extract import load_solute_xtc, write_for_people
from scoredyn.md.gmx import Gromacs
from scoredyn.md.runs import Protocol
from scoredyn.md.starts import draw_dihedral_start
from scoredyn.md.summary import MDSummary, PhaseSpeed
from scoredyn.md.topology import (
    build_topology,
    read_gro_positions,
    read_solute_topology,
    resolve_molecule,
    topology_digest,
    write_gro,
)
from scoredyn.molecules import ResolvedMolecule, check_summary
from scoredyn.seeding import derive_seed
from scoredyn.trajectory import Trajectory, read_trajectory, trajectory_info, write_trajectory

log = logging.getLogger(__name__)


def _resolved(cfg: Config, name: str, topdir: Path) -> ResolvedMolecule:
    return resolve_molecule(cfg.molecule(name), topdir)


def _protocol(cfg: Config, log_file: Path | None, mdp_dir: Path) -> Protocol:
    gmx = Gromacs(cfg.gromacs.command, log_file, reproducible=cfg.gromacs.reproducible)
    return Protocol(gmx, cfg.md, Path(mdp_dir), cfg.gromacs.checkpoint_minutes)


def _inputs(cfg: Config, topdir: Path, seed: int, **extra: object) -> dict[str, object]:
    """What a working directory's runs depend on (see :func:`~scoredyn.io.claim_workdir`).

    The settings of the diverse starts are left out; callers that depend on them add them.
    """
    driver = cfg.gromacs.command.split()[-1]  # the launcher (mpirun -np N) does not change results
    return {"md": cfg.md.run_settings(), "gmx": driver, "seed": seed, "topology": topology_digest(topdir), **extra}


def topology_stage(cfg: Config, name: str, outdir: Path, log_file: Path | None = None) -> None:
    """Build the solute topology (``topol.top``, ``solute.gro``) of molecule ``name``."""
    mol = cfg.molecule(name)
    build_topology(mol, Gromacs(cfg.gromacs.command, log_file), cfg.md.forcefield, cfg.md.water_model, outdir)
    log.info("built the %s topology in %s", name, outdir)


def box_stage(cfg: Config, topdir: Path, out_json: Path, log_file: Path | None = None) -> None:
    """Choose the cubic box edge that holds ``md.n_waters`` around the reference structure."""
    gmx = Gromacs(cfg.gromacs.command, log_file)
    workdir = out_json.parent / "box_work"
    edge = find_box_edge(gmx, topdir / "solute.gro", cfg.md.water_model, cfg.md.n_waters, workdir)
    write_box(out_json, edge, cfg.md.n_waters)
    shutil.rmtree(workdir, ignore_errors=True)
    log.info("box edge %.3f nm holds %d waters", edge, cfg.md.n_waters)


def _speeds(phases: list) -> dict[str, PhaseSpeed]:
    return {p.name: PhaseSpeed(p.ps, round(p.wall_s, 2), p.ns_per_day) for p in phases}


def production_stage(
    cfg: Config,
    name: str,
    topdir: Path,
    box_json: Path,
    workdir: Path,
    outputs: dict[str, Path],
    threads: int,
    mdp_dir: Path,
    log_file: Path | None = None,
) -> None:
    """The long NVT production -> ``production.h5`` (+ PDB/XTC for people and a JSON summary).

    ``outputs`` maps ``h5``, ``pdb``, ``xtc`` and ``json`` to paths. Rerunning after an
    interruption continues from the last mdrun checkpoint in ``workdir``.
    """
    proto = _protocol(cfg, log_file, mdp_dir)
    edge, _ = read_box(box_json)
    seed = derive_seed(cfg.seed, name, "production")
    ns = cfg.production_ns(name)
    log.info(
        "%s: production of %.3f ns at %.0f K in a %.3f nm box with %d waters",
        name,
        ns,
        cfg.md.temperature_K,
        edge,
        cfg.md.n_waters,
    )
    claim_workdir(workdir, _inputs(cfg, topdir, seed, edge=edge, production_ns=ns))
    phases = proto.prepare_solution(topdir, topdir / "solute.gro", edge, workdir, seed, threads)
    phases.append(proto.run_nvt(workdir, ns * 1000.0, seed, threads))
    mol = _resolved(cfg, name, topdir)
    traj = load_solute_xtc(
        topdir / "solute.gro",
        workdir / "md.xtc",
        mol.top,
        cfg.md.frame_interval_ps,
        temperature_K=cfg.md.temperature_K,
        seed=seed,
        source=f"scoredyn md production of {name}",
    )
    write_trajectory(outputs["h5"], traj)
    write_for_people(traj, mol.top, outputs["pdb"], outputs["xtc"])
    summary = MDSummary(name, traj.n_frames, traj.timestep, seed, edge, cfg.md.n_waters, _speeds(phases),
                        check_summary(mol, traj.pos))  # fmt: skip
    summary.write(outputs["json"])


def vacuum_hot_stage(
    cfg: Config, name: str, topdir: Path, workdir: Path, out_h5: Path, mdp_dir: Path, log_file: Path | None = None
) -> None:
    """High-temperature vacuum sampling -> ``hot.h5`` with one frame per start."""
    proto = _protocol(cfg, log_file, mdp_dir)
    hot = cfg.md.vacuum_hot
    seed = derive_seed(cfg.seed, name, "vacuum_hot")
    claim_workdir(workdir, _inputs(cfg, topdir, seed, vacuum_hot=dataclasses.asdict(hot)))
    phase = proto.run_vacuum_hot(topdir, hot, workdir, seed)
    traj = load_solute_xtc(
        topdir / "solute.gro",
        workdir / "hot.xtc",
        read_solute_topology(topdir / "topol.top"),
        hot.save_every * hot.timestep_fs / 1000.0,
        temperature_K=hot.temperature_K,
        seed=seed,
        source=f"scoredyn vacuum sampling of {name}",
        ns_per_day=phase.ns_per_day,
    )
    traj.pos = traj.pos[1 : hot.count + 1]  # frame 0 is the built structure, not a start
    write_trajectory(out_h5, traj)
    log.info("%s: %d vacuum frames at %.0f K (%.1f ns/day)", name, traj.n_frames, hot.temperature_K, phase.ns_per_day)


def start_stage(
    cfg: Config,
    name: str,
    index: int,
    topdir: Path,
    box_json: Path,
    workdir: Path,
    out_h5: Path,
    mdp_dir: Path,
    hot_h5: Path | None = None,
    threads: int = 1,
    log_file: Path | None = None,
) -> None:
    """One short run from a diverse start -> ``starts/start_<index>.h5``.

    The start is the hot-vacuum frame ``index`` (alkanes) or the reference structure
    with random dihedrals (peptides). The file records whether the run kept the
    molecule's stereochemistry and trans peptide bonds in every frame (``accepted``).
    """
    mol = _resolved(cfg, name, topdir)
    proto = _protocol(cfg, log_file, mdp_dir)
    seed = derive_seed(cfg.seed, name, "start", index)
    attrs: dict[str, object] = {"start_index": index, "seed": seed, "start_method": mol.molecule.start_method}
    if mol.molecule.start_method == "vacuum_hot":
        pos = read_trajectory(hot_h5, frames=slice(index, index + 1)).pos[0]
        run_ps = cfg.md.vacuum_hot.run_ps
    else:
        ref = read_gro_positions(topdir / "solute.gro")[0] * 10.0  # nm -> Angstrom
        spec = cfg.md.dihedral_starts
        drawn = draw_dihedral_start(
            ref, mol, list(mol.molecule.starts["dihedrals"]), np.random.default_rng(seed), spec.min_clearance_A
        )
        pos, run_ps = drawn.pos, spec.run_ps
        attrs.update({f"start_{k}": v for k, v in drawn.dihedrals.items()}, draws=drawn.draws)
    edge, _ = read_box(box_json)
    start = hashlib.sha256(np.ascontiguousarray(pos).tobytes()).hexdigest()
    claim_workdir(workdir, _inputs(cfg, topdir, seed, edge=edge, start=start, run_ps=run_ps))
    top = mol.top
    start_gro = workdir / "start.gro"
    write_gro(start_gro, f"{name} start {index}", top.resids, top.resnames, top.names, pos / 10.0, [5.0] * 3)
    phases = proto.prepare_solution(topdir, start_gro, edge, workdir, seed, threads)
    phases.append(proto.run_nvt(workdir, run_ps, seed, threads))
    traj = load_solute_xtc(
        topdir / "solute.gro",
        workdir / "md.xtc",
        top,
        cfg.md.frame_interval_ps,
        temperature_K=cfg.md.temperature_K,
        source=f"scoredyn start {index} of {name}",
        **attrs,
    )
    rep = mol.check(traj.pos)
    accepted = bool(rep.chirality_ok.all() and rep.trans_ok.all())
    traj.attrs.update(
        accepted=accepted,
        reason="; ".join(rep.messages) if not accepted else "",
        bonds_ok_fraction=float(rep.bonds_ok.mean()),
        ns_per_day=phases[-1].ns_per_day,
    )
    write_trajectory(out_h5, traj)
    if not accepted:
        log.warning("%s start %d rejected: %s", name, index, "; ".join(rep.messages))
    shutil.rmtree(workdir, ignore_errors=True)


def manifest_stage(start_files: list[Path], out_csv: Path) -> pd.DataFrame:
    """One row per start: index, frames, accepted and why not, the start dihedrals, speed."""
    rows = []
    for f in start_files:
        n_frames, _, attrs = trajectory_info(f)
        rows.append({"file": Path(f).name, "frames": n_frames, **attrs})
    df = pd.DataFrame(rows)
    write_csv(df, out_csv)
    return df


def state_start_stage(
    cfg: Config,
    name: str,
    state: str,
    production_h5: Path,
    topdir: Path,
    outputs: dict[str, Path],
) -> int:
    """The fixed start of ``state``: the production frame in the state's core nearest its centre.

    When the production never entered the core (a short run), the frame nearest the
    centre is taken and its state dihedrals are turned to the centre's values, with a
    warning. Writes a one-frame trajectory (``h5``) and the solute as GROMACS
    coordinates (``gro``, nm) for runs that start from it; returns the frame index.
    """
    mol = _resolved(cfg, name, topdir)
    traj = read_trajectory(production_h5)
    try:
        frame = mol.nearest_to_centre(traj.pos, state)
        pos, how = traj.pos[frame], "production frame"
    except MoleculeError:
        frame = mol.nearest_to_centre(traj.pos, state, core_only=False)
        pos = _turned_to_centre(mol, traj.pos[frame], state, cfg.md.dihedral_starts.min_clearance_A)
        how = "production frame, dihedrals turned to the centre"
        log.warning("%s: the production never entered the %s core; turned frame %d to its centre", name, state, frame)
    values = {k: float(v) for k, v in mol.dihedral_values(pos).items()}
    log.info("%s: the %s start is %s %d (%s)", name, state, how, frame,
             ", ".join(f"{k} = {v:.1f} deg" for k, v in values.items()))  # fmt: skip
    attrs = {**traj.attrs, "state": state, "production_frame": frame, "how": how, "dihedrals_deg": json.dumps(values)}
    start = Trajectory(pos[None], traj.symbols, traj.numbers, traj.timestep, traj.types, traj.bonds, attrs)
    write_trajectory(outputs["h5"], start)
    top = mol.top
    pos_nm = pos / 10.0
    box_nm = pos_nm.max(axis=0) - pos_nm.min(axis=0) + 1.0
    write_gro(outputs["gro"], f"{name} {state} start (production frame {frame})", top.resids, top.resnames,
              top.names, pos_nm - pos_nm.min(axis=0) + 0.5, box_nm)  # fmt: skip
    return frame


def _turned_to_centre(mol: ResolvedMolecule, pos: np.ndarray, state: str, clearance_A: float) -> np.ndarray:
    """pos [N, 3] with the dihedrals of ``state``'s centre set to its values; checked for clashes."""
    nbrs = adjacency(mol.top.n_atoms, mol.top.bonds)
    for d, value in mol.molecule.states[state].centre.items():
        pos = set_dihedral(pos, nbrs, mol.dihedral_atoms[d], value)
    if not mol.check(pos[None]).ok[0] or min_nonbonded_distance(pos, nbrs) < clearance_A:
        raise MoleculeError(
            f"{mol.molecule.path}: the production never entered the core of {state!r}, and turning a frame "
            f"to the state's centre brings atoms closer than {clearance_A} A; run a longer md.production_ns"
        )
    return pos
