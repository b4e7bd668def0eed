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

The same projection redraws the fast coordinates of a move's output (``bank``): by the same
argument, P(fast coordinates at t + dt | r_t) is their equilibrium distribution, so the
output a_t + z is projected onto the fast distances of an MD frame drawn at random from
the training data (every one of its 1-2, 1-3 and stiff 1-4 distances at once, so that
their correlations and their consistency as one structure are kept), with one torsion about
each rotatable bond (phi, psi, a methyl rotor) held where the network put it; without that
hold the minimum-norm correction would turn phi and psi by 7 degrees (sd) per step. The
network then carries the slow coordinates, and the bond lengths and angles of an SD frame
are MD's, not the network's residual errors at the 0.01 A scale (which, kept, give
bond-length and bond-angle distributions 6-140 times further from MD's than MD's own
split-half noise).
"""

from __future__ import annotations

import numpy as np
import torch

from scoredyn.geometry import adjacency, bond_lengths, dihedrals, side_of_bond

#: what the anchor holds (see the module's text)
KINDS = ("none", "angles", "torsions")
#: torsions about a bond are stiff when the circular standard deviation of each is below this (degrees)
STIFF_TORSION_DEG = 20.0
#: Gauss-Newton steps of the projection
STEPS = 4
#: the damping of each step (A^2), for pairs that over-determine a centre
DAMPING = 1e-3
#: MD frames, evenly spaced, whose fast distances the redraw picks from
BANK = 2000


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


def _bond_torsions(nbrs: list[set[int]], j: int, k: int) -> list[tuple[int, int, int, int]]:
    """Every torsion i-j-k-l about the bond j-k of a graph with neighbour sets nbrs."""
    return [(i, j, k, m) for i in nbrs[j] - {k} for m in nbrs[k] - {j} if i != m]


def stiff_torsion_pairs(bonds: np.ndarray, frames: np.ndarray, limit_deg: float = STIFF_TORSION_DEG) -> np.ndarray:
    """The 1-4 pairs [P, 2] (i < l) of every bond j-k whose torsions i-j-k-l all stay within
    ``limit_deg`` (circular standard deviation over frames [T, N, 3])."""
    bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
    nbrs = [set(n) for n in adjacency(frames.shape[1], bonds)]
    pairs: set[tuple[int, int]] = set()
    for j, k in bonds.tolist():
        quads = np.array(_bond_torsions(nbrs, j, k), dtype=int)
        if len(quads) and np.all(circular_sd_deg(dihedrals(frames, quads)) < limit_deg):
            pairs |= _ordered(quads[:, [0, 3]].tolist())
    closer = _ordered(bonds.tolist()) | {tuple(p) for p in angle_pairs(frames.shape[1], bonds).tolist()}
    return np.array(sorted(pairs - closer), dtype=int).reshape(-1, 2)  # a ring's 1-4 may be a 1-3 too


def rotatable_torsions(n_atoms: int, bonds: np.ndarray, held: np.ndarray) -> np.ndarray:
    """One torsion i-j-k-l [Q, 4] about every bond j-k of a bond graph bonds [B, 2] none of whose
    1-4 pairs is among the held pairs [P, 2] (the bonds that phi, psi and methyl rotations turn
    about): the one whose end atoms have the most non-terminal neighbours (the backbone's, for a
    peptide's phi and psi), then the lowest indices."""
    bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
    nbrs = [set(x) for x in adjacency(n_atoms, bonds)]
    inner = np.array([sum(len(nbrs[b]) > 1 for b in x) for x in nbrs])  # non-terminal neighbours
    pairs = {tuple(p) for p in np.asarray(held, dtype=int).reshape(-1, 2).tolist()}
    out = []
    for j, k in bonds.tolist():
        quads = _bond_torsions(nbrs, j, k)
        if quads and not any((min(i, m), max(i, m)) in pairs for i, _, _, m in quads):
            out.append(min(quads, key=lambda q: (-inner[q[0]], -inner[q[3]], q[0], q[3])))
    return np.array(out, dtype=int).reshape(-1, 4)


def torsion_sides(n_atoms: int, bonds: np.ndarray, torsions: np.ndarray) -> np.ndarray:
    """The atoms [S, 2] (torsion row, atom) that turn with each torsion i-j-k-l of torsions [Q, 4]:
    the smaller of the two sides of its bond j-k (either turns the torsion; the other side
    then turns with the rest of the molecule). A bond in a ring has none."""
    nbrs = adjacency(n_atoms, np.asarray(bonds, dtype=int).reshape(-1, 2))
    out = []
    for q, (_, j, k, _) in enumerate(np.asarray(torsions, dtype=int).reshape(-1, 4).tolist()):
        try:
            side = min(side_of_bond(nbrs, j, k), side_of_bond(nbrs, k, j), key=len)
        except ValueError:
            continue
        out += [(q, int(m)) for m in side]
    return np.array(out, dtype=int).reshape(-1, 2)


def _torsions(x: torch.Tensor, quads: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Dihedrals [R, Q] (radians, the sign of :func:`scoredyn.geometry.dihedrals`) of x [R, N, 3] and
    their gradients [R, Q, 4, 3] with respect to the four atoms (Blondel and Karplus, 1996)."""
    f = x[:, quads[:, 0]] - x[:, quads[:, 1]]
    g = x[:, quads[:, 1]] - x[:, quads[:, 2]]
    h = x[:, quads[:, 3]] - x[:, quads[:, 2]]
    a, b = torch.cross(f, g, dim=-1), torch.cross(h, g, dim=-1)
    gn = g.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    a2 = (a * a).sum(-1, keepdim=True).clamp_min(1e-9)
    b2 = (b * b).sum(-1, keepdim=True).clamp_min(1e-9)
    phi = torch.atan2((torch.cross(b, a, dim=-1) * g).sum(-1) / gn[..., 0], (a * b).sum(-1))
    fg, hg = (f * g).sum(-1, keepdim=True) / gn, (h * g).sum(-1, keepdim=True) / gn
    di, dl = -gn * a / a2, gn * b / b2
    dj = -di - fg / gn * di - hg / gn * dl
    dk = -dl + fg / gn * di + hg / gn * dl
    return phi, torch.stack([di, dj, dk, dl], dim=2)


class IdealGeometry:
    """The projection onto a molecule's mean 1-2, 1-3 and stiff 1-4 distances.

    Parameters
    ----------
    pairs : [P, 2] atom pairs whose distances are held
    lengths : [P] their target distances (Angstrom)
    bank : [K, P] the same distances in K MD frames, which :meth:`redraw` picks from
    torsions : [Q, 4] one torsion about each rotatable bond, which :meth:`redraw` holds
    sides : [S, 2] (torsion row, atom): the atoms on the smaller side of each torsion's bond
        (:func:`torsion_sides`), which a network's torsion head turns
    """

    def __init__(self, pairs: np.ndarray, lengths: np.ndarray, bank: np.ndarray | None = None,
                 torsions: np.ndarray | None = None, sides: np.ndarray | None = None) -> None:  # fmt: skip
        self.pairs = torch.as_tensor(np.asarray(pairs, dtype=np.int64).reshape(-1, 2))  # [P, 2]
        self.lengths = torch.as_tensor(np.asarray(lengths, dtype=np.float64).reshape(-1))  # [P]
        if len(self.pairs) != len(self.lengths):
            raise ValueError("one target length per pair is needed")
        self.bank = None if bank is None else torch.as_tensor(np.asarray(bank, dtype=np.float32))  # [K, P]
        if self.bank is not None and (self.bank.ndim != 2 or self.bank.shape[1] != len(self) or not len(self.bank)):
            raise ValueError("the bank needs one row of distances per frame, one per pair")
        self.torsions = torch.as_tensor(np.asarray([] if torsions is None else torsions, dtype=np.int64).reshape(-1, 4))
        self.sides = None if sides is None else torch.as_tensor(np.asarray(sides, dtype=np.int64).reshape(-1, 2))

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
        lengths = bond_lengths(frames, pairs)  # [T, P]
        every = np.unique(np.linspace(0, len(frames) - 1, min(BANK, len(frames))).round().astype(int))
        torsions = rotatable_torsions(frames.shape[1], bonds, pairs)
        sides = torsion_sides(frames.shape[1], bonds, torsions)
        return cls(pairs, lengths.mean(axis=0), lengths[every], torsions, sides)

    def __len__(self) -> int:
        return int(self.pairs.shape[0])

    def apply(self, pos: torch.Tensor, target: torch.Tensor | None = None, hold: bool = False) -> torch.Tensor:
        """The anchors [..., N, 3] of structures pos [..., N, 3] (same dtype and device): projected
        onto the mean distances, or onto target [R, P] (one row per structure); with ``hold``, each
        structure's ``torsions`` are held at the values they have in pos."""
        if not len(self):
            return pos
        dev, dtype, shape = pos.device, pos.dtype, pos.shape
        i, j = self.pairs[:, 0].to(dev), self.pairs[:, 1].to(dev)
        target = (self.lengths if target is None else target).to(dev, torch.float64)
        quads = self.torsions.to(dev) if hold else self.torsions[:0].to(dev)
        n, p, q = shape[-2], len(self), len(quads)
        x = pos.reshape(-1, n, 3).to(torch.float64)  # [R, N, 3]
        held = _torsions(x, quads)[0]  # [R, Q]
        rows, torsion_rows = torch.arange(p, device=dev), torch.arange(p, p + q, device=dev)
        eye = DAMPING * torch.eye(p + q, dtype=torch.float64, device=dev)
        for _ in range(STEPS):
            d = x[:, j] - x[:, i]  # [R, P, 3]
            length = d.norm(dim=-1).clamp_min(1e-6)  # [R, P]
            u = d / length[..., None]
            jac = torch.zeros(len(x), p + q, n, 3, dtype=torch.float64, device=dev)
            jac[:, rows, j] = u
            jac[:, rows, i] = -u
            residual = length - target  # [R, P]
            if q:
                phi, grad = _torsions(x, quads)  # [R, Q], [R, Q, 4, 3]
                for a in range(4):
                    jac[:, torsion_rows, quads[:, a]] += grad[:, :, a]
                residual = torch.cat([residual, torch.remainder(phi - held + torch.pi, 2 * torch.pi) - torch.pi], 1)
            jac = jac.reshape(len(x), p + q, 3 * n)  # [R, P + Q, 3N] d (length, torsion) / d x
            lam = torch.linalg.solve(jac @ jac.transpose(1, 2) + eye, residual[..., None])  # [R, P + Q, 1]
            x = x - (jac.transpose(1, 2) @ lam).reshape(-1, n, 3)
        return x.reshape(shape).to(dtype)

    def redraw(self, pos: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Structures pos [R, N, 3] projected onto the fast distances of the bank frames of rows
        floor(u K), for uniforms u [R] in [0, 1), holding their ``torsions``.

        The frame is drawn from the whole bank, not from the frames nearest in phi and psi: the
        bond angles do follow the backbone by a few degrees, but picking among the 32 (or 200)
        nearest of 2000 frames repeats a few frames wherever the bank is sparse, and measured
        worse (bench/fidelity.py's rollouts: the worst bond/angle JSD at 4.1 (1.8) times its MD
        floor, against 1.1 from the whole bank)."""
        if self.bank is None:
            raise ValueError("this anchor geometry holds no bank of MD distances to redraw from")
        row = (u.double().cpu() * len(self.bank)).long().clamp(0, len(self.bank) - 1)
        return self.apply(pos, self.bank[row], hold=True)

    @classmethod
    def from_dict(cls, rec: dict[str, list]) -> IdealGeometry:
        bank = rec.get("bank")  # bank and torsions: absent in model.pt files written before the redraw
        return cls(np.asarray(rec["pairs"], dtype=np.int64), np.asarray(rec["lengths"], dtype=np.float64),
                   None if bank is None else np.asarray(bank, dtype=np.float32), rec.get("torsions"),
                   rec.get("sides"))  # fmt: skip  # sides: absent before the torsion head

    def to_dict(self) -> dict[str, object]:
        rec: dict[str, object] = {"pairs": self.pairs.tolist(), "lengths": self.lengths.tolist()}
        if self.bank is not None:
            rec["bank"] = self.bank.clone()  # [K, P] float32
            rec["torsions"] = self.torsions.tolist()
        if self.sides is not None:
            rec["sides"] = self.sides.tolist()
        return rec
