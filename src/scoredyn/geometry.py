"""Internal coordinates on plain numpy arrays.

All functions take positions of shape ``[..., N, 3]`` (any length unit) so that
they work on one structure or on a whole trajectory at once.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence

import numpy as np


def bond_lengths(pos: np.ndarray, pairs: np.ndarray) -> np.ndarray:
    """Distances ``|r_j - r_i|`` for index pairs.

    Parameters
    ----------
    pos : [..., N, 3]
    pairs : [B, 2] int

    Returns
    -------
    [..., B]
    """
    pairs = np.asarray(pairs, dtype=int).reshape(-1, 2)
    return np.linalg.norm(pos[..., pairs[:, 1], :] - pos[..., pairs[:, 0], :], axis=-1)


def angles(pos: np.ndarray, triples: np.ndarray) -> np.ndarray:
    """Bond angles i-j-k in degrees, ``[..., A]`` for triples ``[A, 3]``."""
    t = np.asarray(triples, dtype=int).reshape(-1, 3)
    u = pos[..., t[:, 0], :] - pos[..., t[:, 1], :]
    v = pos[..., t[:, 2], :] - pos[..., t[:, 1], :]
    cos = np.sum(u * v, axis=-1) / (np.linalg.norm(u, axis=-1) * np.linalg.norm(v, axis=-1))
    return np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))


def dihedrals(pos: np.ndarray, quads: np.ndarray) -> np.ndarray:
    """Dihedral angles i-j-k-l in degrees, in [-180, 180), IUPAC sign convention.

    Parameters
    ----------
    pos : [..., N, 3]
    quads : [D, 4] int

    Returns
    -------
    [..., D]
    """
    q = np.asarray(quads, dtype=int).reshape(-1, 4)
    b0 = pos[..., q[:, 0], :] - pos[..., q[:, 1], :]
    b1 = pos[..., q[:, 2], :] - pos[..., q[:, 1], :]
    b2 = pos[..., q[:, 3], :] - pos[..., q[:, 2], :]
    b1n = b1 / np.linalg.norm(b1, axis=-1, keepdims=True)
    v = b0 - np.sum(b0 * b1n, axis=-1, keepdims=True) * b1n
    w = b2 - np.sum(b2 * b1n, axis=-1, keepdims=True) * b1n
    x = np.sum(v * w, axis=-1)
    y = np.sum(np.cross(b1n, v) * w, axis=-1)
    deg = np.degrees(np.arctan2(y, x))
    return np.where(deg >= 180.0, deg - 360.0, deg)


def signed_volume(pos: np.ndarray, centre: int, neighbours: Sequence[int]) -> np.ndarray:
    """Chirality of a stereocentre: ``(a - c) . ((b - c) x (d - c))``.

    For an L amino acid with ``neighbours = (N, C, CB)`` around ``centre = CA``
    the value is positive (the CORN rule, read from the side opposite to HA).

    Returns
    -------
    [...]
    """
    a, b, d = (pos[..., i, :] - pos[..., centre, :] for i in neighbours)
    return np.sum(a * np.cross(b, d), axis=-1)


def place_atom(a: np.ndarray, b: np.ndarray, c: np.ndarray, bond: float, angle: float, torsion: float) -> np.ndarray:
    """Natural-extension reference frame: the atom d bonded to c.

    ``|d - c| = bond``, angle b-c-d = ``angle`` and dihedral a-b-c-d = ``torsion``
    (degrees).
    """
    bc = c - b
    bc /= np.linalg.norm(bc)
    n = np.cross(b - a, bc)
    n /= np.linalg.norm(n)
    m = np.cross(n, bc)
    th, ph = np.radians(angle), np.radians(torsion)
    d2 = np.array([-bond * np.cos(th), bond * np.sin(th) * np.cos(ph), bond * np.sin(th) * np.sin(ph)])
    return c + d2[0] * bc + d2[1] * m + d2[2] * n


def adjacency(n_atoms: int, bonds: Iterable[Sequence[int]]) -> list[list[int]]:
    """Neighbour lists of a bond graph."""
    nbrs: list[list[int]] = [[] for _ in range(n_atoms)]
    for i, j in bonds:
        nbrs[int(i)].append(int(j))
        nbrs[int(j)].append(int(i))
    return nbrs


def side_of_bond(nbrs: list[list[int]], j: int, k: int) -> np.ndarray:
    """Atoms reached from ``k`` without crossing the bond j-k (``k`` included).

    Raises
    ------
    ValueError
        If j-k lies in a ring, so that no rigid rotation about it exists.
    """
    seen = {k}
    todo = deque([k])
    while todo:
        a = todo.popleft()
        for b in nbrs[a]:
            if a == k and b == j:
                continue
            if b == j:
                raise ValueError(f"bond {j}-{k} is in a ring; its dihedral cannot be set rigidly")
            if b not in seen:
                seen.add(b)
                todo.append(b)
    return np.array(sorted(seen))


def rotate_about_axis(points: np.ndarray, origin: np.ndarray, axis: np.ndarray, angle: float) -> np.ndarray:
    """Rotate ``points`` [M, 3] by ``angle`` degrees about the line through ``origin``."""
    u = axis / np.linalg.norm(axis)
    t = np.radians(angle)
    k = np.array([[0.0, -u[2], u[1]], [u[2], 0.0, -u[0]], [-u[1], u[0], 0.0]])
    rot = np.eye(3) + np.sin(t) * k + (1.0 - np.cos(t)) * (k @ k)
    return (points - origin) @ rot.T + origin


def set_dihedral(pos: np.ndarray, nbrs: list[list[int]], quad: Sequence[int], value: float) -> np.ndarray:
    """Return a copy of ``pos`` [N, 3] whose dihedral ``quad`` equals ``value`` degrees.

    The part of the molecule on the ``k`` side of the central bond j-k turns rigidly
    about that bond. Every bond length, bond angle inside each part and every
    stereocentre is therefore unchanged; only torsions about j-k change.
    """
    i, j, k, _ = (int(x) for x in quad)
    moving = side_of_bond(nbrs, j, k)
    if i in moving:
        raise ValueError(f"atom {i} lies on the moving side of bond {j}-{k}")
    current = float(dihedrals(pos, np.array([quad]))[0])
    out = pos.copy()
    out[moving] = rotate_about_axis(pos[moving], pos[k], pos[k] - pos[j], value - current)
    return out


def min_nonbonded_distance(pos: np.ndarray, nbrs: list[list[int]], separation: int = 3) -> float:
    """Smallest distance between atoms more than ``separation`` bonds apart.

    Used to reject structures in which a rigid torsion made atoms overlap.
    """
    n = len(nbrs)
    far = np.ones((n, n), dtype=bool)
    for s in range(n):
        depth = {s: 0}
        todo = deque([s])
        while todo:
            a = todo.popleft()
            if depth[a] == separation:
                continue
            for b in nbrs[a]:
                if b not in depth:
                    depth[b] = depth[a] + 1
                    todo.append(b)
        far[s, list(depth)] = False
    d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    return float(d[far].min()) if far.any() else float("inf")
