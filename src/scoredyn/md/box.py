"""A cubic water box that holds exactly the configured number of waters.

The box edge is chosen once per molecule, from its reference structure: the smallest
edge at which ``gmx solvate`` fits the configured count plus a small margin. Every
system of that molecule (the long production and every start) is then solvated in
that same box with exactly that many waters: a seeded draw trims the margin, and the
rare start whose shape leaves too little room is topped up with
``gmx insert-molecules``.

``gmx solvate -maxsol`` is not used to trim: GROMACS 2022 removes the extra waters with
an unseeded generator, so two runs of one seeded workflow got different boxes and so
different trajectories.
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import numpy as np

from scoredyn.config import box_edge_estimate_nm
from scoredyn.errors import GromacsError
from scoredyn.io import atomic_write_text
from scoredyn.md.gmx import Gromacs

log = logging.getLogger(__name__)


def count_waters(gro: Path | str) -> int:
    """Number of water molecules (residue SOL) in a .gro file."""
    lines = Path(gro).read_text().splitlines()
    n = int(lines[1])
    ids = {line[:5] for line in lines[2 : 2 + n] if line[5:10].strip() == "SOL"}
    return len(ids)


def _solvate(gmx: Gromacs, solute: Path, edge: float, water: str, workdir: Path, top: Path | None = None) -> Path:
    boxed, out = workdir / "boxed.gro", workdir / "solvated.gro"
    gmx("editconf", cwd=workdir, f=str(solute.resolve()), o=boxed.name, bt="cubic", box=[edge] * 3, c=True)
    flags: dict[str, object] = dict(cp=boxed.name, cs=f"{water}.gro", o=out.name)
    if top is not None:
        flags["p"] = top.name
    gmx("solvate", cwd=workdir, **flags)
    return out


def thin_waters(gro: Path | str, n_keep: int, seed: int) -> int:
    """Keep ``n_keep`` of the waters (residue SOL) of a .gro, drawn uniformly with ``seed``.

    The solute and the order of what is kept stay as they are; residues and atoms are
    renumbered from 1. Returns the number of waters now in the file (fewer than
    ``n_keep`` only if it had fewer).
    """
    gro = Path(gro)
    lines = gro.read_text().splitlines()
    n_atoms = int(lines[1])
    residues: list[list[str]] = []  # consecutive atom lines of one residue (number and name)
    for line in lines[2 : 2 + n_atoms]:
        if residues and residues[-1][0][:10] == line[:10]:
            residues[-1].append(line)
        else:
            residues.append([line])
    waters = [i for i, res in enumerate(residues) if res[0][5:10].strip() == "SOL"]
    if len(waters) <= n_keep:
        return len(waters)
    drop = set(np.random.default_rng(seed).choice(waters, len(waters) - n_keep, replace=False).tolist())
    out, atom = [], 0
    for resnr, res in enumerate((r for i, r in enumerate(residues) if i not in drop), start=1):
        for line in res:
            atom += 1
            out.append(f"{resnr % 100000:5d}{line[5:15]}{atom % 100000:5d}{line[20:]}")
    atomic_write_text(gro, "\n".join([lines[0], f"{atom:5d}", *out, lines[2 + n_atoms]]) + "\n")
    return n_keep


def find_box_edge(gmx: Gromacs, solute: Path | str, water: str, n_waters: int, workdir: Path | str) -> float:
    """Smallest cubic edge (nm, to 1 pm) at which ``n_waters`` plus a 0.2% margin fit around ``solute``."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    target = n_waters + n_waters // 500 + 2
    lo, hi = 0.9 * box_edge_estimate_nm(n_waters), 1.15 * box_edge_estimate_nm(n_waters)
    if count_waters(_solvate(gmx, Path(solute), hi, water, workdir)) < target:
        raise GromacsError(f"gmx solvate fits fewer than {target} waters in a {hi:.3f} nm box around {solute}")
    while hi - lo > 0.001:
        mid = 0.5 * (lo + hi)
        if count_waters(_solvate(gmx, Path(solute), mid, water, workdir)) >= target:
            hi = mid
        else:
            lo = mid
    return round(hi, 3)


def write_box(path: Path | str, edge_nm: float, n_waters: int) -> None:
    atomic_write_text(path, json.dumps({"edge_nm": edge_nm, "n_waters": n_waters}, indent=2) + "\n")


def read_box(path: Path | str) -> tuple[float, int]:
    data = json.loads(Path(path).read_text())
    return float(data["edge_nm"]), int(data["n_waters"])


def _water_molecule(gmx: Gromacs, water: str, workdir: Path) -> Path:
    """One water molecule of the model's box, as a .gro."""
    lines = (gmx.data_dir() / f"{water}.gro").read_text().splitlines()
    first = lines[2][:5]
    atoms = [line for line in lines[2:-1] if line[:5] == first]
    out = workdir / "water1.gro"
    atomic_write_text(out, "\n".join(["one water", f"{len(atoms):5d}", *atoms, "   1.0   1.0   1.0"]) + "\n")
    return out


def _set_water_count(top: Path, n: int) -> None:
    text = top.read_text()
    new, k = re.subn(r"^(SOL\s+)\d+\s*$", rf"\g<1>{n}", text, flags=re.M)
    if k != 1:
        raise GromacsError(f"{top}: expected one SOL line under [ molecules ], found {k}")
    atomic_write_text(top, new)


def solvate_exact(
    gmx: Gromacs, solute: Path | str, top: Path, edge: float, n_waters: int, water: str, workdir: Path, seed: int
) -> Path:
    """Solvate ``solute`` in the cubic box of ``edge`` nm with exactly ``n_waters`` waters.

    ``top`` (a copy in ``workdir``) gets the SOL count. Returns the solvated .gro.
    """
    out = _solvate(gmx, Path(solute), edge, water, workdir, top=top)
    have = thin_waters(out, n_waters, seed)
    _set_water_count(top, have)
    if have < n_waters:
        log.info("solvate fitted %d of %d waters; inserting the rest", have, n_waters)
        filled = workdir / "filled.gro"
        gmx(
            "insert-molecules",
            cwd=workdir,
            f=out.name,
            ci=_water_molecule(gmx, water, workdir).name,
            nmol=n_waters - have,
            o=filled.name,
            seed=seed,
            **{"try": 500},
        )
        have = count_waters(filled)
        if have != n_waters:
            raise GromacsError(
                f"could fit only {have} of {n_waters} waters in the {edge} nm box around {solute}; "
                "raise md.n_waters a little so the box grows, or check the structure for overlaps"
            )
        filled.replace(out)
        _set_water_count(top, have)
    return out
