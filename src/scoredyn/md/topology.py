"""Solute topologies: built with pdb2gmx or from the bond graph, and read back.

:func:`build_topology` writes ``topol.top`` (solute only, with the water model
included for later solvation), any local ``.itp`` and ``solute.gro``.
:func:`read_solute_topology` parses the solute's ``[ moleculetype ]`` back into a
:class:`~scoredyn.molecules.SoluteTopology` (names, types, elements, bonds).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np

from scoredyn.errors import MoleculeError
from scoredyn.io import atomic_write_text
from scoredyn.md.alkane import n_alkane, n_alkane_coordinates
from scoredyn.md.gmx import Gromacs
from scoredyn.molecules import Molecule, ResolvedMolecule, SoluteTopology, element_from_mass

WATER_RESNAMES = {"SOL", "HOH", "WAT", "TIP3", "TIP4", "SPC"}


def write_gro(path: Path | str, title: str, resids, resnames, names, pos_nm: np.ndarray, box_nm) -> Path:
    """A .gro file; ``pos_nm`` [N, 3] in nm, ``box_nm`` three edges in nm."""
    lines = [title, f"{len(names):5d}"]
    for i, (rid, rn, an, x) in enumerate(zip(resids, resnames, names, pos_nm, strict=True), 1):
        lines.append(f"{int(rid) % 100000:5d}{rn:<5.5s}{an:>5.5s}{i % 100000:5d}{x[0]:8.3f}{x[1]:8.3f}{x[2]:8.3f}")
    lines.append("".join(f"{b:10.5f}" for b in box_nm))
    return atomic_write_text(path, "\n".join(lines) + "\n")


def read_gro_positions(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """Positions [N, 3] and box edges [3] of a .gro file, both in nm."""
    lines = Path(path).read_text(errors="replace").splitlines()
    try:
        n = int(lines[1])
    except (IndexError, ValueError):
        raise MoleculeError(f"{path}: line 2 of a .gro file must be the atom count; regenerate the file") from None
    if len(lines) < n + 3:
        raise MoleculeError(f"{path}: says {n} atoms but has {len(lines) - 2} lines after its header, not {n} and "
                            "a box line; regenerate the file")  # fmt: skip

    def floats(i: int, fields: list[str]) -> list[float]:
        """The numbers of line 3 + i (0-based after the header), or one error naming that line."""
        try:
            return [float(x) for x in fields]
        except ValueError as exc:
            raise MoleculeError(f"{path}: line {3 + i} is not a readable .gro line ({exc}); "
                                "regenerate the file") from None  # fmt: skip

    atoms = lines[2 : 2 + n]  # x, y, z in columns 21-44
    pos = np.array([floats(i, [line[20 + 8 * k : 28 + 8 * k] for k in range(3)]) for i, line in enumerate(atoms)])
    box = np.array(floats(n, lines[2 + n].split()[:3]))
    return pos.reshape(n, 3), box


def _pdb2gmx_menu_choice(text: str, wanted: list[str]) -> list[str]:
    """Indices of the terminus types named ``wanted`` in pdb2gmx's menus."""
    menus = re.split(r"Select (?:start|end) terminus type for \S+", text)[1:]
    if len(menus) < len(wanted):
        raise MoleculeError(f"pdb2gmx offered {len(menus)} terminus menus, expected {len(wanted)}")
    picks = []
    for menu, name in zip(menus, wanted, strict=False):
        options = dict(re.findall(r"^\s*(\d+):\s*(\S.*?)\s*$", menu, flags=re.M)[::-1])
        by_name = {v: k for k, v in options.items()}
        if name not in by_name:
            raise MoleculeError(f"terminus type {name!r} is not offered by pdb2gmx; it offers {sorted(by_name)}")
        picks.append(by_name[name])
    return picks


def _build_pdb2gmx(mol: Molecule, gmx: Gromacs, ff: str, water: str, out: Path) -> None:
    spec = mol.topology
    pdb = (mol.folder / spec["structure"]).resolve()
    if not pdb.is_file():
        raise MoleculeError(f"{mol.path}: topology.structure {spec['structure']!r} not found in {mol.folder}")
    termini = list(spec.get("termini", ["None", "None"]))
    flags = dict(f=str(pdb), ff=ff, water=water, o="solute.gro", p="topol.top", i="posre.itp", ter=True)
    if spec.get("ignore_hydrogens", True):
        flags["ignh"] = True
    # pdb2gmx numbers its terminus menus differently between versions: read them first
    with tempfile.TemporaryDirectory() as probe:
        text = gmx("pdb2gmx", cwd=probe, stdin=["0"] * len(termini), check=False, **flags)
    gmx("pdb2gmx", cwd=out, stdin=_pdb2gmx_menu_choice(text, termini), **flags)


def _build_alkane(mol: Molecule, ff: str, water: str, out: Path) -> None:
    spec = mol.topology
    res = spec["resname"]
    hc = n_alkane(int(spec["carbons"]))
    atomic_write_text(out / f"{res}.itp", hc.itp(res))
    top = "\n".join(
        [
            f"; {mol.name}: OPLS-AA alkane with {ff}.ff and {water} water, written by scoredyn",
            f'#include "{ff}.ff/forcefield.itp"',
            f'#include "{res}.itp"',
            f'#include "{ff}.ff/{water}.itp"',
            "",
            "[ system ]",
            mol.name,
            "",
            "[ molecules ]",
            f"{res}  1",
            "",
        ]
    )
    atomic_write_text(out / "topol.top", top)
    pos_nm = n_alkane_coordinates(hc) / 10.0
    pos_nm -= pos_nm.min(axis=0) - 0.5
    box = pos_nm.max(axis=0) + 0.5
    write_gro(out / "solute.gro", mol.name, [1] * hc.n_atoms, [res] * hc.n_atoms, hc.names, pos_nm, box)


def _local_includes(top: Path) -> list[Path]:
    """The files a topology #includes from its own folder (force-field includes are not local)."""
    found = []
    for line in top.read_text().splitlines():
        m = re.match(r'\s*#include\s+"([^"]+)"', line)
        if m and (top.parent / m.group(1)).is_file():
            inc = top.parent / m.group(1)
            found += [inc, *_local_includes(inc)]
    return found


def _build_files(mol: Molecule, gmx: Gromacs, water: str, out: Path) -> None:
    """Copy the user's topology (and its local includes) and structure; add the water model."""
    spec = mol.topology
    top, structure = mol.folder / spec["topology"], mol.folder / spec["structure"]
    for inc in _local_includes(top):
        if inc.parent.resolve() != top.parent.resolve():
            raise MoleculeError(
                f"{mol.path}: {top} includes {inc}, outside its folder; keep the .itp files beside the .top"
            )
        shutil.copy2(inc, out / inc.name)
    text = top.read_text()
    ff = re.search(r'#include\s+"([^"/]+)\.ff/forcefield\.itp"', text)
    if ff is None:
        raise MoleculeError(
            f'{mol.path}: {top} includes no force field (a line #include "<name>.ff/forcefield.itp"); '
            "the water model and its parameters come from the force field"
        )
    if not re.search(r'#include\s+"[^"]+\.ff/(tip\w+|spc\w*)\.itp"', text):
        system = re.search(r"^\s*\[\s*system\s*\]", text, flags=re.M)
        if system is None:
            raise MoleculeError(f"{mol.path}: {top} has no [ system ] section")
        water_line = f'#include "{ff.group(1)}.ff/{water}.itp"  ; added by scoredyn\n\n'
        text = text[: system.start()] + water_line + text[system.start() :]
    atomic_write_text(out / "topol.top", text)
    if structure.suffix == ".gro":
        shutil.copy2(structure, out / "solute.gro")
    else:
        gmx("editconf", cwd=out, f=str(structure.resolve()), o="solute.gro")


def build_topology(mol: Molecule, gmx: Gromacs, forcefield: str, water_model: str, out: Path | str) -> Path:
    """Write ``topol.top``, local ``.itp`` files and ``solute.gro`` into ``out``.

    Returns ``out``. The topology is checked by reading it back.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    method = mol.topology["method"]
    if method == "pdb2gmx":
        _build_pdb2gmx(mol, gmx, forcefield, water_model, out)
    elif method == "alkane":
        _build_alkane(mol, forcefield, water_model, out)
    elif method == "files":
        _build_files(mol, gmx, water_model, out)
    else:  # the schema admits no other method
        raise MoleculeError(f"{mol.path}: unknown topology.method {method!r}")
    # the atom count first: a structure short of atoms would otherwise be diagnosed as bonds without rules
    pos_nm, _ = read_gro_positions(out / "solute.gro")
    n_top = read_solute_topology(out / "topol.top").n_atoms
    source = mol.folder / mol.topology["structure"] if "structure" in mol.topology else out / "solute.gro"
    if len(pos_nm) != n_top:
        raise MoleculeError(
            f"{source}: the built structure has {len(pos_nm)} atoms but the topology's solute has {n_top}; "
            "give the solute alone, every atom, in topology order"
        )
    if not np.all(np.isfinite(pos_nm)):
        bad = int(np.flatnonzero(~np.isfinite(pos_nm).all(axis=1))[0])
        raise MoleculeError(
            f"{source}: the built structure has no finite coordinates for atom {bad + 1}; check that every "
            "atom line of the structure is complete"
        )
    resolve_molecule(mol, out)  # every selector and bond rule must fit the built topology
    return out


def _strip(line: str) -> str:
    return line.split(";", 1)[0].strip()


def _topology_lines(path: Path, seen: set[Path] | None = None) -> list[str]:
    """Lines of a .top with local ``#include`` files inlined (force-field includes are skipped)."""
    seen = seen or set()
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    out: list[str] = []
    for raw in path.read_text().splitlines():
        line = _strip(raw)
        m = re.match(r'#include\s+"([^"]+)"', line)
        if m:
            inc = path.parent / m.group(1)
            if inc.is_file():
                out.extend(_topology_lines(inc, seen))
            continue
        if line and not line.startswith("#"):
            out.append(line)
    return out


def read_solute_topology(top: Path | str) -> SoluteTopology:
    """The first non-water ``[ moleculetype ]`` of a GROMACS topology.

    Raises
    ------
    MoleculeError
        If the file is missing or has no solute molecule type with atoms.
    """
    top = Path(top)
    if not top.is_file():
        raise MoleculeError(f"{top}: no such topology file; rebuild it with the md_topology rule")
    section, current, mols = "", None, {}
    for line in _topology_lines(top):
        m = re.match(r"\[\s*(\w+)\s*\]", line)
        if m:
            section = m.group(1).lower()
            continue
        fields = line.split()
        if section == "moleculetype":
            current = fields[0]
            mols[current] = {"atoms": [], "bonds": []}
        elif section == "atoms" and current:
            mols[current]["atoms"].append(fields)
        elif section == "bonds" and current:
            mols[current]["bonds"].append((int(fields[0]) - 1, int(fields[1]) - 1))
    solutes = [(k, v) for k, v in mols.items() if v["atoms"] and v["atoms"][0][3] not in WATER_RESNAMES and k != "SOL"]
    if not solutes:
        raise MoleculeError(f"{top}: no solute [ moleculetype ] with atoms; is this the solute's topol.top?")
    _, mt = solutes[0]
    atoms = mt["atoms"]
    masses = np.array([float(a[7]) if len(a) > 7 else np.nan for a in atoms])
    if np.isnan(masses).any():
        raise MoleculeError(f"{top}: [ atoms ] lacks masses; scoredyn needs the mass column to assign elements")
    return SoluteTopology(
        names=[a[4] for a in atoms],
        resnames=[a[3] for a in atoms],
        resids=np.array([int(a[2]) for a in atoms]),
        types=[a[1] for a in atoms],
        elements=[element_from_mass(m) for m in masses],
        masses=masses,
        charges=np.array([float(a[6]) for a in atoms]),
        bonds=np.array(sorted(tuple(sorted(b)) for b in mt["bonds"]), dtype=int).reshape(-1, 2),
    )


def topology_digest(topdir: Path | str) -> str:
    """SHA-256 of a topology folder's content (``topol.top``, ``.itp``, ``solute.gro``).

    Comments and the .gro title are left out, so that a rebuild that only changes
    GROMACS' time stamps keeps the digest.
    """
    topdir = Path(topdir)
    h = hashlib.sha256()
    for f in [*sorted(topdir.glob("*.itp")), topdir / "topol.top"]:
        h.update("\n".join(_strip(line) for line in f.read_text().splitlines()).encode())
    h.update("\n".join((topdir / "solute.gro").read_text().splitlines()[1:]).encode())
    return h.hexdigest()


def copy_topology(src: Path | str, dst: Path | str) -> Path:
    """Copy ``topol.top`` and every local ``.itp`` from ``src`` to ``dst``; returns the new top."""
    src, dst = Path(src), Path(dst)
    dst.mkdir(parents=True, exist_ok=True)
    for f in [*src.glob("*.itp"), src / "topol.top"]:
        shutil.copy2(f, dst / f.name)
    return dst / "topol.top"


def resolve_molecule(mol: Molecule, topdir: Path | str) -> ResolvedMolecule:
    """``mol`` bound to the solute topology ``topdir/topol.top``; checks the description leaves
    out are derived from the built structure ``topdir/solute.gro``."""
    top = read_solute_topology(Path(topdir) / "topol.top")
    pos_nm, _ = read_gro_positions(Path(topdir) / "solute.gro")
    reference = 10.0 * pos_nm if len(pos_nm) == top.n_atoms else None
    return mol.resolve(top, reference)
