"""OPLS-AA topologies and structures for saturated hydrocarbons, from the bond graph.

GROMACS' ``oplsaa.ff`` has no alkane residues, and ``gmx x2top`` assigns alcohol types
with placeholder dihedrals. Here every carbon gets its OPLS-AA alkane type from its
number of hydrogens (opls_135 CH3, opls_136 CH2, opls_137 CH, opls_138 CH4, opls_139 C),
hydrogens are opls_140, and the bonded terms (bonds, angles, 1-4 pairs, proper
dihedrals) are listed *without* parameters, so that ``grompp`` takes each one from
``oplsaa.ff/ffbonded.itp`` by bond type (CT, HC).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from scoredyn.geometry import adjacency, place_atom

#: (OPLS type, charge e, mass u) of a carbon, by its number of hydrogens;
#: the values of oplsaa.ff/ffnonbonded.itp.
CARBON_TYPES: dict[int, tuple[str, float, float]] = {
    3: ("opls_135", -0.180, 12.011),
    2: ("opls_136", -0.120, 12.011),
    1: ("opls_137", -0.060, 12.011),
    4: ("opls_138", -0.240, 12.011),
    0: ("opls_139", 0.000, 12.011),
}
HYDROGEN_TYPE: tuple[str, float, float] = ("opls_140", 0.060, 1.008)

CC_BOND = 1.529  # Angstrom, OPLS CT-CT
CH_BOND = 1.090  # Angstrom, OPLS CT-HC
CCC_ANGLE = 112.7  # degrees
HCH_ANGLE = 107.8
HCC_ANGLE = 110.7


@dataclass(frozen=True)
class Hydrocarbon:
    """A saturated hydrocarbon: atoms, bonds and derived bonded terms.

    Attributes
    ----------
    names : atom names, carbons ``C1..Cn`` then their hydrogens ``H<c><k>``
    elements : "C" or "H" per atom
    types, charges, masses : OPLS-AA parameters per atom
    bonds : [B, 2] zero-based atom indices
    """

    names: list[str]
    elements: list[str]
    types: list[str]
    charges: list[float]
    masses: list[float]
    bonds: np.ndarray

    @property
    def n_atoms(self) -> int:
        return len(self.names)

    def angles(self) -> list[tuple[int, int, int]]:
        """Every i-j-k with i-j and j-k bonded, i < k."""
        nbrs = adjacency(self.n_atoms, self.bonds)
        return [(i, j, k) for j in range(self.n_atoms) for i, k in combinations(sorted(nbrs[j]), 2)]

    def dihedrals(self) -> list[tuple[int, int, int, int]]:
        """Every proper i-j-k-l over each bond j-k (j < k), i != k, l != j."""
        nbrs = adjacency(self.n_atoms, self.bonds)
        out = []
        for j, k in sorted(tuple(sorted(b)) for b in self.bonds.tolist()):
            for i in sorted(nbrs[j]):
                for m in sorted(nbrs[k]):
                    if i != k and m != j and i != m:
                        out.append((i, j, k, m))
        return out

    def pairs(self) -> list[tuple[int, int]]:
        """1-4 pairs: the end atoms of every dihedral, each pair once, no 1-2 or 1-3 pairs."""
        nbrs = adjacency(self.n_atoms, self.bonds)
        close = {(i, j) for i in range(self.n_atoms) for j in nbrs[i]}
        close |= {(i, k) for j in range(self.n_atoms) for i in nbrs[j] for k in nbrs[j]}
        seen = sorted({tuple(sorted((i, m))) for i, _, _, m in self.dihedrals()})
        return [p for p in seen if p not in close]

    def itp(self, resname: str) -> str:
        """The ``[ moleculetype ]`` text; bonded parameters come from ffbonded.itp."""
        lines = [
            f"; {resname}: saturated hydrocarbon, OPLS-AA alkane types, written by scoredyn",
            "; bonded parameters are looked up by grompp in oplsaa.ff/ffbonded.itp",
            "[ moleculetype ]",
            "; name  nrexcl",
            f"{resname}  3",
            "",
            "[ atoms ]",
            ";  nr  type      resnr  res   atom  cgnr  charge    mass",
        ]
        for n, (name, t, q, m) in enumerate(zip(self.names, self.types, self.charges, self.masses, strict=True), 1):
            lines.append(f"{n:5d}  {t:<9s} 1  {resname:<5s} {name:<5s} {n:4d}  {q:8.3f}  {m:8.3f}")

        def section(title: str, rows: list[tuple[int, ...]], funct: int) -> None:
            lines.extend(["", f"[ {title} ]"])
            lines.extend("  ".join(f"{a + 1:5d}" for a in row) + f"  {funct}" for row in rows)

        section("bonds", [tuple(b) for b in self.bonds.tolist()], 1)
        section("pairs", self.pairs(), 1)
        section("angles", self.angles(), 1)
        section("dihedrals", self.dihedrals(), 3)
        return "\n".join(lines) + "\n"


def hydrocarbon_from_skeleton(n_carbons: int, cc_bonds: list[tuple[int, int]]) -> Hydrocarbon:
    """Saturate a carbon skeleton with hydrogens and assign OPLS-AA types.

    Parameters
    ----------
    n_carbons : number of carbons
    cc_bonds : zero-based carbon-carbon bonds; the skeleton must be a tree with
        at most four bonds per carbon.
    """
    deg = np.zeros(n_carbons, dtype=int)
    for i, j in cc_bonds:
        deg[i] += 1
        deg[j] += 1
    if np.any(deg > 4):
        raise ValueError("a carbon has more than four carbon neighbours")
    if n_carbons > 1 and len(cc_bonds) != n_carbons - 1:
        raise ValueError("the carbon skeleton must be a tree (acyclic and connected)")
    names = [f"C{c + 1}" for c in range(n_carbons)]
    elements = ["C"] * n_carbons
    params = [CARBON_TYPES[4 - int(d)] for d in deg]
    bonds = [tuple(b) for b in cc_bonds]
    for c in range(n_carbons):
        for k in range(4 - int(deg[c])):
            bonds.append((c, len(names)))
            names.append(f"H{c + 1}{k + 1}")
            elements.append("H")
            params.append(HYDROGEN_TYPE)
    return Hydrocarbon(
        names=names,
        elements=elements,
        types=[p[0] for p in params],
        charges=[p[1] for p in params],
        masses=[p[2] for p in params],
        bonds=np.array(bonds, dtype=int),
    )


def n_alkane(n_carbons: int) -> Hydrocarbon:
    """The linear alkane C_nH_(2n+2)."""
    return hydrocarbon_from_skeleton(n_carbons, [(c, c + 1) for c in range(n_carbons - 1)])


def n_alkane_coordinates(mol: Hydrocarbon) -> np.ndarray:
    """All-trans zig-zag coordinates [N, 3] in Angstrom for a linear alkane from :func:`n_alkane`."""
    n_c = mol.elements.count("C")
    pos = np.zeros((mol.n_atoms, 3))
    # two fixed reference points start the chain; the carbons then follow by NeRF, all trans
    ref = [np.array([-1.0, 1.0, 0.0]), np.array([-1.0, 0.0, 0.0])]
    chain = [*ref, np.zeros(3)]
    for _ in range(1, n_c):
        chain.append(place_atom(chain[-3], chain[-2], chain[-1], CC_BOND, CCC_ANGLE, 180.0))
    pos[:n_c] = np.array(chain[2:])
    nbrs = adjacency(mol.n_atoms, mol.bonds)
    for c in range(n_c):
        hs = [h for h in nbrs[c] if mol.elements[h] == "H"]
        heavy = [a for a in nbrs[c] if mol.elements[a] == "C"]
        if len(heavy) == 0:  # methane: a regular tetrahedron
            tet = np.array([[1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1]]) / np.sqrt(3.0)
            pos[hs] = pos[c] + CH_BOND * tet[: len(hs)]
        elif len(heavy) == 1:  # CH3: staggered about the C-C bond
            p = heavy[0]
            far = [a for a in nbrs[p] if a != c and mol.elements[a] == "C"]
            a = pos[far[0]] if far else pos[p] + np.array([0.0, 1.0, 0.3])
            for k, h in enumerate(hs):
                pos[h] = place_atom(a, pos[p], pos[c], CH_BOND, HCC_ANGLE, 60.0 + 120.0 * k)
        else:  # CH2 (or CH): around the bisector of the carbon neighbours
            u = [(pos[a] - pos[c]) / np.linalg.norm(pos[a] - pos[c]) for a in heavy[:2]]
            d = -(u[0] + u[1])
            d /= np.linalg.norm(d)
            n = np.cross(u[0], u[1])
            n /= np.linalg.norm(n)
            half = np.radians(HCH_ANGLE / 2.0)
            signs = [1.0, -1.0] if len(hs) == 2 else [0.0]
            for h, s in zip(hs, signs, strict=True):
                direction = d if s == 0.0 else np.cos(half) * d + s * np.sin(half) * n
                pos[h] = pos[c] + CH_BOND * direction
    return pos
