from pathlib import Path

import numpy as np
import pytest
import yaml

from scoredyn.errors import MoleculeError
from scoredyn.geometry import adjacency, set_dihedral
from scoredyn.molecules import load_molecule

REPO = Path(__file__).resolve().parents[2]
ROOT = REPO / "resources" / "molecules"


@pytest.mark.parametrize("name", ["alanine-dipeptide", "ethane", "propane", "butane", "pentane"])
def test_shipped_molecules_load(name):
    mol = load_molecule(name, ROOT)
    assert mol.bond_rules and mol.start_method in ("dihedrals", "vacuum_hot")


def test_alanine_dipeptide_declares_phi_psi_states_and_checks():
    mol = load_molecule("alanine-dipeptide", ROOT)
    assert set(mol.dihedrals) == {"phi", "psi"}
    assert set(mol.states) == {"alpha", "beta"}
    assert mol.stereocentres[0].label == "L" and len(mol.peptide_bonds) == 2


def test_states_and_checks_on_butane(butane):
    mol, pos = butane
    assert mol.in_state(pos, "trans") and not mol.in_state(pos, "gauche")
    nbrs = adjacency(mol.top.n_atoms, mol.top.bonds)
    g_minus = set_dihedral(pos, nbrs, mol.dihedral_atoms["cccc"], -65.0)
    assert mol.in_state(g_minus, "gauche") and not mol.in_state(g_minus, "trans")
    assert mol.check(pos[None]).ok.all()
    stretched = pos.copy()
    stretched[1] += (pos[1] - pos[0]) * 0.3  # C1-C2 to about 1.99 A
    rep = mol.check(np.stack([pos, stretched]))
    assert rep.bonds_ok.tolist() == [True, False]
    assert "C1-C2" in rep.messages[0] and "frame 1" in rep.messages[0]


def test_selector_errors_name_the_file_and_the_choices(butane, tmp_path):
    mol, _ = butane
    folder = tmp_path / "bad"
    folder.mkdir()
    text = (ROOT / "butane" / "molecule.yaml").read_text().replace("[C1, C2, C3, C4]", "[C1, C2, C3, C9]")
    (folder / "molecule.yaml").write_text(text)
    bad = load_molecule("bad", tmp_path)
    with pytest.raises(MoleculeError, match=r"molecule.yaml: selector 'C9' matches no atom.*BUT:C1"):
        bad.resolve(mol.top)


def test_every_bond_needs_a_rule(butane, tmp_path):
    mol, _ = butane
    raw = yaml.safe_load((ROOT / "butane" / "molecule.yaml").read_text())
    raw["checks"]["bonds"] = [{"pair": ["C", "C"], "range": [1.38, 1.7]}]
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "molecule.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(MoleculeError, match=r"bond C1-H11 \(C-H\) has no range"):
        load_molecule("x", tmp_path).resolve(mol.top)


def test_invalid_description_names_the_key(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "molecule.yaml").write_text(
        "topology: {method: alkane, carbons: 2, resname: ETH}\nstarts: {method: vacuum_hot}\n"
        "checks: {bonds: [{pair: [C, H], range: [1.0, 1.2]}], chirality: []}\n"
    )
    with pytest.raises(MoleculeError, match=r"unknown key 'chirality'.*under 'checks'"):
        load_molecule("m", tmp_path)


def test_missing_molecule_lists_the_known_ones(tmp_path):
    with pytest.raises(MoleculeError, match=r"known molecules in .*: alanine-dipeptide, butane"):
        load_molecule("hexane", ROOT)


def test_nearest_to_centre_picks_the_core_frame_closest_to_the_centre(butane):
    mol, pos = butane
    nbrs = adjacency(mol.top.n_atoms, mol.top.bonds)
    quad = mol.dihedral_atoms["cccc"]
    frames = np.stack([set_dihedral(pos, nbrs, quad, v) for v in (160.0, -178.0, -65.0, 60.0, 120.0)])
    assert mol.nearest_to_centre(frames, "trans") == 1  # -178 is 2 degrees from 180 across the period
    assert mol.nearest_to_centre(frames, "gauche") == 3  # 60 is nearer the centre 65 than -65 is
    with pytest.raises(MoleculeError, match="no structure of the 1 given lies in the core of state 'gauche'"):
        mol.nearest_to_centre(frames[4:], "gauche")


def test_derived_checks_find_alanines_stereocentre_and_none_in_butane(ala2_resolved, butane):
    from scoredyn.molecules import derived_bond_rules, derived_stereocentres, environment_classes

    mol, pos = ala2_resolved
    top = mol.top
    [(centre, _, sign)] = derived_stereocentres(top, pos)
    assert centre == top.select("ALA:CA") and sign in (-1, 1)
    classes = environment_classes(top)
    methyl_h = [top.select(f"ACE:HH3{k}") for k in (1, 2, 3)]
    assert len({classes[h] for h in methyl_h}) == 1 and classes[top.select("ACE:CH3")] != classes[top.select("NAC:CH3")]
    rules = derived_bond_rules(top, pos, "here")
    assert {r.pair for r in rules} == {("C", "C"), ("C", "N"), ("C", "O"), ("C", "H"), ("N", "H")}
    from scoredyn.geometry import bond_lengths

    lengths = bond_lengths(pos, top.bonds)
    for (i, j), d in zip(top.bonds.tolist(), lengths, strict=True):
        rule = next(r for r in rules if r.matches(top.elements[i], top.elements[j]))
        assert rule.low < 0.9 * d and 1.1 * d < rule.high and not rule.low < 1.3 * d < rule.high
    bmol, bpos = butane
    assert derived_stereocentres(bmol.top, bpos) == []  # every carbon carries two or three equal hydrogens
    with pytest.raises(MoleculeError, match=r"checks\.bonds is left out"):
        derived_bond_rules(top, None, "here")


def test_a_truncated_structure_is_named_with_its_line(tmp_path):
    lines = (ROOT / "alanine-dipeptide" / "structure.pdb").read_text().splitlines()
    atoms = [k for k, line in enumerate(lines) if line.startswith(("ATOM", "HETATM"))]
    lines[atoms[3]] = lines[atoms[3]][:42]  # its z and half of its y are gone
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "structure.pdb").write_text("\n".join(lines) + "\n")
    desc = yaml.safe_load((ROOT / "alanine-dipeptide" / "molecule.yaml").read_text())
    (tmp_path / "m" / "molecule.yaml").write_text(yaml.safe_dump(desc))
    with pytest.raises(MoleculeError, match=rf"structure.pdb: line {atoms[3] + 1} has no three finite coordinates"):
        load_molecule("m", tmp_path)


def test_a_structure_short_of_atoms_is_named_before_its_bonds(tmp_path):
    data = REPO / "tests" / "data" / "alanine-dipeptide"
    gro = (data / "solute.gro").read_text().splitlines()
    short = [gro[0], str(int(gro[1]) - 1), *gro[2:-2], gro[-1]]  # 21 of 22 atoms
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ala.gro").write_text("\n".join(short) + "\n")
    (tmp_path / "m" / "ala.top").write_text((data / "topol.top").read_text())
    (tmp_path / "m" / "molecule.yaml").write_text(yaml.safe_dump({
        "topology": {"method": "files", "structure": "ala.gro", "topology": "ala.top"},
        "starts": {"method": "dihedrals", "dihedrals": ["phi"]},
        "dihedrals": {"phi": ["ACE:C", "ALA:N", "ALA:CA", "ALA:C"]}}))  # fmt: skip
    with pytest.raises(MoleculeError, match=r"ala.gro: has 21 atoms but the solute of .*ala.top has 22"):
        load_molecule("m", tmp_path)
