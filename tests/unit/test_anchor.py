"""The ideal-geometry anchor: it restores bonds and angles, is E(3)-equivariant, keeps the centroid,
and what training pairs and rollouts condition on."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from scoredyn.data.dataset import Source, pack_dataset
from scoredyn.data.loader import PairData
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.errors import TrajectoryError
from scoredyn.geometry import adjacency, bond_lengths, dihedrals, set_dihedral
from scoredyn.graph import random_rotations
from scoredyn.model.anchor import IdealGeometry, _torsions, angle_pairs, rotatable_torsions, stiff_torsion_pairs
from scoredyn.model.checkpoint import load_model
from scoredyn.model.network import NetworkConfig, ScoreNetwork
from scoredyn.rollout.sampler import DisplacementSampler
from scoredyn.training import TrainConfig, train
from scoredyn.trajectory import Trajectory, write_trajectory


def thermal(pos: np.ndarray, frames: int, sd: float, seed: int = 0) -> np.ndarray:
    """frames [T, N, 3]: pos with independent Gaussian jitter of ``sd`` Angstrom per coordinate."""
    return pos[None] + np.random.default_rng(seed).normal(scale=sd, size=(frames, *pos.shape))


def test_angle_pairs_are_the_ends_of_every_bond_angle():
    # a chain 0-1-2-3 with a branch 1-4
    assert angle_pairs(5, np.array([[0, 1], [1, 2], [2, 3], [1, 4]])).tolist() == [[0, 2], [0, 4], [1, 3], [2, 4]]


def test_anchor_restores_stretched_bonds_and_keeps_the_centroid(ala2_resolved):
    mol, pos = ala2_resolved
    bonds = mol.top.bonds
    geometry = IdealGeometry.from_frames(bonds, thermal(pos, 200, 0.02))
    # a structure 0.1 A away from the ideal one with one heavy bond pulled 0.3 A long
    bad = thermal(pos, 1, 0.1, seed=1)[0]
    i, j = next((int(i), int(j)) for i, j in bonds if mol.top.elements[i] != "H" and mol.top.elements[j] != "H")
    bad[j] += 0.3 * (bad[j] - bad[i]) / np.linalg.norm(bad[j] - bad[i])
    x = torch.as_tensor(bad)[None]
    a = geometry.apply(x)
    err = bond_lengths(a.numpy(), geometry.pairs.numpy()) - geometry.lengths.numpy()
    before = bond_lengths(x.numpy(), geometry.pairs.numpy()) - geometry.lengths.numpy()
    assert np.abs(before).max() > 0.25 and np.abs(err).max() < 0.01
    torch.testing.assert_close(a.mean(dim=1), x.mean(dim=1), rtol=0, atol=1e-10)
    # a structure already at the targets barely moves: the anchor of an anchor is within 0.02 A of it
    # (the damped steps leave nearly redundant 1-3 distances slightly unconverged)
    torch.testing.assert_close(geometry.apply(a), a, rtol=0, atol=2e-2)


def spread(mol, pos: np.ndarray, names: tuple[str, ...] = ("phi", "psi"), n: int = 60) -> np.ndarray:
    """frames [n, N, 3]: the torsions ``names`` spread over +-60 degrees, everything else near pos."""
    nbrs = adjacency(mol.top.n_atoms, mol.top.bonds)
    rng = np.random.default_rng(4)
    frames = []
    for _ in range(n):
        x = pos
        for name in names:
            quad = mol.dihedral_atoms[name]
            x = set_dihedral(x, nbrs, quad, float(dihedrals(x, quad[None])[0]) + rng.uniform(-60, 60))
        frames.append(x + rng.normal(scale=0.01, size=x.shape))
    return np.array(frames)


def test_stiff_torsions_are_held_and_phi_and_psi_are_not(ala2_resolved):
    mol, pos = ala2_resolved
    pairs = {tuple(p) for p in stiff_torsion_pairs(mol.top.bonds, spread(mol, pos)).tolist()}
    phi, psi = mol.dihedral_atoms["phi"], mol.dihedral_atoms["psi"]
    assert (min(phi[0], phi[3]), max(phi[0], phi[3])) not in pairs
    assert (min(psi[0], psi[3]), max(psi[0], psi[3])) not in pairs
    for omega in mol.peptide_bond_atoms:  # both peptide bonds' CA/CH3 ends are held
        assert (min(omega[0], omega[3]), max(omega[0], omega[3])) in pairs


def test_anchor_is_rotation_and_translation_equivariant(ala2_resolved):
    mol, pos = ala2_resolved
    geometry = IdealGeometry.from_frames(mol.top.bonds, thermal(pos, 50, 0.02))
    x = torch.as_tensor(thermal(pos, 4, 0.08, seed=2))  # [4, N, 3]
    rot = random_rotations(4, torch.Generator().manual_seed(3), dtype=torch.float64)
    shift = torch.tensor([1.5, -2.0, 0.7], dtype=torch.float64)
    moved = torch.einsum("rij,rnj->rni", rot, x) + shift
    torch.testing.assert_close(geometry.apply(moved), torch.einsum("rij,rnj->rni", rot, geometry.apply(x)) + shift)


def write_chain(path, pos):
    n = pos.shape[1]
    t = Trajectory(pos, [f"C{i}" for i in range(n)], np.full(n, 6), 0.1, types=["opls_135"] * n,
                   bonds=np.array([[k, k + 1] for k in range(n - 1)]))  # fmt: skip
    write_trajectory(path, t)


def test_anchored_pairs_start_from_the_anchor_and_end_at_the_next_frame(tmp_path):
    rng = np.random.default_rng(0)
    chain = np.array([[1.5 * k, 0.3 * (k % 2), 0.0] for k in range(5)])
    pos = chain + np.cumsum(rng.normal(scale=0.02, size=(300, 5, 3)), axis=0)
    write_chain(tmp_path / "a.h5", pos)
    pack_dataset([Source(tmp_path / "a.h5", "chain")], tmp_path / "d.h5", 1.0, 0.2, 5.0, "auto", 0)
    plain, anchored = PairData(tmp_path / "d.h5"), PairData(tmp_path / "d.h5", anchor="angles")
    assert plain.fingerprint != anchored.fingerprint and plain.anchor_record() is None
    assert PairData(tmp_path / "d.h5", anchor="torsions").fingerprint != anchored.fingerprint
    geometry = anchored.geometries["chain"]
    assert len(geometry) == 4 + 3  # 4 bonds and 3 angles
    torch.testing.assert_close(geometry.lengths, torch.as_tensor(bond_lengths(pos, geometry.pairs.numpy()).mean(0)))
    index = torch.arange(6)
    p, a = plain.batch(index), anchored.batch(index)
    torch.testing.assert_close(a.r + a.z, p.r + p.z)  # the same next frames
    want = geometry.apply(p.r.reshape(6, 5, 3).double()).float().reshape(-1, 3)
    torch.testing.assert_close(a.r, want)
    rec = anchored.anchor_record()
    assert rec["kind"] == "angles" and list(rec["molecules"]) == ["chain"]
    assert_same_geometry(IdealGeometry.from_dict(rec["molecules"]["chain"]), geometry)


def assert_same_geometry(got: IdealGeometry, want: IdealGeometry) -> None:
    assert torch.equal(got.pairs, want.pairs) and torch.equal(got.lengths, want.lengths)
    assert (got.bank is None) == (want.bank is None)
    if want.bank is not None:
        assert torch.equal(got.bank, want.bank)


def test_the_model_records_its_anchor_and_a_version_2_file_has_none(tmp_path):
    pos = np.array([[1.5 * k, 0.3 * (k % 2), 0.0] for k in range(5)]) + np.cumsum(
        np.random.default_rng(0).normal(scale=0.02, size=(200, 5, 3)), axis=0
    )
    write_chain(tmp_path / "a.h5", pos)
    pack_dataset([Source(tmp_path / "a.h5", "chain")], tmp_path / "d.h5", 1.0, 0.2, 5.0, "auto", 0)
    cfg = TrainConfig(steps=2, batch_size=4, width=8, n_blocks=1, validate_every=2, val_pairs=4, anchor="torsions")
    data = PairData(tmp_path / "d.h5", anchor=cfg.anchor)
    train(cfg, data, None, tmp_path / "w", tmp_path / "model.pt", tmp_path / "m.csv", progress=False)
    _, meta = load_model(tmp_path / "model.pt")
    assert meta.version == 3 and meta.anchor["kind"] == "torsions"
    assert_same_geometry(IdealGeometry.from_dict(meta.anchor["molecules"]["chain"]), data.geometries["chain"])
    rec = torch.load(tmp_path / "model.pt", weights_only=True)
    rec["version"] = 2
    del rec["anchor"]
    torch.save(rec, tmp_path / "v2.pt")
    assert load_model(tmp_path / "v2.pt")[1].anchor is None  # moves from the frames, as it was trained


def test_a_dataset_without_bonds_gets_one_clear_error_for_the_anchor(tmp_path):
    pos = np.cumsum(np.random.default_rng(0).normal(scale=0.1, size=(100, 4, 3)), axis=0)
    write_trajectory(tmp_path / "a.h5", Trajectory(pos, ["C"] * 4, np.full(4, 6), 0.1, types=["opls_135"] * 4))
    pack_dataset([Source(tmp_path / "a.h5", "nobonds")], tmp_path / "d.h5", 1.0, 0.2, 5.0, "auto", 0)
    assert len(PairData(tmp_path / "d.h5"))  # without the anchor it loads
    with pytest.raises(TrajectoryError, match=r"d.h5: stores no bonds for nobonds.*train.anchor"):
        PairData(tmp_path / "d.h5", anchor="torsions")


def test_an_anchored_sampler_moves_from_the_anchor():
    torch.manual_seed(0)
    schedule = VPSchedule()
    net = ScoreNetwork(NetworkConfig(n_types=1, width=16, n_blocks=2, cutoff=3.0, skip_var=0.5), schedule)
    chain = torch.tensor([[1.5 * k, 0.3 * (k % 2), 0.0] for k in range(5)], dtype=torch.float64)
    geometry = IdealGeometry.from_frames(np.array([[k, k + 1] for k in range(4)]), chain[None].numpy())
    gen = torch.Generator().manual_seed(1)
    r = chain + 0.1 * torch.randn(3, 5, 3, generator=gen, dtype=torch.float64)
    noise = torch.randn(3, 5, 3, generator=gen, dtype=torch.float64)
    types, solver = torch.zeros(5, dtype=torch.long), SolverConfig("dpm2", 3)
    plain = DisplacementSampler(net, schedule, solver, types, dtype=torch.float64)
    anchored = DisplacementSampler(net, schedule, solver, types, dtype=torch.float64, anchor=geometry)
    a = geometry.apply(r)
    torch.testing.assert_close(r + anchored.sample(r, noise), a + plain.sample(a, noise))


def test_the_bank_holds_evenly_spaced_frames_and_a_redraw_lands_on_the_row_it_picks(ala2_resolved):
    mol, pos = ala2_resolved
    frames = thermal(pos, 300, 0.02)
    geometry = IdealGeometry.from_frames(mol.top.bonds, frames)
    assert geometry.bank.shape == (300, len(geometry))
    torch.testing.assert_close(geometry.bank[7], torch.as_tensor(bond_lengths(frames[7], geometry.pairs.numpy()),
                                                                   dtype=torch.float32))  # fmt: skip
    x = torch.as_tensor(thermal(pos, 3, 0.06, seed=5))  # [3, N, 3] off every target
    u = torch.tensor([0.0, 0.5, 0.999])
    out = geometry.redraw(x, u)
    got = bond_lengths(out.numpy(), geometry.pairs.numpy())  # [3, P]
    want = geometry.bank[[0, 150, 299]].double().numpy()
    assert np.abs(got - want).max() < 0.01 < np.abs(bond_lengths(x.numpy(), geometry.pairs.numpy()) - want).max()
    torch.testing.assert_close(out.mean(dim=1), x.mean(dim=1), rtol=0, atol=1e-10)


def test_redrawn_fast_coordinates_have_the_spread_of_the_frames_not_of_the_input(ala2_resolved):
    mol, pos = ala2_resolved
    geometry = IdealGeometry.from_frames(mol.top.bonds, thermal(pos, 400, 0.015))
    x = torch.as_tensor(thermal(pos, 400, 0.05, seed=6))  # three times the spread
    out = geometry.redraw(x, torch.rand(400, generator=torch.Generator().manual_seed(0)))
    heavy = [k for k, (i, j) in enumerate(geometry.pairs.tolist()[: len(mol.top.bonds)])
             if mol.top.elements[i] != "H" and mol.top.elements[j] != "H"]  # fmt: skip
    sd = bond_lengths(out.numpy(), geometry.pairs.numpy())[:, heavy].std(axis=0)
    sd_bank = geometry.bank[:, heavy].double().std(dim=0).numpy()
    sd_input = bond_lengths(x.numpy(), geometry.pairs.numpy())[:, heavy].std(axis=0)
    assert np.all(np.abs(sd / sd_bank - 1) < 0.25) and np.all(sd_input > 2 * sd_bank)


def test_a_redrawing_sampler_draws_its_frame_from_a_second_noise_block():
    torch.manual_seed(0)
    schedule = VPSchedule()
    net = ScoreNetwork(NetworkConfig(n_types=1, width=16, n_blocks=2, cutoff=3.0, skip_var=0.5), schedule)
    chain = np.array([[1.5 * k, 0.3 * (k % 2), 0.0] for k in range(5)])
    bonds = np.array([[k, k + 1] for k in range(4)])
    geometry = IdealGeometry.from_frames(bonds, thermal(chain, 50, 0.02))
    types, solver = torch.zeros(5, dtype=torch.long), SolverConfig("dpm2", 3)
    gen = torch.Generator().manual_seed(1)
    r = torch.as_tensor(chain) + 0.1 * torch.randn(3, 5, 3, generator=gen, dtype=torch.float64)
    noise = torch.randn(3, 10, 3, generator=gen, dtype=torch.float64)  # [R, 2 N, 3]
    kept = DisplacementSampler(net, schedule, solver, types, dtype=torch.float64, anchor=geometry)
    redrawn = DisplacementSampler(net, schedule, solver, types, dtype=torch.float64, anchor=geometry, redraw=True)
    assert (kept.noise_draws, redrawn.noise_draws) == (1, 2)
    u = torch.special.ndtr(noise[:, 5, 0])
    want = geometry.redraw(r + kept.sample(r, noise[:, :5]), u)
    torch.testing.assert_close(r + redrawn.sample(r, noise), want)
    without = IdealGeometry.from_dict({k: v for k, v in geometry.to_dict().items() if k in ("pairs", "lengths")})
    with pytest.raises(ValueError, match="bank"):
        DisplacementSampler(net, schedule, solver, types, anchor=without, redraw=True)


def test_torsion_gradients_match_finite_differences():
    x = torch.as_tensor(np.random.default_rng(0).normal(scale=1.5, size=(2, 6, 3)))
    quads = torch.tensor([[0, 1, 2, 3], [1, 2, 3, 4], [5, 0, 1, 2]])
    phi, grad = _torsions(x, quads)
    np.testing.assert_allclose(np.degrees(phi.numpy()), dihedrals(x.numpy(), quads.numpy()), atol=1e-9)
    eps, numeric = 1e-6, torch.zeros_like(grad)
    for a in range(4):
        for c in range(3):
            for q in range(len(quads)):
                one = torch.zeros_like(x)
                one[:, quads[q, a], c] = eps
                numeric[:, q, a, c] = (_torsions(x + one, quads)[0][:, q] - _torsions(x - one, quads)[0][:, q]) / (
                    2 * eps
                )
    torch.testing.assert_close(grad, numeric, rtol=0, atol=1e-7)


def test_the_redraw_holds_phi_and_psi_and_the_methyl_rotations(ala2_resolved):
    mol, pos = ala2_resolved
    geometry = IdealGeometry.from_frames(mol.top.bonds, spread(mol, pos, n=100))
    held = {tuple(q) for q in geometry.torsions.tolist()}
    assert held == {tuple(mol.dihedral_atoms["phi"].tolist()), tuple(mol.dihedral_atoms["psi"].tolist())}
    assert torch.equal(
        torch.as_tensor(rotatable_torsions(mol.top.n_atoms, mol.top.bonds, geometry.pairs.numpy())), geometry.torsions
    )
    x = torch.as_tensor(thermal(pos, 8, 0.05, seed=7))
    out = geometry.redraw(x, torch.linspace(0, 0.99, 8))
    quads = geometry.torsions.numpy()
    turned = (dihedrals(out.numpy(), quads) - dihedrals(x.numpy(), quads) + 180) % 360 - 180
    assert np.abs(turned).max() < 0.1
    # without holding them, the same projection turns phi and psi by degrees
    free = geometry.apply(x, geometry.bank[(torch.linspace(0, 0.99, 8) * 100).long()])
    assert np.abs((dihedrals(free.numpy(), quads) - dihedrals(x.numpy(), quads) + 180) % 360 - 180).max() > 1.0


def test_pairs_carry_each_structures_rotatable_torsions_and_a_signed_model_samples_with_them(tmp_path):
    chain = np.array([[1.3 * k, 0.8 * (k % 2), 0.0] for k in range(6)])
    pos = chain + np.random.default_rng(0).normal(scale=0.25, size=(300, 6, 3))  # floppy torsions
    write_chain(tmp_path / "a.h5", pos)
    pack_dataset([Source(tmp_path / "a.h5", "chain")], tmp_path / "d.h5", 1.0, 0.2, 5.0, "auto", 0)
    data = PairData(tmp_path / "d.h5", anchor="torsions")
    quads = data.geometries["chain"].torsions
    assert quads.tolist() == [[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 5]]
    sides = data.geometries["chain"].sides  # the smaller side of each torsion's bond
    assert sides.tolist() == [[0, 0], [0, 1], [1, 3], [1, 4], [1, 5], [2, 4], [2, 5]]  # a tie: the k side
    b = data.batch(torch.tensor([4, 0, 7]))
    assert torch.equal(b.torsions, torch.cat([quads + 6 * k for k in range(3)]))
    assert torch.equal(b.sides, torch.cat([sides + torch.tensor([3 * k, 6 * k]) for k in range(3)]))
    assert PairData(tmp_path / "d.h5").batch(torch.tensor([0])).torsions is None
    cfg = TrainConfig(steps=2, batch_size=4, width=8, n_blocks=1, validate_every=2, val_pairs=4, anchor="torsions",
                      torsion_features=True, torsion_head=True)  # fmt: skip
    train(cfg, data, data, tmp_path / "w", tmp_path / "model.pt", tmp_path / "m.csv", progress=False)
    net, meta = load_model(tmp_path / "model.pt")
    assert net.cfg.torsion_features and net.cfg.torsion_head
    geometry = IdealGeometry.from_dict(meta.anchor["molecules"]["chain"])
    types, solver = torch.zeros(6, dtype=torch.long), SolverConfig("dpm2", 3)
    sampler = DisplacementSampler(net, VPSchedule(), solver, types, anchor=geometry)
    r = torch.as_tensor(pos[:3], dtype=torch.float32)
    assert torch.isfinite(sampler.sample(r, torch.randn(3, 6, 3))).all()
    with pytest.raises(ValueError, match="needs the anchor geometry"):
        DisplacementSampler(net, VPSchedule(), solver, types)
    with pytest.raises(ValueError, match="torsion_head reads the torsion features"):
        train(replace(cfg, torsion_features=False), data, None, tmp_path / "w3", tmp_path / "y.pt", tmp_path / "y.csv",
              progress=False)  # fmt: skip
    with pytest.raises(ValueError, match=r"train\.torsion_features needs"):
        train(replace(cfg, anchor="none"), PairData(tmp_path / "d.h5"), None, tmp_path / "w2", tmp_path / "x.pt",
              tmp_path / "x.csv", progress=False)  # fmt: skip


def test_a_torsion_turns_the_smaller_side_of_its_bond_and_a_ring_bond_none():
    from scoredyn.model.anchor import torsion_sides

    # 0-1-2-3-4 with 5 on 3: the bond 1-2 turns {0, 1}, the bond 2-3 turns {3, 4, 5}
    bonds = np.array([[0, 1], [1, 2], [2, 3], [3, 4], [3, 5]])
    assert torsion_sides(6, bonds, np.array([[0, 1, 2, 3], [1, 2, 3, 4]])).tolist() == [
        [0, 0], [0, 1], [1, 3], [1, 4], [1, 5]]  # fmt: skip
    ring = np.array([[0, 1], [1, 2], [2, 3], [3, 0], [2, 4]])
    assert torsion_sides(5, ring, np.array([[0, 1, 2, 3], [1, 2, 4, 4]])).tolist() == [[1, 4]]


def test_the_torsion_head_turns_its_side_rigidly_about_the_bond():
    chain = torch.tensor([[1.3 * k, 0.8 * (k % 2), 0.3 * (k % 3)] for k in range(6)], dtype=torch.float64)
    torsions, sides = torch.tensor([[1, 2, 3, 4]]), torch.tensor([[0, 4], [0, 5]])
    net = ScoreNetwork(NetworkConfig(1, 8, 1, cutoff=3.0, equivariant=True, torsion_features=True,
                                     torsion_head=True)).double()  # fmt: skip
    torch.nn.init.constant_(net.torsion_head.out[1].bias, 0.7)  # the edge-vector decoder stays zero
    types, batch = torch.zeros(6, dtype=torch.long), torch.zeros(6, dtype=torch.long)
    with torch.no_grad():
        eps = net(torch.zeros_like(chain), torch.tensor([0.5], dtype=torch.float64), chain, types, batch,
                  torsions=torsions, sides=sides)  # fmt: skip
    axis = (chain[3] - chain[2]) / (chain[3] - chain[2]).norm()
    turn = torch.zeros_like(chain)
    turn[4:] = 0.7 * torch.cross(axis.expand(2, 3), chain[4:] - chain[3], dim=-1)
    torch.testing.assert_close(eps, turn - turn.mean(0))  # the centroid is the Gaussian skip's
    # a small turn of that size moves atoms 4 and 5 about the bond and leaves the torsion's other atoms
    moved = chain + 1e-4 * eps
    before, after = (dihedrals(x.numpy(), np.array([[1, 2, 3, 4], [1, 2, 3, 5]])) for x in (chain, moved))
    assert np.all(np.abs(after - before) > 1e-3)
    np.testing.assert_allclose(bond_lengths(moved.numpy(), np.array([[3, 4], [4, 5]])),
                               bond_lengths(chain.numpy(), np.array([[3, 4], [4, 5]])), atol=1e-6)  # fmt: skip


def test_a_whole_turn_turns_every_atom_about_the_bond_and_keeps_the_geometry():
    chain = torch.tensor([[1.3 * k, 0.8 * (k % 2), 0.3 * (k % 3)] for k in range(6)], dtype=torch.float64)
    torsions, sides = torch.tensor([[1, 2, 3, 4]]), torch.tensor([[0, 4], [0, 5]])
    # two structures in one batch: the second's turn must not leak into the first
    two = torch.cat([chain, chain + 10.0])
    net = ScoreNetwork(NetworkConfig(1, 8, 1, cutoff=3.0, equivariant=True, torsion_features=True,
                                     torsion_head=True, whole_turn=True)).double()  # fmt: skip
    torch.nn.init.constant_(net.torsion_head.out[1].bias, 0.0)
    with torch.no_grad():
        net.torsion_head.out[1].bias[1] = 0.4  # the whole turn alone
        eps = net(
            torch.zeros_like(two),
            torch.tensor([0.5, 0.5], dtype=torch.float64),
            two,
            torch.zeros(12, dtype=torch.long),
            torch.arange(2).repeat_interleave(6),
            torsions=torch.cat([torsions, torsions + 6]),
            sides=torch.cat([sides, sides + torch.tensor([1, 6])]),
        )
    axis = (chain[3] - chain[2]) / (chain[3] - chain[2]).norm()
    turn = 0.4 * torch.cross(axis.expand(6, 3), chain - chain[3], dim=-1)
    torch.testing.assert_close(eps[:6], turn - turn.mean(0))
    torch.testing.assert_close(eps[6:], eps[:6])
    # a whole turn changes no internal coordinate: every distance stays, to first order
    moved = chain + 1e-4 * eps[:6]
    torch.testing.assert_close(torch.cdist(moved, moved), torch.cdist(chain, chain), atol=1e-7, rtol=0)
    with pytest.raises(ValueError, match="second output of the torsion head"):
        ScoreNetwork(NetworkConfig(1, 8, 1, equivariant=True, torsion_features=True, whole_turn=True))


def test_slow_targets_keep_the_next_frames_torsions_at_the_mean_geometry(tmp_path):
    chain = np.array([[1.3 * k, 0.8 * (k % 2), 0.0] for k in range(6)])
    pos = chain + np.random.default_rng(0).normal(scale=0.25, size=(300, 6, 3))
    write_chain(tmp_path / "a.h5", pos)
    pack_dataset([Source(tmp_path / "a.h5", "chain")], tmp_path / "d.h5", 1.0, 0.2, 5.0, "auto", 0)
    frames, slow = PairData(tmp_path / "d.h5", anchor="torsions"), PairData(tmp_path / "d.h5", anchor="torsions",
                                                                            slow_targets=True)  # fmt: skip
    assert frames.fingerprint != slow.fingerprint and slow.anchor_record()["slow_targets"]
    index = torch.arange(20)
    a, b = frames.batch(index), slow.batch(index)
    torch.testing.assert_close(a.r, b.r)  # the same conditioning anchors
    geometry = slow.geometries["chain"]
    end, slow_end = (a.r + a.z).reshape(20, 6, 3).double(), (b.r + b.z).reshape(20, 6, 3).double()
    quads = geometry.torsions.numpy()
    np.testing.assert_allclose(dihedrals(slow_end.numpy(), quads), dihedrals(end.numpy(), quads), atol=0.05)
    lengths = bond_lengths(slow_end.numpy(), geometry.pairs.numpy())
    assert np.abs(lengths - geometry.lengths.numpy()).max() < 1e-3 < np.abs(
        bond_lengths(end.numpy(), geometry.pairs.numpy()) - geometry.lengths.numpy()).max()  # fmt: skip
    with pytest.raises(ValueError, match="need an anchor"):
        PairData(tmp_path / "d.h5", slow_targets=True)


def test_the_mean_head_is_the_mean_of_the_sampled_moves_at_every_noise_level():
    """A mean move inside the Gaussian skip: with the network's own output silent and the mean head
    turning the torsion's side by a fixed angle, ODE samples have exactly that mean (the skip is
    then the exact score of N(m, v) at every tau), and at init the mean is zero."""
    from scoredyn.diffusion.solver import solve
    from scoredyn.diffusion.wrapper import ModelWrapper

    schedule, reps = VPSchedule(), 1000
    chain = torch.tensor([[1.3 * k, 0.8 * (k % 2), 0.3 * (k % 3)] for k in range(6)], dtype=torch.float64)
    cfg = NetworkConfig(1, 8, 1, cutoff=3.0, skip_var=0.04, skip_var_centroid=0.01, position_scale=2.0,
                        equivariant=True, torsion_features=True, torsion_head=True, mean_head=True)  # fmt: skip
    net = ScoreNetwork(cfg, schedule).double()
    r = chain.repeat(reps, 1)
    batch = torch.arange(reps).repeat_interleave(6)
    torsions = torch.tensor([[1, 2, 3, 4]]) + 6 * torch.arange(reps)[:, None]
    sides = torch.stack([torch.arange(reps).repeat_interleave(2), torch.tensor([4, 5]).repeat(reps)
                         + 6 * torch.arange(reps).repeat_interleave(2)], 1)  # fmt: skip
    types = torch.zeros(len(r), dtype=torch.long)
    with torch.no_grad():
        assert float(net.condition(r, types, batch, torsions=torsions, sides=sides).mean.abs().max()) == 0.0
        torch.nn.init.constant_(net.mean_head[-1].bias, 0.3)  # radians
        cond = net.condition(r, types, batch, torsions=torsions, sides=sides)
        noise = torch.randn(r.shape, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
        model = ModelWrapper(lambda x, tau: net.denoise(x, tau, cond), schedule)
        tau_max = torch.tensor(schedule.tau_max, dtype=torch.float64)
        z = solve(model, schedule.sigma(tau_max) * noise, SolverConfig("dpm3", 20)) / schedule.data_scale
    axis = (chain[3] - chain[2]) / (chain[3] - chain[2]).norm()
    turn = torch.zeros_like(chain)
    turn[4:] = 0.3 * torch.cross(axis.expand(2, 3), chain[4:] - chain[3], dim=-1)
    want = turn - turn.mean(0)  # Angstrom; the centroid is the skip's
    got = z.reshape(reps, 6, 3)
    got = (got - got.mean(1, keepdim=True)).mean(0)
    torch.testing.assert_close(got, want, atol=0.01, rtol=0)  # sd of a mean: 0.1 / sqrt(1000) = 0.003 A
    assert float(want.abs().max()) > 0.2
