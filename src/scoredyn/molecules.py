"""A molecule's description: how to build it, what to measure on it, what to check.

Each molecule lives in ``resources/molecules/<name>/molecule.yaml`` (validated against
``schemas/molecule.schema.yaml``). Atoms are named by selectors ``"RES:NAME"`` (or
``"NAME"`` when the atom name is unique), resolved against the solute topology that
GROMACS built, so the description never depends on atom order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from scoredyn.errors import MoleculeError
from scoredyn.geometry import adjacency, bond_lengths, dihedrals, signed_volume
from scoredyn.schema import validate

#: |omega| above this (degrees) is a trans peptide bond; cis lies near 0.
TRANS_MIN_DEG = 90.0

ATOMIC_NUMBERS = {"H": 1, "C": 6, "N": 7, "O": 8, "F": 9, "P": 15, "S": 16, "Cl": 17, "Br": 35}
_MASS_ELEMENT = [
    (1.008, "H"),
    (12.011, "C"),
    (14.007, "N"),
    (15.999, "O"),
    (18.998, "F"),
    (30.974, "P"),
    (32.06, "S"),
    (35.45, "Cl"),
    (79.904, "Br"),
]


def element_from_mass(mass: float) -> str:
    """The element whose standard atomic mass is nearest to ``mass`` (united atoms excluded)."""
    return min(_MASS_ELEMENT, key=lambda me: abs(me[0] - mass))[1]


@dataclass(frozen=True)
class SoluteTopology:
    """Atoms and bonds of a solute, in GROMACS order.

    Attributes
    ----------
    names, resnames, types, elements : one entry per atom
    resids : [N] int
    masses, charges : [N] float
    bonds : [B, 2] int, zero-based
    """

    names: list[str]
    resnames: list[str]
    resids: np.ndarray
    types: list[str]
    elements: list[str]
    masses: np.ndarray
    charges: np.ndarray
    bonds: np.ndarray

    @property
    def n_atoms(self) -> int:
        return len(self.names)

    @property
    def numbers(self) -> np.ndarray:
        """[N] atomic numbers."""
        return np.array([ATOMIC_NUMBERS[e] for e in self.elements], dtype=int)

    def select(self, selector: str, where: str = "molecule.yaml") -> int:
        """Index of the atom named ``"RES:NAME"`` or ``"NAME"``.

        Raises
        ------
        MoleculeError
            If no atom or more than one atom matches.
        """
        res, _, name = selector.rpartition(":")
        hits = [
            i
            for i, (r, n) in enumerate(zip(self.resnames, self.names, strict=True))
            if n == name and (not res or r == res)
        ]
        if len(hits) != 1:
            known = ", ".join(f"{r}:{n}" for r, n in zip(self.resnames, self.names, strict=True))
            what = "no atom" if not hits else f"{len(hits)} atoms"
            raise MoleculeError(f"{where}: selector {selector!r} matches {what}; write it as RES:NAME, one of: {known}")
        return hits[0]


@dataclass(frozen=True)
class BondRule:
    """Allowed length range (Angstrom) for bonds between two element classes.

    ``"*"`` matches any heavy (non-hydrogen) element.
    """

    pair: tuple[str, str]
    low: float
    high: float

    def matches(self, a: str, b: str) -> bool:
        def ok(pattern: str, el: str) -> bool:
            return el == pattern or (pattern == "*" and el != "H")

        p, q = self.pair
        return (ok(p, a) and ok(q, b)) or (ok(p, b) and ok(q, a))


@dataclass(frozen=True)
class State:
    """A named state: a core set as a box of periodic dihedral ranges, and its centre.

    ``ranges[d]`` lists [low, high] intervals in degrees (the union is the allowed
    set); a frame is in the core when every listed dihedral lies in its set.
    """

    name: str
    ranges: dict[str, list[tuple[float, float]]]
    centre: dict[str, float]


@dataclass(frozen=True)
class Stereocentre:
    centre: str
    neighbours: tuple[str, str, str]
    sign: int  # +1 or -1: the sign of signed_volume() the reference structure must have
    label: str


@dataclass(frozen=True)
class Molecule:
    """A molecule as declared in its ``molecule.yaml``."""

    name: str
    path: Path
    description: str
    topology: dict[str, Any]
    starts: dict[str, Any]
    dihedrals: dict[str, tuple[str, str, str, str]]
    states: dict[str, State]
    bond_rules: list[BondRule]  # empty: derived from the built structure
    stereocentres: list[Stereocentre] | None  # None: derived from the topology and the built structure
    peptide_bonds: list[tuple[str, str, str, str]] = field(default_factory=list)
    base: Path | None = None  # where relative file names are read (default: the molecule.yaml's folder)

    @property
    def folder(self) -> Path:
        return self.base or self.path.parent

    @property
    def start_method(self) -> str:
        return str(self.starts["method"])

    def resolve(self, top: SoluteTopology, reference: np.ndarray | None = None) -> ResolvedMolecule:
        """Bind every selector and bond rule to atom indices of ``top``.

        ``reference`` [N, 3] (Angstrom, the built structure) supplies the bond ranges and
        stereocentres that the description leaves out.
        """
        where = str(self.path)
        quads = {k: np.array([top.select(s, where) for s in v]) for k, v in self.dihedrals.items()}
        bond_rules = self.bond_rules or derived_bond_rules(top, reference, where)
        rules = np.full(len(top.bonds), -1, dtype=int)
        for b, (i, j) in enumerate(top.bonds.tolist()):
            for r, rule in enumerate(bond_rules):
                if rule.matches(top.elements[i], top.elements[j]):
                    rules[b] = r
                    break
            else:
                raise MoleculeError(
                    f"{where}: bond {top.names[i]}-{top.names[j]} "
                    f"({top.elements[i]}-{top.elements[j]}) has no range under checks.bonds; "
                    "add a rule for that element pair"
                )
        if self.stereocentres is None:
            stereo = derived_stereocentres(top, reference) if reference is not None else []
        else:
            stereo = [
                (top.select(s.centre, where), [top.select(n, where) for n in s.neighbours], s.sign)
                for s in self.stereocentres
            ]
        omegas = np.array([[top.select(s, where) for s in q] for q in self.peptide_bonds], dtype=int)
        return ResolvedMolecule(self, top, quads, rules, stereo, omegas.reshape(-1, 4), bond_rules)


def _pair(a: str, b: str) -> tuple[str, str]:
    """An element pair, heavy element first."""
    return tuple(sorted((a, b), key=lambda e: (e == "H", e)))  # type: ignore[return-value]


def derived_bond_rules(top: SoluteTopology, reference: np.ndarray | None, where: str) -> list[BondRule]:
    """One rule per element pair of ``top``: [0.82, 1.15] x the shortest and longest such bond in
    ``reference`` (a stretch of 15 % breaks a covalent bond; thermal motion at 300 K stays
    within a few per cent)."""
    if reference is None:
        raise MoleculeError(
            f"{where}: checks.bonds is left out, so the bond ranges come from the built structure; "
            "build the topology first (md_topology) or declare checks.bonds"
        )
    lengths = bond_lengths(np.asarray(reference, dtype=float), top.bonds)
    classes: dict[tuple[str, str], list[float]] = {}
    for (i, j), d in zip(top.bonds.tolist(), lengths.tolist(), strict=True):
        classes.setdefault(_pair(top.elements[i], top.elements[j]), []).append(d)
    return [BondRule(pair, round(0.82 * min(d), 3), round(1.15 * max(d), 3)) for pair, d in sorted(classes.items())]


def environment_classes(top: SoluteTopology) -> list[int]:
    """Atoms in the same class have the same bonded environment at every depth (colour refinement
    of the bond graph, starting from the elements)."""
    nbrs = adjacency(top.n_atoms, top.bonds.tolist())
    labels = [top.elements.index(e) for e in top.elements]
    for _ in range(top.n_atoms):
        keys = [(labels[i], tuple(sorted(labels[j] for j in nbrs[i]))) for i in range(top.n_atoms)]
        index = {k: n for n, k in enumerate(sorted(set(keys)))}
        new = [index[k] for k in keys]
        if len(set(new)) == len(set(labels)):
            return new
        labels = new
    return labels


def derived_stereocentres(top: SoluteTopology, reference: np.ndarray) -> list[tuple[int, list[int], int]]:
    """(centre, three neighbours, sign in ``reference``) of every atom with four bonded neighbours in
    pairwise different environments (a tetrahedral stereocentre)."""
    nbrs = adjacency(top.n_atoms, top.bonds.tolist())
    classes = environment_classes(top)
    out = []
    for c in range(top.n_atoms):
        if len(nbrs[c]) == 4 and len({classes[j] for j in nbrs[c]}) == 4:
            three = sorted(nbrs[c])[:3]
            out.append((c, three, int(np.sign(signed_volume(np.asarray(reference, dtype=float), c, three)))))
    return out


@dataclass(frozen=True)
class CheckReport:
    """Which frames pass each physical check; arrays are [T] bool."""

    bonds_ok: np.ndarray
    chirality_ok: np.ndarray
    trans_ok: np.ndarray
    messages: list[str]

    @property
    def ok(self) -> np.ndarray:
        return self.bonds_ok & self.chirality_ok & self.trans_ok


@dataclass(frozen=True)
class ResolvedMolecule:
    """A :class:`Molecule` bound to the atom indices of one solute topology."""

    molecule: Molecule
    top: SoluteTopology
    dihedral_atoms: dict[str, np.ndarray]  # name -> [4]
    bond_rule_index: np.ndarray  # [B] rule per bond
    stereo: list[tuple[int, list[int], int]]  # (centre, neighbours, sign)
    peptide_bond_atoms: np.ndarray  # [P, 4]
    bond_rules: list[BondRule]  # declared, or derived from the built structure

    def dihedral_values(self, pos: np.ndarray) -> dict[str, np.ndarray]:
        """Dihedrals of interest in degrees, each [...] for pos [..., N, 3]."""
        return {k: dihedrals(pos, q[None, :])[..., 0] for k, q in self.dihedral_atoms.items()}

    def in_state(self, pos: np.ndarray, state: str) -> np.ndarray:
        """[...] bool: whether each structure lies in the core set of ``state``."""
        values = self.dihedral_values(pos)
        inside = np.ones(pos.shape[:-2], dtype=bool)
        for d, intervals in self.molecule.states[state].ranges.items():
            x = values[d]
            hit = np.zeros_like(inside)
            for lo, hi in intervals:
                hit |= np.mod(x - lo, 360.0) <= (hi - lo)
            inside &= hit
        return inside

    def check(self, pos: np.ndarray, peptide_bonds: bool = True, labels: Sequence[str] | None = None) -> CheckReport:
        """Bond lengths, chirality and (optionally) trans peptide bonds for pos [T, N, 3] (Angstrom).

        ``labels`` names the structures in messages (default ``frame t``).
        """
        pos = np.asarray(pos, dtype=float).reshape(-1, self.top.n_atoms, 3)
        rules = self.bond_rules
        lengths = bond_lengths(pos, self.top.bonds)  # [T, B]
        low = np.array([rules[r].low for r in self.bond_rule_index])
        high = np.array([rules[r].high for r in self.bond_rule_index])
        bad_bond = (lengths < low) | (lengths > high)
        chiral = np.ones(len(pos), dtype=bool)
        for centre, nbrs, sign in self.stereo:
            chiral &= np.sign(signed_volume(pos, centre, nbrs)) == sign
        trans = np.ones(len(pos), dtype=bool)
        if peptide_bonds and len(self.peptide_bond_atoms):
            omega = dihedrals(pos, self.peptide_bond_atoms)
            trans = np.all(np.abs(omega) > TRANS_MIN_DEG, axis=-1)

        def name(t: int) -> str:
            return labels[t] if labels is not None else f"frame {t}"

        messages = []
        if bad_bond.any():
            t, b = np.argwhere(bad_bond)[0]
            i, j = self.top.bonds[b]
            messages.append(
                f"bond {self.top.names[i]}-{self.top.names[j]} is {lengths[t, b]:.3f} A in {name(t)}, "
                f"outside [{low[b]}, {high[b]}]"
            )
        if not chiral.all():
            messages.append(f"a stereocentre changed handedness (first in {name(int(np.argmin(chiral)))})")
        if not trans.all():
            messages.append(f"a peptide bond is cis (first in {name(int(np.argmin(trans)))})")
        return CheckReport(~bad_bond.any(axis=1), chiral, trans, messages)

    def nearest_to_centre(self, pos: np.ndarray, state: str, core_only: bool = True) -> int:
        """Index of the structure in pos [T, N, 3] inside ``state``'s core that lies nearest its centre.

        Distance is the root-mean-square periodic difference of the centre's dihedrals.
        With ``core_only=False`` the nearest structure is returned wherever it lies.

        Raises
        ------
        MoleculeError
            When no structure lies in the core (and ``core_only``).
        """
        inside = self.in_state(pos, state) if core_only else np.ones(len(pos), dtype=bool)
        if not inside.any():
            raise MoleculeError(
                f"{self.molecule.path}: no structure of the {len(pos)} given lies in the core of state {state!r}; "
                "run a longer production or widen the state's ranges"
            )
        values = self.dihedral_values(pos)
        d2 = np.zeros(len(pos))
        for d, c in self.molecule.states[state].centre.items():
            d2 += (np.mod(values[d] - c + 180.0, 360.0) - 180.0) ** 2
        d2[~inside] = np.inf
        return int(np.argmin(d2))


def check_summary(mol: ResolvedMolecule, pos: np.ndarray) -> dict[str, object]:
    """Fractions of frames passing each check, and the largest moves between frames (Angstrom).

    Hydrogens are reported apart, and also relative to their bonded atom: a methyl
    rotor turning within one frame interval moves its hydrogens by up to the diameter
    of its rotation circle (about 2.04 A) plus the carbon's own move.
    """
    rep = mol.check(pos)
    top = mol.top
    heavy = np.array(top.elements) != "H"
    move = np.linalg.norm(np.diff(pos, axis=0), axis=-1) if len(pos) > 1 else np.zeros((1, top.n_atoms))
    carrier = {}
    for i, j in top.bonds.tolist():
        if not heavy[i]:
            carrier[i] = j
        if not heavy[j]:
            carrier[j] = i
    hs = sorted(carrier)
    rel = pos[:, hs] - pos[:, [carrier[h] for h in hs]]
    rel_move = np.linalg.norm(np.diff(rel, axis=0), axis=-1) if len(pos) > 1 and hs else np.zeros(1)
    return {
        "bonds_ok": float(rep.bonds_ok.mean()),
        "chirality_ok": float(rep.chirality_ok.mean()),
        "trans_ok": float(rep.trans_ok.mean()),
        "max_atom_move_A": float(move.max()),
        "max_heavy_atom_move_A": float(move[:, heavy].max()),
        "max_hydrogen_move_relative_to_bonded_atom_A": float(rel_move.max()),
        "frames_with_a_move_over_2A": int((move.max(axis=1) > 2.0).sum()),
        "messages": rep.messages,
    }


def molecules_root() -> Path:
    """``resources/molecules`` of the source tree (the workflow's default)."""
    return Path(__file__).resolve().parents[2] / "resources" / "molecules"


@cache
def _molecule_schema() -> dict:
    text = resources.files("scoredyn.schemas").joinpath("molecule.schema.yaml").read_text()
    return yaml.safe_load(text)


def _ranges(spec: Any) -> list[tuple[float, float]]:
    pairs = spec if isinstance(spec[0], list) else [spec]
    return [(float(lo), float(hi)) for lo, hi in pairs]


def load_molecule(name: str, root: Path | str | None = None, defined: dict[str, Any] | None = None) -> Molecule:
    """The molecule ``name``: from ``defined`` (the config's ``molecules.define``) when it is there,
    else from ``<root>/<name>/molecule.yaml``.

    A description in the config reads its files relative to the working directory.

    Raises
    ------
    MoleculeError
        If the folder or file is missing, or the description is invalid.
    """
    if defined and name in defined:
        return parse_molecule(defined[name], name, Path(f"config molecules.define.{name}"), Path.cwd())
    root = Path(root) if root is not None else molecules_root()
    path = root / name / "molecule.yaml"
    if not path.is_file():
        have = sorted(p.parent.name for p in root.glob("*/molecule.yaml"))
        raise MoleculeError(
            f"{path}: no such molecule description; known molecules in {root}: {', '.join(have) or 'none'}. "
            "Add a folder with a molecule.yaml or describe it under molecules.define in the config "
            "(see README, 'Adding a molecule')"
        )
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise MoleculeError(f"{path}: not valid YAML ({exc})") from None
    return parse_molecule(raw, name, path, path.parent)


def structure_positions_A(path: Path) -> np.ndarray:
    """Positions [N, 3] in Angstrom of a .pdb or .gro structure file, each atom with three finite
    coordinates.

    Raises
    ------
    MoleculeError
        Naming the file and the first line whose coordinates are missing or not numbers.
    """
    if path.suffix.lower() == ".gro":
        from scoredyn.md.topology import read_gro_positions

        pos = 10.0 * read_gro_positions(path)[0]  # [N, 3]; names the first line it cannot read
        bad = np.flatnonzero(~np.isfinite(pos).all(axis=1))
        if len(bad):
            raise MoleculeError(f"{path}: line {bad[0] + 3} has no three finite coordinates; fix the line, "
                                "or regenerate the file")  # fmt: skip
    else:  # PDB: x, y, z in columns 31-54
        rows = []
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if not line.startswith(("ATOM", "HETATM")):
                continue
            try:
                xyz = [float(line[30 + 8 * c : 38 + 8 * c]) for c in range(3)]
            except ValueError:
                xyz = [float("nan")]
            if not np.all(np.isfinite(xyz)):
                raise MoleculeError(
                    f"{path}: line {number} has no three finite coordinates (columns 31-54); fix or complete the "
                    "line, or regenerate the file"
                )
            rows.append(xyz)
        pos = np.array(rows, dtype=np.float64).reshape(-1, 3)
    if not len(pos):
        raise MoleculeError(f"{path}: holds no atoms; give a .pdb with ATOM/HETATM lines or a .gro file")
    return pos


def structure_atoms(path: Path) -> int:
    """The number of atoms of a .pdb or .gro structure file (:func:`structure_positions_A`)."""
    return len(structure_positions_A(path))


def _check_files(raw: dict[str, Any], path: Path, base: Path) -> None:
    """The molecule's structure has an atom count and finite coordinates, and a given topology's
    solute has the structure's atom count (checked first, so that a short structure is named as such)."""
    spec = raw["topology"]
    for key in ("structure", "topology"):
        if key in spec and not (base / spec[key]).is_file():
            raise MoleculeError(f"{path}: topology.{key} {spec[key]!r} is not a file in {base}")
    if "structure" not in spec:
        return
    structure = base / spec["structure"]
    n = structure_atoms(structure)
    if "topology" in spec:
        from scoredyn.md.topology import read_solute_topology

        want = read_solute_topology(base / spec["topology"]).n_atoms
        if n != want:
            raise MoleculeError(
                f"{structure}: has {n} atoms but the solute of {base / spec['topology']} has {want}; give the "
                "solute alone, every atom, in topology order"
            )


def parse_molecule(raw: Any, name: str, path: Path, base: Path) -> Molecule:
    """Validate a molecule description (the content of a molecule.yaml) and check its files: they exist,
    the structure's coordinates are complete, and a given topology has the structure's atoms."""
    validate(raw, _molecule_schema(), str(path), MoleculeError)
    _check_files(raw, path, base)
    dih = {k: tuple(v) for k, v in raw.get("dihedrals", {}).items()}
    states = {}
    for s, spec in raw.get("states", {}).items():
        unknown = set(spec["ranges"]) - set(dih)
        if unknown:
            raise MoleculeError(
                f"{path}: states.{s} uses undeclared dihedrals {sorted(unknown)}; declare them under dihedrals"
            )
        states[s] = State(s, {d: _ranges(r) for d, r in spec["ranges"].items()}, dict(spec["centre"]))
    checks = raw.get("checks", {})
    stereo = None
    if "stereocentres" in checks:
        stereo = [
            Stereocentre(c["centre"], tuple(c["neighbours"]), 1 if c["sign"] == "positive" else -1, c.get("label", ""))
            for c in checks["stereocentres"]
        ]
    starts = raw["starts"]
    if starts["method"] == "dihedrals":
        missing = set(starts["dihedrals"]) - set(dih)
        if missing:
            raise MoleculeError(f"{path}: starts.dihedrals names undeclared dihedrals {sorted(missing)}")
    return Molecule(
        name=name,
        path=path,
        description=raw.get("description", ""),
        topology=raw["topology"],
        starts=starts,
        dihedrals=dih,
        states=states,
        bond_rules=[BondRule(tuple(b["pair"]), *map(float, b["range"])) for b in checks.get("bonds", [])],
        stereocentres=stereo,
        peptide_bonds=[tuple(q) for q in checks.get("peptide_bonds", [])],
        base=base,
    )
