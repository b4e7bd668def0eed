"""Graphs of molecular structures in plain torch (no torch-cluster needed), rotations, and the
minibatch of training pairs that the loader builds and the loss reads.

Below both :mod:`scoredyn.diffusion` and :mod:`scoredyn.model`. A batch of G structures is
stored flat: positions ``[n, 3]`` with a ``batch`` vector
``[n]`` giving each atom's structure, atoms of one structure contiguous.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import torch


def structure_mean(x: torch.Tensor, batch: torch.Tensor, n_graphs: int) -> torch.Tensor:
    """Mean over each structure's atoms: x [n] or [n, d] -> [G] or [G, d]."""
    total = torch.zeros((n_graphs, *x.shape[1:]), dtype=x.dtype, device=x.device).index_add_(0, batch, x)
    counts = torch.bincount(batch, minlength=n_graphs).to(x.dtype)
    return total / counts.reshape(-1, *([1] * (x.dim() - 1)))


def radius_graph(pos: torch.Tensor, batch: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Directed edges (i, j), i != j, between atoms of the same structure closer than ``cutoff``.

    Parameters
    ----------
    pos : [n, 3]
    batch : [n] long, sorted, structure index of each atom

    Returns
    -------
    edge_index : [2, E] long; both directions of each pair are present
    """
    n_graphs = int(batch[-1]) + 1 if batch.numel() else 0
    counts = torch.bincount(batch, minlength=n_graphs)  # [G]
    first = torch.cumsum(counts, 0) - counts  # [G] index of each structure's first atom
    n_max = int(counts.max()) if n_graphs else 0
    local = torch.arange(pos.shape[0], device=pos.device) - first[batch]  # [n]
    padded = pos.new_full((n_graphs, n_max, 3), float("inf"))
    padded[batch, local] = pos
    d = torch.cdist(padded, padded)  # [G, N, N]; padding rows are inf or nan
    mask = d < cutoff
    mask &= ~torch.eye(n_max, dtype=torch.bool, device=pos.device)
    g, i, j = mask.nonzero(as_tuple=True)
    return torch.stack([first[g] + i, first[g] + j])


def dihedral_cos_sin(pos: torch.Tensor, quads: torch.Tensor) -> torch.Tensor:
    """(cos, sin) [T, 2] of the dihedrals i-j-k-l of quads [T, 4] (indices into pos [n, 3]), with the
    sign of :func:`scoredyn.geometry.dihedrals`: the sine changes sign in a mirror image, the cosine does not."""
    b0 = pos[quads[:, 0]] - pos[quads[:, 1]]
    b1 = pos[quads[:, 2]] - pos[quads[:, 1]]
    b2 = pos[quads[:, 3]] - pos[quads[:, 2]]
    b1 = b1 / b1.norm(dim=-1, keepdim=True).clamp_min(1e-6)
    v = b0 - (b0 * b1).sum(-1, keepdim=True) * b1
    w = b2 - (b2 * b1).sum(-1, keepdim=True) * b1
    xy = torch.stack([(v * w).sum(-1), (torch.cross(b1, v, dim=-1) * w).sum(-1)], dim=-1)  # [T, 2]
    return xy / xy.norm(dim=-1, keepdim=True).clamp_min(1e-9)


def edge_positions(edge_index: torch.Tensor, n_nodes: int, pairs: torch.Tensor) -> torch.Tensor:
    """The index [P] in edge_index [2, E] of each directed pair (i, j) of pairs [P, 2]; a pair that is
    not an edge raises ValueError."""
    keys = edge_index[0] * n_nodes + edge_index[1]
    order = torch.argsort(keys)
    wanted = pairs[:, 0] * n_nodes + pairs[:, 1]
    at = torch.searchsorted(keys[order], wanted).clamp_max(max(len(keys) - 1, 0))
    found = order[at] if len(keys) else at
    if len(wanted) and (not len(keys) or bool((keys[found] != wanted).any())):
        raise ValueError("a torsion's central bond is not an edge of the graph: is it longer than the cut-off?")
    return found


def random_rotations(
    n: int, generator: torch.Generator | None = None, dtype=torch.float32, device=None
) -> torch.Tensor:
    """``n`` rotation matrices [n, 3, 3] drawn uniformly (Haar) from SO(3), via unit quaternions."""
    q = torch.randn(n, 4, generator=generator, dtype=dtype, device=device)
    q = q / q.norm(dim=1, keepdim=True)
    w, x, y, z = q.unbind(1)
    return torch.stack(
        [
            1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w),
            2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w),
            2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y),
        ],
        dim=1,
    ).reshape(n, 3, 3)  # fmt: skip


@dataclass
class PairBatch:
    """A minibatch of training pairs, flat over atoms.

    Attributes
    ----------
    r : [n, 3] conditioning structures, Angstrom
    z : [n, 3] displacements r_{t+dt} - r_t, Angstrom
    types : [n] long
    batch : [n] long, sorted structure index
    n_graphs : G
    torsions : [T, 4] long, one torsion about each rotatable bond of every structure (indices into
        the flat atoms), for a network with torsion features; None without an anchor
    sides : [S, 2] long, (row of ``torsions``, atom) of the atoms each torsion turns, for a network
        with a torsion head; None without an anchor
    """

    r: torch.Tensor
    z: torch.Tensor
    types: torch.Tensor
    batch: torch.Tensor
    n_graphs: int
    torsions: torch.Tensor | None = None
    sides: torch.Tensor | None = None

    def to(self, device: torch.device | str) -> PairBatch:
        return PairBatch(
            self.r.to(device, non_blocking=True),
            self.z.to(device, non_blocking=True),
            self.types.to(device, non_blocking=True),
            self.batch.to(device, non_blocking=True),
            self.n_graphs,
            None if self.torsions is None else self.torsions.to(device, non_blocking=True),
            None if self.sides is None else self.sides.to(device, non_blocking=True),
        )

    def rotated(self, rot: torch.Tensor) -> PairBatch:
        """Rotate each structure and its displacement by its own matrix ``rot`` [G, 3, 3]."""
        per_atom = rot[self.batch]  # [n, 3, 3]
        r = torch.einsum("nij,nj->ni", per_atom, self.r)
        z = torch.einsum("nij,nj->ni", per_atom, self.z)
        return dataclasses.replace(self, r=r, z=z)
