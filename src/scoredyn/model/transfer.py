r"""The ideal-geometry anchor of a molecule held out of training, from the molecules trained on.

A model trained on anchors (:mod:`scoredyn.model.anchor`) conditions every move on the
anchor of r_t and, with ``rollout.fast_coordinates: redraw``, takes each output's bond
lengths and angles from a bank of MD frames. For a training molecule both come from its
own MD. A held-out molecule has no MD that SD may read (its MD is the reference SD is
judged against), so its anchor is transferred from the training molecules, atom by atom:

- Each atom's *environment* is its atom-type label with the multiset of its neighbours'
  labels (butane's C2, a CH2 bonded to a CH3 and a CH2, is pentane's C2 or C4).
- Every atom of the held-out molecule with neighbours is matched to a training atom of the
  same environment, and its neighbours to that atom's neighbours, label to label. Its
  bonds and angles (the 1-2 and 1-3 distances of its *star*) are that star's: the target
  distances are the training star's MD means and each bank row holds the training star's
  distances in one MD frame, so the correlations within a star (the six angles about a
  carbon, which must close into one tetrahedron) are MD's.
- The match prefers the training molecule that holds the most of the held-out molecule's
  environments, then the training atom used least, so that two equivalent atoms (butane's
  C2 and C3) take two different training atoms (pentane's C2 and C4); stars from one
  training molecule share its bank rows and keep their correlations too.

Bond lengths and angles are local: for the alkanes' C-C and C-H bonds and their angles
the environment fixes them to the MD spread (the paper's transfer rests on the same
locality, sec. 3.3). Stiff torsions (an amide's omega, whose 1-4 distances the ``torsions``
anchor holds) need two stars at once and are not transferred: a held-out bond like one
that training holds stiff is an error that says so.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from scoredyn.geometry import adjacency
from scoredyn.model.anchor import IdealGeometry, angle_pairs, rotatable_torsions, torsion_sides

Environment = tuple[str, tuple[str, ...]]


@dataclass(frozen=True)
class TrainedMolecule:
    """A training molecule as ``model.pt`` records it: its atom labels, bonds [B, 2] and anchor."""

    labels: Sequence[str]
    bonds: np.ndarray
    geometry: IdealGeometry


def environments(labels: Sequence[str], bonds: np.ndarray) -> list[Environment]:
    """Each atom's label with the sorted labels of its bonded neighbours."""
    return _environments(labels, _neighbours(len(labels), bonds))


def _neighbours(n: int, bonds: np.ndarray) -> list[set[int]]:
    return [set(x) for x in adjacency(n, np.asarray(bonds, dtype=int).reshape(-1, 2))]


def _environments(labels: Sequence[str], nbrs: list[set[int]]) -> list[Environment]:
    return [(labels[a], tuple(sorted(labels[n] for n in nbrs[a]))) for a in range(len(labels))]


def _star(nbrs: list[set[int]], env: list[Environment], centre: int) -> list[int]:
    """The neighbours of ``centre`` in a canonical order: by environment, then index."""
    return sorted(nbrs[centre], key=lambda n: (env[n], n))


def transfer_geometry(labels: Sequence[str], bonds: np.ndarray, trained: Mapping[str, TrainedMolecule],
                      name: str = "the held-out molecule") -> IdealGeometry:  # fmt: skip
    """The anchor of a molecule with atom labels [N] and bonds [B, 2], transferred star by star
    from the training molecules (see the module's text).

    Raises
    ------
    ValueError
        naming the atoms whose environments no training atom has, or a bond like one that
        training holds stiff.
    """
    bonds = np.asarray(bonds, dtype=int).reshape(-1, 2)
    n = len(labels)
    nbrs = _neighbours(n, bonds)
    env = _environments(labels, nbrs)
    src = {k: _Source.of(m) for k, m in sorted(trained.items())}
    for k, s in src.items():
        if s.mol.geometry.bank is None:
            raise ValueError(f"the anchor of training molecule {k} keeps no bank of MD distances to transfer")
    _refuse_stiff(bonds, env, src.values(), name)

    # each centre's training star: its molecule and the map of its atoms (centre and neighbours)
    centres = [a for a in range(n) if nbrs[a]]
    held = {k: set(s.env) for k, s in src.items()}
    covers = {k: sum(env[a] in held[k] for a in centres) for k in src}
    known = {e for s in src.values() for e in s.env}
    unknown = [f"{a + 1} ({labels[a]} bonded to {', '.join(env[a][1])})" for a in centres if env[a] not in known]
    if unknown:
        raise ValueError(
            f"{name}'s atoms {', '.join(unknown)} have environments that no training molecule "
            f"({', '.join(sorted(trained))}) has, so their bond lengths and angles cannot be transferred; train on "
            "a molecule that has them, or set rollout.fast_coordinates to model and train.anchor to none"
        )
    used: Counter[tuple[str, int]] = Counter()
    star: dict[int, tuple[str, dict[int, int]]] = {}
    for a in centres:
        options = [(k, b) for k, s in src.items() for b, e in enumerate(s.env) if e == env[a]]
        k, b = min(options, key=lambda o: (-covers[o[0]], used[o], o))
        used[(k, b)] += 1
        star[a] = (k, {a: b, **dict(zip(_star(nbrs, env, a), _star(src[k].nbrs, src[k].env, b), strict=True))})

    pairs = np.concatenate([bonds, angle_pairs(n, bonds)]).reshape(-1, 2)
    rows = max(len(s.mol.geometry.bank) for s in src.values())
    lengths = np.zeros(len(pairs))
    bank = np.zeros((rows, len(pairs)), dtype=np.float32)
    for p, (i, j) in enumerate(pairs.tolist()):
        if p < len(bonds):  # a bond: the star of its end with more neighbours
            centre = i if len(nbrs[i]) >= len(nbrs[j]) else j
        else:  # an angle's end atoms: the star of its centre
            centre = min(nbrs[i] & nbrs[j])
        k, amap = star[centre]
        g, q = src[k].mol.geometry, src[k].index[tuple(sorted((amap[i], amap[j])))]
        lengths[p] = float(g.lengths[q])
        bank[:, p] = g.bank[np.arange(rows) % len(g.bank), q].numpy()
    torsions = rotatable_torsions(n, bonds, pairs)
    return IdealGeometry(pairs, lengths, bank, torsions, torsion_sides(n, bonds, torsions))


@dataclass(frozen=True)
class _Source:
    """A training molecule with its neighbour sets, environments and pair index {(i, j): row}."""

    mol: TrainedMolecule
    nbrs: list[set[int]]
    env: list[Environment]
    index: dict[tuple[int, int], int]

    @classmethod
    def of(cls, mol: TrainedMolecule) -> _Source:
        nbrs = _neighbours(len(mol.labels), mol.bonds)
        index = {(min(p), max(p)): q for q, p in enumerate(mol.geometry.pairs.tolist())}
        return cls(mol, nbrs, _environments(mol.labels, nbrs), index)


def _refuse_stiff(bonds: np.ndarray, env: list[Environment], sources: Iterable[_Source], name: str) -> None:
    """A held-out bond whose two environments match a training bond with held 1-4 distances."""
    stiff: set[tuple[Environment, Environment]] = set()
    for s in sources:
        n_close = len(s.mol.bonds) + len(angle_pairs(len(s.mol.labels), s.mol.bonds))
        held = {tuple(p) for p in s.mol.geometry.pairs[n_close:].tolist()}
        for j, k in np.asarray(s.mol.bonds, dtype=int).tolist():
            if any((min(i, x), max(i, x)) in held for i in s.nbrs[j] - {k} for x in s.nbrs[k] - {j}):
                stiff |= {(s.env[j], s.env[k]), (s.env[k], s.env[j])}
    for j, k in bonds.tolist():
        if (env[j], env[k]) in stiff:
            raise ValueError(
                f"the bond {j + 1}-{k + 1} of {name} is like one whose torsions training holds stiff, which a "
                "transferred anchor cannot hold; set train.anchor to angles"
            )
