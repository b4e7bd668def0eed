"""GROMACS speed of every kind of MD run in the workflow, for the paper box and the demo box.

Prints one table: ns/day (and steps/s for the vacuum run) for the frozen-solute water
equilibration, the NVT production (1 and 2 threads, and on 2 threads without
``-reprod``, what ``gromacs.reproducible`` costs) and the 10^4 K vacuum sampling, all
measured in one run on this machine, plus the ratio of each to the paper-box production,
so that numbers from different machines compare.

    .venv/bin/python bench/md_speed.py [--ps 5] [--molecule alanine-dipeptide]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
from pathlib import Path

from scoredyn.config import load_config
from scoredyn.md.box import find_box_edge
from scoredyn.md.gmx import Gromacs
from scoredyn.md.runs import Protocol, default_mdp_dir
from scoredyn.md.topology import build_topology
from scoredyn.molecules import load_molecule

REPO = Path(__file__).resolve().parents[1]
BOXES = {"paper (3000 waters, 1.4 nm)": (3000, 1.4), "demo (500 waters, 1.0 nm)": (500, 1.0)}


def simd_level(gmx: Gromacs) -> str:
    out = subprocess.run([gmx.path, "-quiet", "--version"], capture_output=True, text=True).stdout
    return next((line.split(":", 1)[1].strip() for line in out.splitlines() if "SIMD instructions" in line), "?")


def solution_speed(
    gmx: Gromacs, topdir: Path, molecule: str, n_waters: int, cutoff: float, ps: float, threads: int, work: Path
) -> tuple[float, float]:
    """ns/day of the frozen-solute water equilibration and of the NVT production in one box."""
    cfg = load_config(
        {
            "run": "bench",
            "molecules": {"train": [molecule], "root": str(REPO / "resources" / "molecules")},
            "md": {"n_waters": n_waters, "cutoff_nm": cutoff, "equilibrate_ps": ps},
        }
    )
    proto = Protocol(gmx, cfg.md, default_mdp_dir())
    edge = find_box_edge(gmx, topdir / "solute.gro", "tip4p", n_waters, work / "box")
    _, eq = proto.prepare_solution(topdir, topdir / "solute.gro", edge, work / "run", seed=1, threads=threads)
    md = proto.run_nvt(work / "run", ps, seed=2, threads=threads)
    return eq.ns_per_day, md.ns_per_day


def solute_topology(gmx: Gromacs, molecule: str, work: Path) -> Path:
    """The molecule's OPLS-AA/TIP4P topology directory, built in ``work``."""
    return build_topology(load_molecule(molecule, REPO / "resources" / "molecules"), gmx, "oplsaa", "tip4p", work)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ps", type=float, default=5.0, help="ps per timed solution run")
    ap.add_argument("--molecule", default="alanine-dipeptide")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        gmx = Gromacs("gmx", tmp / "gmx.log")
        topdir = solute_topology(gmx, args.molecule, tmp / "top")
        for label, (n_waters, cutoff) in BOXES.items():
            for threads in (2, 1):
                work = tmp / f"run{n_waters}_{threads}"
                eq, md = solution_speed(gmx, topdir, args.molecule, n_waters, cutoff, args.ps, threads, work)
                rows.append((label, f"water equilibration, solute frozen ({threads} thr)", eq))
                rows.append((label, f"NVT production ({threads} thr)", md))
            tuned = Gromacs("gmx", tmp / "gmx.log", reproducible=False)  # mdrun times its FFT plans
            _, md = solution_speed(tuned, topdir, args.molecule, n_waters, cutoff, args.ps, 2, tmp / f"tuned{n_waters}")
            rows.append((label, "NVT production (2 thr, without -reprod)", md))
        hot = load_config({"run": "bench", "molecules": {"train": ["butane"]}}).md.vacuum_hot
        hot = type(hot)(**{**hot.__dict__, "count": 40})
        butane = build_topology(
            load_molecule("butane", REPO / "resources" / "molecules"), gmx, "oplsaa", "tip4p", tmp / "butane"
        )
        proto = Protocol(gmx, load_config({"run": "b", "molecules": {"train": ["butane"]}}).md, default_mdp_dir())
        res = proto.run_vacuum_hot(butane, hot, tmp / "hot", seed=3)
        steps_s = hot.count * hot.save_every / res.wall_s
        rows.append(
            ("vacuum (butane, 6 nm, 2.0 nm cut-off)", f"10^4 K sampling, 1 thr, {steps_s:,.0f} steps/s", res.ns_per_day)
        )
    base = next(v for k, r, v in rows if k.startswith("paper") and r == "NVT production (2 thr)")
    print(f"GROMACS {gmx.path}, SIMD {simd_level(gmx)}, {args.ps:g} ps per solution run")
    print(f"{'system':40s} {'run':48s} {'ns/day':>9s} {'vs paper NVT':>13s}")
    for system, run, speed in rows:
        print(f"{system:40s} {run:48s} {speed:9.1f} {speed / base:12.2f}x")


if __name__ == "__main__":
    main()
