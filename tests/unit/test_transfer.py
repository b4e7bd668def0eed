"""The anchor of a held-out molecule, transferred star by star from the training molecules."""

import re
from pathlib import Path

import numpy as np
import pytest
import torch

from scoredyn.errors import ConfigError
from scoredyn.geometry import bond_lengths
from scoredyn.md.alkane import hydrocarbon_from_skeleton, n_alkane, n_alkane_coordinates
from scoredyn.model.anchor import IdealGeometry
from scoredyn.model.checkpoint import CheckpointError
from scoredyn.model.transfer import TrainedMolecule, environments, transfer_geometry
from scoredyn.rollout.system import transferred_anchor


def frames_of(n_carbons: int, n: int = 300, sd: float = 0.03, seed: int = 0) -> tuple[object, np.ndarray]:
    """An n-alkane and n frames [n, N, 3] jittered about its all-trans structure."""
    mol = n_alkane(n_carbons)
    pos = n_alkane_coordinates(mol)
    rng = np.random.default_rng(seed)
    return mol, pos[None] + rng.normal(scale=sd, size=(n, *pos.shape))


def trained(*carbons: int, kind: str = "angles") -> dict[str, TrainedMolecule]:
    out = {}
    for c in carbons:
        mol, frames = frames_of(c, seed=c)
        out[f"C{c}"] = TrainedMolecule(mol.types, mol.bonds, IdealGeometry.from_frames(mol.bonds, frames, kind))
    return out


def test_butane_from_pentane_has_butanes_own_pairs_and_mean_distances():
    butane, frames = frames_of(4)
    own = IdealGeometry.from_frames(butane.bonds, frames, "angles")
    moved = transfer_geometry(butane.types, butane.bonds, trained(5), "butane")
    assert moved.pairs.tolist() == own.pairs.tolist()
    # the classes differ by 0.4 A and more (C-H 1.09, H...H 1.76, C...H 2.16, C...C 2.54): a pair
    # taken from the wrong class of pentane would be off by that much
    np.testing.assert_allclose(moved.lengths.numpy(), own.lengths.numpy(), atol=0.01)
    assert moved.bank.shape == (300, len(own))
    assert moved.torsions.tolist() == own.torsions.tolist() and moved.sides.tolist() == own.sides.tolist()


def test_equivalent_atoms_take_different_training_stars_whose_rows_close_into_one_structure():
    butane, frames = frames_of(4)
    moved = transfer_geometry(butane.types, butane.bonds, trained(5), "butane")
    pairs = {tuple(p): q for q, p in enumerate(moved.pairs.tolist())}
    ccc, ccc2 = pairs[(0, 2)], pairs[(1, 3)]  # the angles at C2 and at C3
    # one pentane star for both would make the two angles equal in every frame of the bank
    assert not np.allclose(moved.bank[:, ccc], moved.bank[:, ccc2])
    # a bank row is one consistent geometry: a redraw lands on its distances
    out = moved.redraw(torch.as_tensor(frames[:8]), torch.linspace(0.0, 0.99, 8))
    rows = (torch.linspace(0.0, 0.99, 8) * len(moved.bank)).long()
    err = bond_lengths(out.numpy(), moved.pairs.numpy()) - moved.bank[rows].numpy()
    assert np.abs(err).max() < 0.03


def test_an_environment_no_training_molecule_has_is_one_clear_error():
    isobutane = hydrocarbon_from_skeleton(4, [(0, 1), (1, 2), (1, 3)])  # a CH carbon, opls_137
    first = re.escape("isobutane's atoms 1 (opls_135 bonded to opls_137, opls_140, opls_140, opls_140), ")
    with pytest.raises(ValueError, match=first + re.escape("2 (opls_137 bonded to opls_135, opls_135, opls_135")):
        transfer_geometry(isobutane.types, isobutane.bonds, trained(2, 3, 5), "isobutane")
    assert environments(isobutane.types, isobutane.bonds)[1][0] == "opls_137"


def test_a_bond_that_training_holds_stiff_is_refused():
    butane, _ = frames_of(4)
    # rigid all-trans frames hold every C-C torsion within a few degrees: the torsions anchor holds them
    with pytest.raises(ValueError, match="stiff"):
        transfer_geometry(butane.types, butane.bonds, trained(5, kind="torsions"), "butane")


def test_the_rollout_transfers_from_the_models_record_and_an_old_record_gets_one_clear_error():
    butane, frames = frames_of(4)
    record = {"kind": "angles", "molecules": {}}
    for k, m in trained(3, 5).items():
        record["molecules"][k] = {**m.geometry.to_dict(), "labels": m.labels, "bonds": m.bonds.tolist()}
    geometry = transferred_anchor(record, "butane", butane.types, butane.bonds, Path("model.pt"))
    own = IdealGeometry.from_frames(butane.bonds, frames, "angles")
    assert geometry.pairs.tolist() == own.pairs.tolist()
    np.testing.assert_allclose(geometry.lengths.numpy(), own.lengths.numpy(), atol=0.01)
    with pytest.raises(ConfigError, match=re.escape("model.pt: isobutane's atoms 1 ")):
        iso = hydrocarbon_from_skeleton(4, [(0, 1), (1, 2), (1, 3)])
        transferred_anchor(record, "isobutane", iso.types, iso.bonds, Path("model.pt"))
    del record["molecules"]["C3"]["labels"]
    with pytest.raises(CheckpointError, match=r"model\.pt: keeps no atom labels.*C3.*butane"):
        transferred_anchor(record, "butane", butane.types, butane.bonds, Path("model.pt"))
