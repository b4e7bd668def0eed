"""Real GROMACS on tiny systems: topologies, a failing run, and a resumed run."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from scoredyn.config import load_config
from scoredyn.errors import GromacsError, MoleculeError
from scoredyn.geometry import bond_lengths, signed_volume
from scoredyn.md.box import count_waters
from scoredyn.md.gmx import Gromacs
from scoredyn.md.runs import Protocol, default_mdp_dir
from scoredyn.md.starts import draw_dihedral_start
from scoredyn.md.topology import build_topology, read_gro_positions, read_solute_topology, resolve_molecule
from scoredyn.molecules import load_molecule, parse_molecule

pytestmark = pytest.mark.gromacs
REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "resources" / "molecules"


@pytest.fixture(scope="module")
def gmx(tmp_path_factory) -> Gromacs:
    return Gromacs("gmx", tmp_path_factory.mktemp("log") / "gmx.log")


@pytest.fixture(scope="module")
def ala2(gmx, tmp_path_factory):
    out = tmp_path_factory.mktemp("ala2")
    mol = load_molecule("alanine-dipeptide", ROOT)
    build_topology(mol, gmx, "oplsaa", "tip4p", out)
    return mol.resolve(read_solute_topology(out / "topol.top")), out


def test_alanine_dipeptide_topology(ala2):
    mol, out = ala2
    top = mol.top
    assert top.n_atoms == 22 and len(top.bonds) == 21
    assert top.resnames[0] == "ACE" and top.resnames[-1] == "NAC"
    assert abs(top.charges.sum()) < 1e-6
    pos = read_gro_positions(out / "solute.gro")[0] * 10.0
    assert mol.check(pos[None]).ok.all()  # bonds in range, L alanine, trans peptide bonds
    ca, nbrs, sign = mol.stereo[0]
    assert sign == 1 and signed_volume(pos, ca, nbrs) > 0


@pytest.mark.parametrize("name", ["ethane", "propane", "butane", "pentane"])
def test_alkane_topologies_take_every_parameter_from_ffbonded(name, gmx, tmp_path):
    mol = load_molecule(name, ROOT)
    build_topology(mol, gmx, "oplsaa", "tip4p", tmp_path)
    (tmp_path / "vac.mdp").write_text("integrator = steep\nnsteps = 0\ncutoff-scheme = Verlet\n")
    gmx("editconf", cwd=tmp_path, f="solute.gro", o="box.gro", bt="cubic", box=[3, 3, 3], c=True)
    out = gmx("grompp", cwd=tmp_path, f="vac.mdp", c="box.gro", p="topol.top", o="t.tpr", maxwarn=0)
    assert "No default" not in out and "Generated 0" not in out
    # every angle and dihedral got parameters: gmx dump lists none with zero force constants
    assert (tmp_path / "t.tpr").is_file()


def test_dihedral_starts_keep_bonds_and_chirality(ala2):
    mol, out = ala2
    ref = read_gro_positions(out / "solute.gro")[0] * 10.0
    rng = np.random.default_rng(3)
    phis = []
    for _ in range(20):
        s = draw_dihedral_start(ref, mol, ["phi", "psi"], rng, 1.5)
        np.testing.assert_allclose(bond_lengths(s.pos, mol.top.bonds), bond_lengths(ref, mol.top.bonds), atol=1e-9)
        assert mol.check(s.pos[None]).ok.all()
        got = mol.dihedral_values(s.pos)
        assert got["phi"] == pytest.approx(s.dihedrals["phi"], abs=1e-6)
        phis.append(s.dihedrals["phi"])
    assert np.ptp(phis) > 180  # the draws cover the circle, not one basin


def test_failed_run_reports_the_gromacs_error(gmx, tmp_path, ala2):
    _, out = ala2
    shutil.copy(out / "solute.gro", tmp_path)
    shutil.copy(out / "topol.top", tmp_path)
    (tmp_path / "bad.mdp").write_text("integrator = md\nnsteps = 10\ntcoupl = nonsense\n")
    with pytest.raises(GromacsError) as err:
        gmx("grompp", cwd=tmp_path, f="bad.mdp", c="solute.gro", p="topol.top", o="x.tpr")
    assert "grompp" in str(err.value) and "nonsense" in str(err.value)


def test_missing_driver_says_how_to_install():
    with pytest.raises(
        GromacsError, match=r"'gmx_nonexistent' not found on PATH.*apt-get install gromacs.*conda.*module"
    ):
        Gromacs("gmx_nonexistent")


def test_interrupted_production_continues_from_checkpoint(gmx, tmp_path, ala2):
    _, topdir = ala2
    cfg = load_config(
        {
            "run": "t",
            "molecules": {"train": ["alanine-dipeptide"], "root": str(ROOT)},
            "md": {"n_waters": 250, "cutoff_nm": 0.7, "equilibrate_ps": 0.2, "minimize_steps": 200},
        }
    )
    proto = Protocol(gmx, cfg.md, default_mdp_dir())
    work = tmp_path / "run"
    proto.prepare_solution(topdir, topdir / "solute.gro", 2.06, work, seed=1, threads=1)
    # first attempt dies after 500 of 2000 steps, leaving its checkpoint
    from scoredyn.md.mdp import render
    from scoredyn.md.runs import nvt_values

    render(default_mdp_dir() / "nvt.mdp", work / "md.mdp", **nvt_values(cfg.md, 2.0, 5, frozen=False, frames=True))
    gmx("grompp", cwd=work, f="md.mdp", c="eq.gro", p="topol.top", o="md.tpr", maxwarn=0)
    gmx("mdrun", cwd=work, deffnm="md", nsteps=500, ntmpi=1, ntomp=1)
    assert (work / "md.cpt").is_file() and not (work / "md.done").exists()
    result = proto.run_nvt(work, 2.0, seed=5, threads=1)
    assert result.ps == 2.0
    log = (work / "md.log").read_text()
    assert "Reading checkpoint file md.cpt" in log or "Restarting from checkpoint" in log
    from scoredyn.md.extract import read_solute_xtc

    pos, _ = read_solute_xtc(topdir / "solute.gro", work / "md.xtc")
    assert len(pos) == 21  # frames 0, 0.1, ..., 2.0 ps: nothing lost, nothing doubled


def test_a_seeded_solution_is_the_same_each_time(tmp_path, ala2):
    # gmx solvate -maxsol drops its extra waters at random; the trim is drawn from the seed instead,
    # and mdrun picks its FFT plans without timing them, which the machine's load would sway
    _, topdir = ala2
    cfg = load_config(
        {
            "run": "t",
            "molecules": {"train": ["alanine-dipeptide"], "root": str(ROOT)},
            "md": {"n_waters": 250, "cutoff_nm": 0.7, "equilibrate_ps": 0.1, "minimize_steps": 50},
        }
    )
    gmx = Gromacs("gmx", tmp_path / "gmx.log")
    proto = Protocol(gmx, cfg.md, default_mdp_dir())

    def body(path: Path) -> list[str]:
        return path.read_text().splitlines()[1:]  # line 0 is a random GROMACS title

    runs = {}
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        proto.prepare_solution(topdir, topdir / "solute.gro", 2.1, tmp_path / name, seed=seed, threads=1)
        runs[name] = body(tmp_path / name / "solvated.gro"), body(tmp_path / name / "eq.gro")
        assert count_waters(tmp_path / name / "solvated.gro") == 250
        assert re.search(r"^SOL\s+250\s*$", (tmp_path / name / "topol.top").read_text(), re.M)
    assert runs["a"] == runs["b"] and runs["a"][0] != runs["c"][0]
    assert all(
        "-reprod" in line
        for line in gmx.log_file.read_text().splitlines()
        if line.startswith("$") and " mdrun " in line
    )
    atoms = [line[15:20] for line in runs["a"][0][1:-1]]
    assert atoms == [f"{i:5d}" for i in range(1, len(atoms) + 1)] and len(atoms) == 22 + 4 * 250


def test_a_launcher_in_the_command_starts_mdrun_only(tmp_path, ala2):
    _, topdir = ala2
    gmx = Gromacs("env OMP_PROC_BIND=false gmx", tmp_path / "gmx.log")
    assert gmx.launcher == ["env", "OMP_PROC_BIND=false"] and gmx.driver == "gmx" and not gmx.is_mpi
    for f in ("topol.top", "solute.gro"):
        shutil.copy(topdir / f, tmp_path / f)
    for itp in topdir.glob("*.itp"):
        shutil.copy(itp, tmp_path / itp.name)
    (tmp_path / "em.mdp").write_text(
        "integrator = steep\nnsteps = 20\ncutoff-scheme = Verlet\npbc = xyz\ncoulombtype = cut-off\n"
        "rcoulomb = 1.0\nrvdw = 1.0\n"
    )
    gmx("editconf", cwd=tmp_path, f="solute.gro", o="box.gro", d=1.2, bt="cubic")
    gmx("grompp", cwd=tmp_path, f="em.mdp", c="box.gro", p="topol.top", o="em.tpr", maxwarn=1)
    gmx.mdrun(tmp_path, "em", threads=1)
    assert (tmp_path / "em.gro").is_file()
    log = (tmp_path / "gmx.log").read_text()
    assert "env OMP_PROC_BIND=false gmx mdrun" in log and "env OMP_PROC_BIND=false gmx grompp" not in log
    with pytest.raises(GromacsError, match="launcher 'no-such-launcher'"):
        Gromacs("no-such-launcher gmx")
    with pytest.raises(GromacsError, match="fix its quoting"):
        Gromacs('mpirun "gmx')


def test_own_files_build_with_the_water_model_added_and_checks_derived(gmx, tmp_path, ala2, monkeypatch):
    mol, topdir = ala2
    mine = tmp_path / "mine"
    mine.mkdir()
    top = (topdir / "topol.top").read_text()
    lines = [ln for ln in top.splitlines() if "tip4p.itp" not in ln and "ions.itp" not in ln]
    (mine / "ala.top").write_text("\n".join(lines) + "\n")
    for itp in topdir.glob("*.itp"):
        shutil.copy(itp, mine / itp.name)
    shutil.copy(topdir / "solute.gro", mine / "ala.gro")
    desc = {"topology": {"method": "files", "structure": "ala.gro", "topology": "ala.top"},
            "starts": {"method": "dihedrals", "dihedrals": ["phi"]},
            "dihedrals": {"phi": ["ACE:C", "ALA:N", "ALA:CA", "ALA:C"]}}  # fmt: skip
    monkeypatch.chdir(mine)  # a description in the config reads its files from the working directory
    own = load_molecule("my-ala", defined={"my-ala": desc}, root=ROOT)
    assert own.folder == mine and own.stereocentres is None and own.bond_rules == []
    out = build_topology(own, gmx, "oplsaa", "tip4p", tmp_path / "built")
    assert '#include "oplsaa.ff/tip4p.itp"  ; added by scoredyn' in (out / "topol.top").read_text()
    resolved = resolve_molecule(own, out)
    assert resolved.top.n_atoms == 22 and [c for c, _, _ in resolved.stereo] == [mol.stereo[0][0]]  # CA alone
    pos = read_gro_positions(out / "solute.gro")[0] * 10.0
    assert resolved.check(pos[None]).ok.all()
    mirrored = pos * np.array([-1.0, 1.0, 1.0])
    assert not resolved.check(mirrored[None]).chirality_ok.any()  # the derived stereocentre catches D-alanine
    stretched = pos.copy()
    ca, cb = resolved.top.select("ALA:CA"), resolved.top.select("ALA:CB")
    stretched[cb] += 0.35 * (pos[cb] - pos[ca])  # CA-CB from 1.53 to 2.07 A
    assert not resolved.check(stretched[None]).bonds_ok.any()
    # the box and solvation work on the added water model
    proto = Protocol(gmx, load_config({"run": "t", "molecules": {"train": ["alanine-dipeptide"], "root": str(ROOT)},
                                       "md": {"n_waters": 250, "cutoff_nm": 0.7, "minimize_steps": 50,
                                              "equilibrate_ps": 0.05}}).md, default_mdp_dir())  # fmt: skip
    proto.prepare_solution(out, out / "solute.gro", 2.06, tmp_path / "run", seed=1, threads=1)
    assert (tmp_path / "run" / "eq.gro").is_file()
    (mine / "bad.top").write_text("\n".join(ln for ln in lines if "forcefield.itp" not in ln) + "\n")
    bad = parse_molecule(dict(desc, topology=dict(desc["topology"], topology="bad.top")), "bad", mine / "m.yaml", mine)
    with pytest.raises(MoleculeError, match="includes no force field"):
        build_topology(bad, gmx, "oplsaa", "tip4p", tmp_path / "bad")
