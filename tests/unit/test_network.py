import dataclasses

import numpy as np
import pytest
import torch
from scipy import stats

from scoredyn.diffusion.loss import dsm_loss
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.graph import PairBatch, radius_graph, random_rotations
from scoredyn.model.network import NetworkConfig, ScoreNetwork


def make_pairs(g: int = 4, n: int = 6, seed: int = 0) -> PairBatch:
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(g * n, 3, generator=gen) * 1.5
    z = torch.randn(g * n, 3, generator=gen) * 0.3
    types = torch.randint(0, 3, (g * n,), generator=gen)
    batch = torch.arange(g).repeat_interleave(n)
    return PairBatch(r, z, types, batch, g)


def test_radius_graph_matches_brute_force_with_mixed_sizes():
    gen = torch.Generator().manual_seed(1)
    sizes = [3, 7, 5]
    pos = torch.randn(sum(sizes), 3, generator=gen) * 2
    batch = torch.repeat_interleave(torch.arange(3), torch.tensor(sizes))
    got = {tuple(e) for e in radius_graph(pos, batch, 2.5).T.tolist()}
    want = {
        (i, j)
        for i in range(len(pos))
        for j in range(len(pos))
        if i != j and batch[i] == batch[j] and float((pos[i] - pos[j]).norm()) < 2.5
    }
    assert got == want


def test_rotations_are_proper_and_uniform():
    rot = random_rotations(20000, torch.Generator().manual_seed(0), dtype=torch.float64)
    torch.testing.assert_close(rot @ rot.transpose(1, 2), torch.eye(3, dtype=torch.float64).expand(20000, 3, 3))
    torch.testing.assert_close(torch.linalg.det(rot), torch.ones(20000, dtype=torch.float64))
    # Haar measure: a rotated unit vector is uniform on the sphere, so each coordinate is U(-1, 1)
    x = (rot @ torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64))[:, 0].numpy()
    assert stats.kstest(x, "uniform", args=(-1, 2)).pvalue > 0.01


def test_shapes():
    pairs = make_pairs()
    net = ScoreNetwork(NetworkConfig(n_types=3, width=16, n_blocks=2))
    out = net(pairs.z, torch.rand(pairs.n_graphs), pairs.r, pairs.types, pairs.batch)
    assert out.shape == (24, 3) and torch.isfinite(out).all()
    losses, tau = dsm_loss(net, pairs, VPSchedule(), torch.Generator().manual_seed(0))
    assert losses.shape == (4,) and tau.shape == (4,)


def test_factored_edge_layer_equals_linear_on_concatenation():
    from scoredyn.model.network import EdgeUpdate

    torch.manual_seed(0)
    block = EdgeUpdate(8)
    e, h = torch.randn(5, 8), torch.randn(4, 8)
    ei = torch.tensor([[0, 1, 2, 3, 0], [1, 2, 3, 0, 2]])
    w = torch.cat([block.w_e.weight, block.w_i.weight, block.w_j.weight], dim=1)
    pre = torch.cat([e, h[ei[0]], h[ei[1]]], dim=1) @ w.T + block.w_e.bias
    torch.testing.assert_close(block(e, h, ei), e + block.out(pre))


def test_rotating_inputs_and_outputs_together_keeps_the_loss_distribution():
    torch.manual_seed(0)
    net = ScoreNetwork(NetworkConfig(n_types=3, width=16, n_blocks=2)).double()
    pairs = make_pairs(g=8)
    pairs = PairBatch(pairs.r.double(), pairs.z.double(), pairs.types, pairs.batch, pairs.n_graphs)
    q = random_rotations(1, torch.Generator().manual_seed(9), dtype=torch.float64).expand(8, 3, 3)
    turned = pairs.rotated(q)
    s = VPSchedule()
    with torch.no_grad():
        a = torch.cat([dsm_loss(net, pairs, s, torch.Generator().manual_seed(k))[0] for k in range(300)])
        b = torch.cat([dsm_loss(net, turned, s, torch.Generator().manual_seed(1000 + k))[0] for k in range(300)])
    assert stats.ks_2samp(a.numpy(), b.numpy()).pvalue > 0.01
    # without the random rotation the loss would see the orientation: the same draws give other values
    with torch.no_grad():
        fixed = dsm_loss(net, pairs, s, torch.Generator().manual_seed(5), rotate=False)[0]
        moved = dsm_loss(net, turned, s, torch.Generator().manual_seed(5), rotate=False)[0]
    assert not torch.allclose(fixed, moved)


def test_graph_is_rotation_invariant():
    pairs = make_pairs()
    rot = random_rotations(4, torch.Generator().manual_seed(3))
    turned = pairs.rotated(rot)
    a = radius_graph(pairs.r, pairs.batch, 3.0)
    b = radius_graph(turned.r, turned.batch, 3.0)
    assert {tuple(x) for x in a.T.tolist()} == {tuple(x) for x in b.T.tolist()}


def test_overfits_one_fixed_batch():
    torch.manual_seed(0)
    pairs = make_pairs(g=2, n=5)
    net = ScoreNetwork(NetworkConfig(n_types=3, width=32, n_blocks=2))
    opt = torch.optim.RAdam(net.parameters(), lr=3e-3)
    s = VPSchedule()
    tau = torch.tensor([0.3, 0.6])

    def loss(seed):
        return dsm_loss(net, pairs, s, torch.Generator().manual_seed(seed), rotate=False, tau=tau)[0].mean()

    first = loss(0).item()
    for _ in range(300):
        opt.zero_grad()
        loss(0).backward()
        opt.step()
    assert loss(0).item() < first / 5
    assert np.isfinite(first)


def test_gaussian_skip_with_a_silent_network_samples_the_data_variances():
    """With the decoder's output zeroed, the skip alone is the exact Gaussian noise prediction:
    sampled displacements have the given centroid-free and centroid variances."""
    from scoredyn.diffusion.schedule import VPSchedule
    from scoredyn.diffusion.settings import SolverConfig
    from scoredyn.rollout.sampler import DisplacementSampler

    schedule = VPSchedule()
    cfg = NetworkConfig(n_types=3, width=16, n_blocks=1, skip_var=0.36, skip_var_centroid=0.04)
    net = ScoreNetwork(cfg, schedule).double()
    torch.nn.init.zeros_(net.decoder.net[-1].weight)
    torch.nn.init.zeros_(net.decoder.net[-1].bias)
    r = torch.randn(4000, 5, 3, dtype=torch.float64) * 2.0
    sampler = DisplacementSampler(net, schedule, SolverConfig("dpm3", 20), torch.tensor([0, 1, 2, 1, 0]),
                                  dtype=torch.float64)  # fmt: skip
    z = schedule.data_scale * sampler.sample(r, torch.randn_like(r))
    centroid = z.mean(1, keepdim=True)
    assert abs(float((z - centroid).pow(2).mean()) / 0.36 - 1) < 0.03
    assert abs(float(centroid.pow(2).mean()) / 0.04 - 1) < 0.05
    assert float(sampler.mean_move(r[:10]).abs().max()) < 1e-12  # a zero-mean Gaussian's mean move
    torch.nn.init.constant_(net.decoder.net[-1].bias, 0.5)  # a network with something to say
    assert float(sampler.mean_move(r[:10]).abs().max()) > 1e-3
    with pytest.raises(ValueError, match="schedule"):
        ScoreNetwork(cfg)


@pytest.mark.parametrize(("scale", "equivariant"), [(1.0, False), (2.0, False), (2.0, True)])
def test_conditioning_once_and_denoising_equals_the_whole_network(scale, equivariant):
    """The r_t-only work done once per SD step gives the same map as the full forward pass."""
    torch.manual_seed(0)
    schedule = VPSchedule()
    cfg = NetworkConfig(n_types=3, width=16, n_blocks=2, skip_var=0.3, skip_var_centroid=0.1,
                        position_scale=scale, equivariant=equivariant)  # fmt: skip
    net = ScoreNetwork(cfg, schedule).double()
    pairs = make_pairs(g=3)
    r, z = pairs.r.double(), pairs.z.double()
    cond = net.condition(r, pairs.types, pairs.batch)
    i, j = cond.edge_index
    rij = scale * (r[j] - r[i])
    rp = rij + z[j] - z[i]
    if equivariant:
        along = (rij * rp).sum(-1, keepdim=True) / rij.norm(dim=-1, keepdim=True)
        feats = torch.cat([rij.norm(dim=-1, keepdim=True), rp.norm(dim=-1, keepdim=True), along], dim=-1)
    else:
        feats = torch.cat([rij, rij.norm(dim=-1, keepdim=True), rp, rp.norm(dim=-1, keepdim=True)], dim=-1)
    torch.testing.assert_close(net.encode_edges(net.after_edges(z, cond), cond), net.edge_enc(feats))
    tau = torch.tensor(0.37, dtype=torch.float64)
    whole = net(z, tau.expand(3), r, pairs.types, pairs.batch)
    torch.testing.assert_close(net.denoise(z, tau, cond), whole)  # a shared 0-d tau
    taus = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    per_graph = net(z, taus, r, pairs.types, pairs.batch)
    for g in range(3):
        rows = pairs.batch == g
        torch.testing.assert_close(net.denoise(z, taus[g], cond)[rows], per_graph[rows])


def test_after_edges_at_low_noise_are_the_next_frames_bonds_in_the_networks_units():
    """As tau -> 0, z_tau -> b z, and the network's "after" edge vectors must be the next frame's
    bond vectors scaled by b: the lengths the bond checks are about, in the units of z_tau."""
    schedule = VPSchedule()
    b = schedule.data_scale
    pairs = make_pairs(g=2, seed=3)
    r, z = pairs.r.double(), pairs.z.double()
    tau = torch.tensor(schedule.tau_min, dtype=torch.float64)
    z_tau = schedule.alpha(tau) * (b * z) + schedule.sigma(tau) * torch.randn(z.shape, dtype=torch.float64)
    for cfg, expect_bonds in ((NetworkConfig(3, 16, 2, position_scale=b, equivariant=True), True),
                              (NetworkConfig(3, 16, 2, position_scale=b), True),
                              (NetworkConfig(3, 16, 2), False)):  # fmt: skip
        net = ScoreNetwork(cfg, schedule).double()
        cond = net.condition(r, pairs.types, pairs.batch)
        i, j = cond.edge_index
        nxt = r + z
        want = b * (nxt[j] - nxt[i]).norm(dim=-1)  # [E] next-frame lengths, scaled
        got = net.after_edges(z_tau, cond).norm(dim=-1)
        close = torch.allclose(got, want, atol=0.05)
        assert close == expect_bonds, f"{cfg}: after-edge lengths off by {float((got - want).abs().max()):.3f}"


def test_equivariant_network_is_exactly_e3_equivariant():
    """Rotating, reflecting and translating the structure (and rotating z) rotates the noise."""
    torch.manual_seed(0)
    cfg = NetworkConfig(3, 16, 2, skip_var=0.3, skip_var_centroid=0.01, position_scale=2.0, equivariant=True)
    net = ScoreNetwork(cfg, VPSchedule()).double()
    for p in net.decoder.out.parameters():  # the zero-initialised last layer would hide everything
        torch.nn.init.normal_(p)
    pairs = make_pairs(g=3, seed=5)
    r, z = pairs.r.double(), pairs.z.double()
    tau = torch.tensor([0.05, 0.3, 0.8], dtype=torch.float64)
    out = net(z, tau, r, pairs.types, pairs.batch)
    assert out.abs().max() > 1e-3
    rot = random_rotations(1, torch.Generator().manual_seed(2), dtype=torch.float64)[0]
    mirror = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    shift = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64)
    for q in (rot, rot @ mirror):
        moved = net(z @ q.T, tau, r @ q.T + shift, pairs.types, pairs.batch)
        torch.testing.assert_close(moved, out @ q.T, atol=1e-12, rtol=0)
    # the paper's network is not: it must learn rotations from rotated copies
    paper = ScoreNetwork(NetworkConfig(3, 16, 2, position_scale=2.0), VPSchedule()).double()
    a, b = paper(z, tau, r, pairs.types, pairs.batch), paper(z @ rot.T, tau, r @ rot.T, pairs.types, pairs.batch)
    assert not torch.allclose(b, a @ rot.T, atol=1e-6)


def test_structure_mean_of_mixed_sizes():
    from scoredyn.graph import structure_mean

    x = torch.arange(10.0).reshape(5, 2)
    batch = torch.tensor([0, 0, 0, 1, 1])
    torch.testing.assert_close(structure_mean(x, batch, 2), torch.tensor([[2.0, 3.0], [7.0, 8.0]]))
    torch.testing.assert_close(structure_mean(x[:, 0], batch, 2), torch.tensor([2.0, 7.0]))


def chains(g: int = 3, n: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """g zig-zag chains of n atoms 1.5 A apart, jittered: r [g n, 3], batch [g n] and one torsion
    about each inner bond [g (n - 3), 4]."""
    gen = torch.Generator().manual_seed(seed)
    one = torch.tensor([[1.3 * k, 0.8 * (k % 2), 0.3 * (k % 3)] for k in range(n)], dtype=torch.float64)
    r = (one + 0.2 * torch.randn(g, n, 3, generator=gen, dtype=torch.float64)).reshape(-1, 3)
    quads = torch.tensor([[k, k + 1, k + 2, k + 3] for k in range(n - 3)])
    torsions = torch.cat([quads + s * n for s in range(g)])
    return r, torch.arange(g).repeat_interleave(n), torsions


def test_torsion_features_break_the_mirror_symmetry_and_keep_rotations():
    """Distances cannot tell a structure from its mirror image; the torsions' sines can."""
    from scoredyn.geometry import dihedrals
    from scoredyn.graph import dihedral_cos_sin

    r, batch, torsions = chains()
    types = torch.zeros(len(r), dtype=torch.long)
    z = 0.3 * torch.randn(r.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    tau = torch.tensor([0.05, 0.3, 0.8], dtype=torch.float64)
    cs = dihedral_cos_sin(r, torsions).numpy()
    want = np.radians(dihedrals(r.numpy(), torsions.numpy()))
    np.testing.assert_allclose(cs, np.stack([np.cos(want), np.sin(want)], -1), atol=1e-12)
    rot = random_rotations(1, torch.Generator().manual_seed(2), dtype=torch.float64)[0]
    mirror = torch.diag(torch.tensor([1.0, 1.0, -1.0], dtype=torch.float64))
    results = {}
    for signed in (False, True):
        torch.manual_seed(0)
        cfg = NetworkConfig(1, 16, 2, cutoff=3.0, position_scale=2.0, equivariant=True, torsion_features=signed)
        net = ScoreNetwork(cfg).double()
        for p in net.decoder.out.parameters():
            torch.nn.init.normal_(p)
        with torch.no_grad():
            out = net(z, tau, r, types, batch, torsions=torsions)
            turned = net(z @ rot.T, tau, r @ rot.T, types, batch, torsions=torsions)
            moved = net(z @ mirror, tau, r @ mirror, types, batch, torsions=torsions)
        torch.testing.assert_close(turned, out @ rot.T, atol=1e-12, rtol=0)
        results[signed] = float((moved - out @ mirror).abs().max()) / float(out.abs().max())
    assert results[False] < 1e-12 and results[True] > 1e-3


def test_a_torsion_feature_network_needs_the_torsions_on_its_edges():
    from scoredyn.graph import edge_positions, radius_graph

    r, batch, _ = chains()
    edges = radius_graph(r, batch, 3.0)
    pairs = torch.tensor([[2, 3], [3, 2], [13, 14]])
    got = edges[:, edge_positions(edges, len(r), pairs)].T
    assert torch.equal(got, pairs)
    with pytest.raises(ValueError, match="not an edge"):
        edge_positions(edges, len(r), torch.tensor([[0, 5]]))
    net = ScoreNetwork(NetworkConfig(1, 8, 1, cutoff=3.0, equivariant=True, torsion_features=True)).double()
    with pytest.raises(ValueError, match="give it the rotatable torsions"):
        net(torch.zeros_like(r), torch.zeros(3, dtype=torch.float64), r, torch.zeros(len(r), dtype=torch.long), batch)
    with pytest.raises(ValueError, match="equivariant network only"):
        ScoreNetwork(NetworkConfig(1, 8, 1, torsion_features=True))


def test_input_scaling_reads_the_next_frame_at_low_noise_and_the_structure_alone_at_high_noise():
    """With ``input_scaling`` the network reads the skip's estimate of b z: at tau -> 0 the after
    edges are still the next frame's bonds; at tau = 1 its output no longer depends on z_tau,
    so the mean move it must give there is a function of the conditioning structure alone."""
    schedule = VPSchedule()
    b = schedule.data_scale
    pairs = make_pairs(g=2, seed=3)
    r, z = pairs.r.double(), pairs.z.double()
    cfg = NetworkConfig(3, 16, 2, skip_var=0.3, skip_var_centroid=0.05, position_scale=b, equivariant=True,
                        input_scaling=True)  # fmt: skip
    net = ScoreNetwork(cfg, schedule).double()
    for p in net.decoder.out.parameters():  # the zero-initialised last layer would hide everything
        torch.nn.init.normal_(p)
    cond = net.condition(r, pairs.types, pairs.batch)
    i, j = cond.edge_index
    low = torch.tensor(1e-3, dtype=torch.float64)
    z_tau = schedule.alpha(low) * (b * z) + schedule.sigma(low) * torch.randn(z.shape, dtype=torch.float64)
    got = net.after_edges(net.scaled_input(z_tau, low, cond), cond).norm(dim=-1)
    torch.testing.assert_close(got, b * ((r + z)[j] - (r + z)[i]).norm(dim=-1), atol=0.05, rtol=0)
    high = torch.tensor(1.0, dtype=torch.float64)
    noise = [torch.randn(z.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(k)) for k in (1, 2)]
    plain = ScoreNetwork(dataclasses.replace(cfg, input_scaling=False), schedule).double()
    plain.load_state_dict(net.state_dict())
    with torch.no_grad():
        skip = [net.gaussian_skip(x, high, cond)[0] for x in noise]
        outs = [net.denoise(x, high, cond) - s for x, s in zip(noise, skip, strict=True)]  # the network's own part
        plain_outs = [plain.denoise(x, high, cond) - s for x, s in zip(noise, skip, strict=True)]
    assert float((outs[0] - outs[1]).abs().max()) < 0.01 * float((plain_outs[0] - plain_outs[1]).abs().max())
    with pytest.raises(ValueError, match="skip_var"):
        ScoreNetwork(NetworkConfig(3, 16, 2, equivariant=True, input_scaling=True), schedule)
