"""Internal coordinates grouped the way they are compared: bonds and bond angles by element class.

The paper compares all C-C bond lengths and all C-C-C bond angles of butane as one
distribution each (Fig. 6). For any molecule the same grouping is derived from the
topology: bonds by their two elements (``"C-H"``), angles by their three elements with
the centre in the middle (``"H-C-H"``). Heavy elements come before hydrogen, then
alphabetical order, so ``"C-N-H"`` and not ``"H-N-C"``.

An MD run with LINCS constraints holds some bond lengths fixed (``md.constraints``:
``h-bonds`` every bond to a hydrogen, ``all-bonds`` every bond); their spread in the
trajectory is the rounding of the saved coordinates, not physics.
:func:`constrained_bond_classes` names the classes that are fixed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from scoredyn.errors import ConfigError
from scoredyn.geometry import adjacency, angles, bond_lengths
from scoredyn.molecules import SoluteTopology


def _order(element: str) -> tuple[bool, str]:
    return (element == "H", element)


def bond_classes(top: SoluteTopology) -> dict[str, np.ndarray]:
    """Bonds [B_c, 2] of each element class, classes in a stable order."""
    groups: dict[str, list[list[int]]] = {}
    for i, j in top.bonds.tolist():
        a, b = sorted((top.elements[i], top.elements[j]), key=_order)
        groups.setdefault(f"{a}-{b}", []).append([i, j])
    return {k: np.array(groups[k], dtype=int) for k in sorted(groups, key=_class_key)}


def constrained_bond_classes(classes: Iterable[str], constraints: str) -> list[str]:
    """The bond classes (``"C-H"``) whose lengths MD with ``md.constraints = constraints`` holds fixed."""
    classes = list(classes)
    if constraints == "none":
        return []
    if constraints == "h-bonds":
        return [c for c in classes if "H" in c.split("-")]
    if constraints == "all-bonds":
        return classes
    raise ConfigError(f"md.constraints = {constraints!r}: expected one of none, h-bonds, all-bonds")


def angle_triples(n_atoms: int, bonds: Sequence[Sequence[int]]) -> np.ndarray:
    """Every bond angle i-j-k (i < k) of a bond graph, [A, 3]."""
    nbrs = adjacency(n_atoms, bonds)
    out = [(i, j, k) for j in range(n_atoms) for i in nbrs[j] for k in nbrs[j] if i < k]
    return np.array(out, dtype=int).reshape(-1, 3)


def angle_classes(top: SoluteTopology) -> dict[str, np.ndarray]:
    """Bond angles [A_c, 3] of each element class ``"end-centre-end"``."""
    groups: dict[str, list[list[int]]] = {}
    for i, j, k in angle_triples(top.n_atoms, top.bonds.tolist()).tolist():
        a, b = sorted((top.elements[i], top.elements[k]), key=_order)
        groups.setdefault(f"{a}-{top.elements[j]}-{b}", []).append([i, j, k])
    return {k: np.array(groups[k], dtype=int) for k in sorted(groups, key=_class_key)}


def _class_key(label: str) -> tuple[int, tuple[tuple[bool, str], ...]]:
    """Classes without hydrogen first, then by element."""
    parts = label.split("-")
    return (parts.count("H"), tuple(_order(p) for p in parts))


def class_bond_lengths(pos: np.ndarray, classes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pooled bond lengths of each class, [...*B_c] flattened, for pos [..., N, 3]."""
    return {k: bond_lengths(pos, pairs).ravel() for k, pairs in classes.items()}


def class_angles(pos: np.ndarray, classes: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Pooled bond angles (degrees) of each class, flattened, for pos [..., N, 3]."""
    return {k: angles(pos, triples).ravel() for k, triples in classes.items()}
