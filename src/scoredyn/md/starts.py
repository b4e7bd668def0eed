"""Diverse starting structures for the short training runs (paper sec. 2.7).

Peptides: dihedrals drawn uniformly in [0, 360) and set geometrically
(:func:`scoredyn.geometry.set_dihedral` turns one side of the bond rigidly, so bond
lengths and stereocentres are untouched). A draw that brings atoms more than three
bonds apart closer than ``min_clearance_A``, or that fails the molecule's checks, is
redrawn. Alkanes: frames of the high-temperature vacuum run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoredyn.errors import CheckError
from scoredyn.geometry import adjacency, min_nonbonded_distance, set_dihedral
from scoredyn.molecules import ResolvedMolecule


@dataclass(frozen=True)
class DrawnStart:
    """A starting structure [N, 3] (Angstrom), its set dihedrals (degrees) and the draws it took."""

    pos: np.ndarray
    dihedrals: dict[str, float]
    draws: int


def draw_dihedral_start(
    ref: np.ndarray,
    mol: ResolvedMolecule,
    names: list[str],
    rng: np.random.Generator,
    min_clearance_A: float,
    max_draws: int = 10000,
) -> DrawnStart:
    """Set the dihedrals ``names`` of ``ref`` [N, 3] to uniform random values.

    Raises
    ------
    CheckError
        If no acceptable structure turns up in ``max_draws`` draws.
    """
    nbrs = adjacency(mol.top.n_atoms, mol.top.bonds)
    for draw in range(1, max_draws + 1):
        values = {n: float(rng.uniform(0.0, 360.0)) for n in names}
        pos = ref
        for n in names:
            pos = set_dihedral(pos, nbrs, mol.dihedral_atoms[n], values[n])
        if min_nonbonded_distance(pos, nbrs) < min_clearance_A:
            continue
        if mol.check(pos[None]).ok[0]:
            wrapped = {n: (v + 180.0) % 360.0 - 180.0 for n, v in values.items()}
            return DrawnStart(pos, wrapped, draw)
    raise CheckError(
        f"{mol.molecule.path}: no draw of {names} in {max_draws} kept atoms {min_clearance_A} A apart and passed "
        "the checks; lower md.starts.dihedrals.min_clearance_A"
    )
