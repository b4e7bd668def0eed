"""What each method's trajectory is reduced to before it is compared."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scoredyn.analysis.observables import angle_classes, bond_classes, class_angles, class_bond_lengths
from scoredyn.analysis.states import core_assignment
from scoredyn.molecules import ResolvedMolecule


@dataclass(frozen=True)
class Observed:
    """Observables of one trajectory, frames ``dt_ps`` apart.

    Attributes
    ----------
    dihedrals : name -> [T] degrees
    bonds : element class -> pooled bond lengths (Angstrom)
    angles : element class -> pooled bond angles (degrees)
    assignment : [T] core-set state index (order of ``states``), -1 before the first core
    states : the molecule's state names
    dt_ps : time between frames
    """

    dihedrals: dict[str, np.ndarray]
    bonds: dict[str, np.ndarray]
    angles: dict[str, np.ndarray]
    assignment: np.ndarray
    states: list[str]
    dt_ps: float

    @property
    def n_frames(self) -> int:
        return len(self.assignment)


def observe(mol: ResolvedMolecule, pos: np.ndarray, dt_ps: float) -> Observed:
    """Reduce a trajectory pos [T, N, 3] (Angstrom) to its observables."""
    states = list(mol.molecule.states)
    in_core = np.stack([mol.in_state(pos, s) for s in states], axis=1) if states else np.zeros((len(pos), 0), bool)
    return Observed(
        dihedrals=mol.dihedral_values(pos),
        bonds=class_bond_lengths(pos, bond_classes(mol.top)),
        angles=class_angles(pos, angle_classes(mol.top)),
        assignment=core_assignment(in_core),
        states=states,
        dt_ps=dt_ps,
    )


def thinned(obs: Observed, dt_ps: float) -> Observed:
    """Every k-th frame of a trajectory's observables, k = round(dt_ps / obs.dt_ps) (at least 1):
    the trajectory read at the frame interval of a coarser one."""
    k = max(1, round(dt_ps / obs.dt_ps))
    if k == 1:
        return obs

    def every(d: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return {n: v.reshape(obs.n_frames, -1)[::k].ravel() for n, v in d.items()}  # per-frame blocks of pooled classes

    return Observed(every(obs.dihedrals), every(obs.bonds), every(obs.angles), obs.assignment[::k], obs.states,
                    obs.dt_ps * k)  # fmt: skip


def halves(obs: Observed) -> tuple[Observed, Observed]:
    """The first and second half of a trajectory's observables, for split-half noise floors."""
    half = obs.n_frames // 2

    def cut(d: dict[str, np.ndarray], part: int) -> dict[str, np.ndarray]:
        out = {}
        for k, v in d.items():
            per = len(v) // obs.n_frames  # pooled classes hold per-frame blocks of equal size
            out[k] = v[part * half * per : (part + 1) * half * per]
        return out

    first, second = (
        Observed(cut(obs.dihedrals, p), cut(obs.bonds, p), cut(obs.angles, p),
                 obs.assignment[p * half : (p + 1) * half], obs.states, obs.dt_ps)
        for p in (0, 1)
    )  # fmt: skip
    return first, second
