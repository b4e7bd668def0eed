import numpy as np
import pytest

from scoredyn.geometry import angles, bond_lengths
from scoredyn.md.alkane import CC_BOND, CH_BOND, hydrocarbon_from_skeleton, n_alkane, n_alkane_coordinates


def test_butane_terms_follow_from_the_bond_graph():
    hc = n_alkane(4)
    assert hc.n_atoms == 14 and len(hc.bonds) == 13
    assert hc.types[:4] == ["opls_135", "opls_136", "opls_136", "opls_135"]
    assert set(hc.types[4:]) == {"opls_140"}
    assert len(hc.angles()) == 24  # 4 carbons x C(4, 2)
    assert len(hc.dihedrals()) == 27  # 3 C-C bonds x 3 x 3
    assert len(hc.pairs()) == 27  # acyclic: one 1-4 pair per dihedral
    assert abs(sum(hc.charges)) < 1e-9


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_linear_alkanes_are_neutral_and_saturated(n):
    hc = n_alkane(n)
    assert hc.elements.count("H") == 2 * n + 2
    assert abs(sum(hc.charges)) < 1e-9
    if n == 1:
        assert hc.types[0] == "opls_138"


def test_branched_skeleton_gets_ch_and_c_types():
    isobutane = hydrocarbon_from_skeleton(4, [(0, 1), (1, 2), (1, 3)])
    assert isobutane.types[1] == "opls_137"
    neopentane = hydrocarbon_from_skeleton(5, [(0, 1), (1, 2), (1, 3), (1, 4)])
    assert neopentane.types[1] == "opls_139"
    assert abs(sum(neopentane.charges)) < 1e-9


def test_cyclic_skeleton_is_refused():
    with pytest.raises(ValueError, match=r"tree"):
        hydrocarbon_from_skeleton(3, [(0, 1), (1, 2), (2, 0)])


def test_itp_lists_bonded_terms_without_parameters():
    text = n_alkane(4).itp("BUT")
    sections = {}
    current = None
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[] ")
            sections[current] = []
        elif current and line.strip() and not line.startswith(";"):
            sections[current].append(line.split())
    assert len(sections["atoms"]) == 14
    assert all(len(r) == 3 for r in sections["bonds"])  # i j funct: parameters come from ffbonded.itp
    assert all(len(r) == 5 and r[-1] == "3" for r in sections["dihedrals"])
    assert sections["moleculetype"] == [["BUT", "3"]]


def test_built_coordinates_have_opls_geometry():
    hc = n_alkane(5)
    pos = n_alkane_coordinates(hc)
    lengths = bond_lengths(pos, hc.bonds)
    is_cc = np.array([hc.elements[i] == hc.elements[j] == "C" for i, j in hc.bonds])
    np.testing.assert_allclose(lengths[is_cc], CC_BOND, atol=1e-6)
    np.testing.assert_allclose(lengths[~is_cc], CH_BOND, atol=1e-6)
    assert np.all((angles(pos, np.array(hc.angles())) > 104) & (angles(pos, np.array(hc.angles())) < 114))
