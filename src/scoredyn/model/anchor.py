r"""The ideal-geometry anchor: where an SD move starts from.

Bond lengths and bond angles relax within a few tens of femtoseconds, so after a lag of
1 ps they carry no memory of their values at t (in the demo's MD, the lag-1 ps
autocorrelation of every heavy-atom bond length lies within +-0.12). The next frame
depends on the slow coordinates of r_t, not on its bond stretches. A model that draws
z = r_{t+dt} - r_t has to learn to undo the current stretch to the 0.03 A that bonds
keep; what it fails to undo, it passes on, so bond lengths random-walk over a rollout
until a check rejects every move.

With the anchor the move starts from a_t = A(r_t), the structure nearest to r_t (in a
least-squares sense) whose fast internal coordinates sit at their mean MD values, and
the model learns z = r_{t+dt} - a_t, conditioned on a_t. The fast coordinates are held
as distances:

- ``angles``: the 1-2 and 1-3 distances (bonds and bond angles);
- ``torsions`` (the default): also the 1-4 distances about every bond whose torsions MD
  holds within ``STIFF_TORSION_DEG`` (circular standard deviation), such as a peptide
  bond's omega (about 9 degrees in alanine dipeptide, whose omega keeps no memory at
  1 ps), but not phi or psi (31-74 degrees), which are the slow coordinates SD is for.
  Without them a rollout's omega random-walks to cis within tens of steps.

Because a_t has ideal fast coordinates whether r_t came from MD or from the model, the
model never meets a stretched structure, and the stretches of its own outputs cannot
accumulate. The assumption is testable: P(r_{t+dt} | r_t) = P(r_{t+dt} | A(r_t)) holds as
far as the fast coordinates at t are forgotten at t + dt.

A is a few damped Gauss-Newton steps (the minimum-norm correction of the linearised
distances, as SHAKE's matrix form solves it) from r_t, so it is a smooth, deterministic,
rotation- and translation-equivariant function of r_t that keeps the centroid and costs
0.7 ms for one alanine dipeptide on a CPU (0.2 s for 1000 at once). The mean distances
of a flexible molecule are not exactly one geometry, so the distances come out at their
least-squares compromise (within 0.001 A rms of the targets for alanine dipeptide).
"""

from __future__ import annotations

import numpy as np
import torch

from scoredyn.geometry import adjacency, bond_lengths, dihedrals

#: what the anchor holds (see the module's text)
KINDS = ("none", "angles", "torsions")
#: torsions about a bond are stiff when the circular standard deviation of each is below this (degrees)
STIFF_TORSION_DEG = 20.0
#: Gauss-Newton steps of the projection
STEPS = 4
#: the damping of each step (A^2), for pairs that over-determine a centre
DAMPING = 1e-3


def _ordered(pairs: set[tuple[int, int]] | list[tuple[int, int]]) -> set[tuple[int, int]]:
    return {(min(i, j), max(i, j)) for i, j in pairs}


def angle_pairs(n_atoms: int, bonds: np.ndarray) -> np.ndarray:
    """The 1-3 pairs [P, 2] (i < k) of a bond graph bonds [B, 2]: the end atoms of every bond angle."""
    bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
    nbrs = adjacency(n_atoms, bonds)
    pairs = _ordered([(i, k) for centre in nbrs for i in centre for k in centre if i != k])
    return np.array(sorted(pairs - _ordered(bonds.tolist())), dtype=int).reshape(-1, 2)


def circular_sd_deg(deg: np.ndarray) -> np.ndarray:
    """Circular standard deviation (degrees) over the first axis of angles deg [T, ...]."""
    length = np.abs(np.exp(1j * np.radians(deg)).mean(axis=0)).clip(1e-12, 1.0)
    return np.degrees(np.sqrt(-2.0 * np.log(length)))


def stiff_torsion_pairs(bonds: np.ndarray, frames: np.ndarray, limit_deg: float = STIFF_TORSION_DEG) -> np.ndarray:
    """The 1-4 pairs [P, 2] (i < l) of every bond j-k whose torsions i-j-k-l all stay within
    ``limit_deg`` (circular standard deviation over frames [T, N, 3])."""
    bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
    nbrs = [set(n) for n in adjacency(frames.shape[1], bonds)]
    pairs: set[tuple[int, int]] = set()
    for j, k in bonds.tolist():
        quads = np.array([(i, j, k, m) for i in nbrs[j] - {k} for m in nbrs[k] - {j} if i != m], dtype=int)
        if len(quads) and np.all(circular_sd_deg(dihedrals(frames, quads)) < limit_deg):
            pairs |= _ordered(quads[:, [0, 3]].tolist())
    closer = _ordered(bonds.tolist()) | {tuple(p) for p in angle_pairs(frames.shape[1], bonds).tolist()}
    return np.array(sorted(pairs - closer), dtype=int).reshape(-1, 2)  # a ring's 1-4 may be a 1-3 too


class IdealGeometry:
    """The projection onto a molecule's mean 1-2, 1-3 and stiff 1-4 distances.

    Parameters
    ----------
    pairs : [P, 2] atom pairs whose distances are held
    lengths : [P] their target distances (Angstrom)
    """

    def __init__(self, pairs: np.ndarray, lengths: np.ndarray) -> None:
        self.pairs = torch.as_tensor(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))  # [P, 2]
        self.lengths = torch.as_tensor(np.asarray(lengths, dtype=np.float64).reshape(-1))  # [P]
        if len(self.pairs) != len(self.lengths):
            raise ValueError("one target length per pair is needed")

    @classmethod
    def from_frames(cls, bonds: np.ndarray, frames: np.ndarray, kind: str = "torsions") -> IdealGeometry:
        """The fast coordinates of ``kind`` of a molecule with bonds [B, 2], at their means over
        MD frames [T, N, 3]."""
        if kind not in KINDS[1:]:
            raise ValueError(f"unknown anchor {kind!r}; use one of {', '.join(KINDS[1:])}")
        frames = np.asarray(frames, dtype=np.float64).reshape(-1, *np.shape(frames)[-2:])
        bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
        parts = [bonds, angle_pairs(frames.shape[1], bonds)]
        if kind == "torsions":
            parts.append(stiff_torsion_pairs(bonds, frames))
        pairs = np.concatenate(parts)
        return cls(pairs, bond_lengths(frames, pairs).mean(axis=0))

    def __len__(self) -> int:
        return int(self.pairs.shape[0])

    def apply(self, pos: torch.Tensor) -> torch.Tensor:
        """The anchors [..., N, 3] of structures pos [..., N, 3] (same dtype and device)."""
        if not len(self):
            return pos
        dev, dtype, shape = pos.device, pos.dtype, pos.shape
        i, j = self.pairs[:, 0].to(dev), self.pairs[:, 1].to(dev)
        target = self.lengths.to(dev, torch.float64)
        n, p = shape[-2], len(self)
        x = pos.reshape(-1, n, 3).to(torch.float64)  # [R, N, 3]
        rows = torch.arange(p, device=dev)
        eye = DAMPING * torch.eye(p, dtype=torch.float64, device=dev)
        for _ in range(STEPS):
            d = x[:, j] - x[:, i]  # [R, P, 3]
            length = d.norm(dim=-1).clamp_min(1e-6)  # [R, P]
            u = d / length[..., None]
            jac = torch.zeros(len(x), p, n, 3, dtype=torch.float64, device=dev)
            jac[:, rows, j] = u
            jac[:, rows, i] = -u
            jac = jac.reshape(len(x), p, 3 * n)  # [R, P, 3N] d length / d x
            lam = torch.linalg.solve(jac @ jac.transpose(1, 2) + eye, (length - target)[..., None])  # [R, P, 1]
            x = x - (jac.transpose(1, 2) @ lam).reshape(-1, n, 3)
        return x.reshape(shape).to(dtype)

    @classmethod
    def from_dict(cls, rec: dict[str, list]) -> IdealGeometry:
        return cls(np.asarray(rec["pairs"], dtype=np.int64), np.asarray(rec["lengths"], dtype=np.float64))

    def to_dict(self) -> dict[str, list]:
        return {"pairs": self.pairs.tolist(), "lengths": self.lengths.tolist()}
