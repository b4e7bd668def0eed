"""Solute-only trajectories from GROMACS output: whole, unjumped, in the HDF5 format.

GROMACS writes the solute wrapped into the periodic box. :func:`unwrap` rebuilds each
frame along a spanning tree of the bonds with minimum-image bond vectors, so every
molecule is whole, then removes box jumps of the molecule's centroid, so that the
trajectory is continuous in time.
"""

from __future__ import annotations

import logging
import warnings
from collections import deque
from pathlib import Path

import numpy as np

from scoredyn.errors import TrajectoryError
from scoredyn.geometry import adjacency
from scoredyn.molecules import SoluteTopology
from scoredyn.trajectory import Trajectory

log = logging.getLogger(__name__)


def _tree_order(n_atoms: int, bonds: np.ndarray) -> list[tuple[int, int]]:
    nbrs = adjacency(n_atoms, bonds)
    seen, order, todo = {0}, [], deque([0])
    while todo:
        a = todo.popleft()
        for b in nbrs[a]:
            if b not in seen:
                seen.add(b)
                order.append((a, b))
                todo.append(b)
    if len(seen) != n_atoms:
        raise TrajectoryError(f"the solute's bond graph is not connected ({len(seen)} of {n_atoms} atoms reached)")
    return order


def unwrap(pos: np.ndarray, box: np.ndarray, bonds: np.ndarray) -> np.ndarray:
    """Make a one-molecule trajectory whole and continuous.

    Parameters
    ----------
    pos : [T, N, 3] wrapped positions
    box : [T, 3] orthorhombic box edges, same unit
    bonds : [B, 2] the molecule's bonds (a connected graph)

    Returns
    -------
    [T, N, 3]
    """
    pos = np.asarray(pos, dtype=np.float64)
    box = np.asarray(box, dtype=np.float64)[:, None, :]  # [T, 1, 3]
    out = pos.copy()
    for parent, child in _tree_order(pos.shape[1], bonds):
        d = pos[:, child] - out[:, parent]
        out[:, child] = out[:, parent] + d - box[:, 0] * np.round(d / box[:, 0])
    centre = out.mean(axis=1)  # [T, 3]
    step = np.diff(centre, axis=0)
    jump = np.round(step / box[1:, 0]) * box[1:, 0]  # whole-box jumps between frames
    shift = -np.concatenate([np.zeros((1, 3)), np.cumsum(jump, axis=0)])
    return out + shift[:, None, :]


def read_solute_xtc(structure: Path | str, xtc: Path | str | list[Path]) -> tuple[np.ndarray, np.ndarray]:
    """Positions [T, N, 3] and box edges [T, 3] (Angstrom) of a solute-only XTC, via MDAnalysis."""
    import MDAnalysis as mda

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            u = mda.Universe(str(structure), [str(x) for x in xtc] if isinstance(xtc, list) else str(xtc))
        except (OSError, ValueError, EOFError) as exc:
            raise TrajectoryError(f"{xtc}: cannot be read with {structure} ({exc})") from None
    n = len(u.trajectory)
    pos = np.empty((n, len(u.atoms), 3), dtype=np.float64)
    box = np.empty((n, 3), dtype=np.float64)
    for t, ts in enumerate(u.trajectory):
        if not np.allclose(ts.dimensions[3:], 90.0):
            raise TrajectoryError(f"{xtc}: frame {t} has a triclinic box; scoredyn unwraps orthorhombic boxes only")
        pos[t] = ts.positions
        box[t] = ts.dimensions[:3]
    return pos, box


def solute_trajectory(pos: np.ndarray, top: SoluteTopology, timestep_ps: float, **attrs: object) -> Trajectory:
    """A :class:`Trajectory` of ``pos`` [T, N, 3] (Angstrom) carrying the topology's per-atom data."""
    return Trajectory(
        pos=pos,
        symbols=list(top.names),
        numbers=top.numbers,
        timestep=timestep_ps,
        types=list(top.types),
        bonds=top.bonds,
        attrs={
            "elements": list(top.elements),
            "resnames": list(top.resnames),
            "resids": np.asarray(top.resids),
            "masses": np.asarray(top.masses),
            **attrs,
        },
    )


def load_solute_xtc(
    structure: Path | str, xtc: Path | str, top: SoluteTopology, timestep_ps: float, **attrs: object
) -> Trajectory:
    """Read a solute-only XTC and unwrap it into a :class:`Trajectory` carrying the topology."""
    pos, box = read_solute_xtc(structure, xtc)
    if pos.shape[1] != top.n_atoms:
        raise TrajectoryError(f"{xtc}: has {pos.shape[1]} atoms but the solute topology has {top.n_atoms}")
    traj = solute_trajectory(unwrap(pos, box, top.bonds), top, timestep_ps, **attrs)
    log.info(
        "read %s: %d frames of %d atoms, %.1f ps", xtc, traj.n_frames, traj.n_atoms, (traj.n_frames - 1) * timestep_ps
    )
    return traj


def write_for_people(traj: Trajectory, top: SoluteTopology, pdb: Path | str, xtc: Path | str) -> None:
    """The trajectory as XTC plus a PDB topology (with bonds), for VMD, PyMOL and MDAnalysis."""
    import MDAnalysis as mda

    from scoredyn.io import atomic_path

    u = mda.Universe.empty(
        traj.n_atoms,
        n_residues=len(set(top.resids.tolist())),
        atom_resindex=np.unique(top.resids, return_inverse=True)[1],
        trajectory=True,
    )
    u.add_TopologyAttr("names", top.names)
    u.add_TopologyAttr("types", top.elements)
    u.add_TopologyAttr("elements", top.elements)
    u.add_TopologyAttr("resnames", [top.resnames[list(top.resids).index(r)] for r in sorted(set(top.resids.tolist()))])
    u.add_TopologyAttr("resids", sorted(set(top.resids.tolist())))
    u.add_TopologyAttr("bonds", [tuple(b) for b in top.bonds.tolist()])
    u.dimensions = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        u.atoms.positions = traj.pos[0]
        with atomic_path(pdb) as tmp:
            u.atoms.write(str(tmp.with_suffix(".pdb")), bonds="conect")
            tmp.with_suffix(".pdb").replace(tmp)
        with atomic_path(xtc) as tmp:
            xtmp = tmp.with_suffix(".xtc")
            with mda.Writer(str(xtmp), traj.n_atoms) as w:
                for t, frame in enumerate(traj.pos):
                    u.atoms.positions = frame
                    u.trajectory.ts.time = t * traj.timestep
                    w.write(u.atoms)
            xtmp.replace(tmp)
