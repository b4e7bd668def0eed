import numpy as np
import pytest

from scoredyn.geometry import (
    adjacency,
    bond_lengths,
    dihedrals,
    min_nonbonded_distance,
    place_atom,
    set_dihedral,
    side_of_bond,
    signed_volume,
)
from scoredyn.md.alkane import n_alkane, n_alkane_coordinates


def test_dihedrals_match_mdanalysis(rng):
    from MDAnalysis.lib.distances import calc_dihedrals

    pos = rng.normal(size=(7, 4, 3))
    ours = dihedrals(pos, np.array([[0, 1, 2, 3]]))[:, 0]
    ref = np.degrees(calc_dihedrals(pos[:, 0], pos[:, 1], pos[:, 2], pos[:, 3]))
    np.testing.assert_allclose(ours, ref, atol=1e-4)  # MDAnalysis works in float32


def test_place_atom_reproduces_internal_coordinates():
    a, b, c = np.array([0.0, 1.0, 0.0]), np.zeros(3), np.array([1.5, 0.0, 0.0])
    d = place_atom(a, b, c, 1.2, 110.0, -60.0)
    assert np.linalg.norm(d - c) == pytest.approx(1.2)
    assert dihedrals(np.array([a, b, c, d]), np.array([[0, 1, 2, 3]]))[0] == pytest.approx(-60.0)


@pytest.mark.parametrize("target", [-179.0, -60.0, 0.0, 75.0, 179.5])
def test_set_dihedral_hits_target_and_keeps_bonds_and_chirality(target, rng):
    hc = n_alkane(5)
    pos = n_alkane_coordinates(hc) + rng.normal(scale=0.05, size=(hc.n_atoms, 3))
    nbrs = adjacency(hc.n_atoms, hc.bonds)
    quad = np.array([0, 1, 2, 3])
    out = set_dihedral(pos, nbrs, quad, target)
    assert dihedrals(out, quad[None])[0] == pytest.approx(target, abs=1e-6)
    np.testing.assert_allclose(bond_lengths(out, hc.bonds), bond_lengths(pos, hc.bonds), atol=1e-9)
    # handedness of every carbon with its first three neighbours is unchanged
    for c in range(5):
        nb = nbrs[c][:3]
        assert np.sign(signed_volume(out, c, nb)) == np.sign(signed_volume(pos, c, nb))
    # the other C-C-C-C dihedral is untouched by a rotation about bond 1-2
    other = np.array([[1, 2, 3, 4]])
    assert dihedrals(out, other)[0] == pytest.approx(dihedrals(pos, other)[0], abs=1e-6)


def test_ring_bond_cannot_be_turned():
    nbrs = adjacency(4, [(0, 1), (1, 2), (2, 3), (3, 0)])
    with pytest.raises(ValueError, match=r"ring"):
        side_of_bond(nbrs, 1, 2)


def test_clearance_ignores_close_bonded_neighbours():
    hc = n_alkane(4)
    pos = n_alkane_coordinates(hc)
    nbrs = adjacency(hc.n_atoms, hc.bonds)
    clear = min_nonbonded_distance(pos, nbrs)
    assert 2.0 < clear < 3.5  # all-trans butane: closest 1-5 hydrogens
    eclipsed = set_dihedral(pos, nbrs, np.array([0, 1, 2, 3]), 0.0)
    assert min_nonbonded_distance(eclipsed, nbrs) < clear
