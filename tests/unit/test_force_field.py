"""DFF moves in the rollout engine, with a denoiser whose force is a known harmonic restraint."""

import numpy as np
import pytest
import torch

from scoredyn.diffusion.objective import DenoiserObjective
from scoredyn.model.network import NetworkConfig, ScoreNetwork
from scoredyn.rollout.engine import Rollout, RolloutSettings
from scoredyn.rollout.force_field import LangevinSampler
from scoredyn.units import KB_KJ_PER_MOL_K

T, K_SPRING = 300.0, 4000.0  # K, kJ/mol/A^2: 0.03 A per coordinate, bonds stay in range
OBJECTIVE = DenoiserObjective((0.02, 0.08))


class HarmonicDenoiser(ScoreNetwork):
    """Predicts the noise of a harmonic well around ``centre``: eps = sigma k (x - centre) / kT."""

    def __init__(self, centre: np.ndarray) -> None:
        super().__init__(NetworkConfig(n_types=4, width=8, n_blocks=1))
        self.register_buffer("centre", torch.as_tensor(centre, dtype=torch.float32))

    def denoise(self, z, tau, cond):
        assert torch.all(z == 0) and tau.dim() == 0  # a denoiser sees no displacement, one level
        sigma = OBJECTIVE.sigma_A[0] * (OBJECTIVE.sigma_A[1] / OBJECTIVE.sigma_A[0]) ** tau
        n_atoms = len(self.centre)
        return sigma * K_SPRING * (cond.r - self.centre.repeat(len(cond.r) // n_atoms, 1)) / (KB_KJ_PER_MOL_K * T)


def make(ala2_resolved, tmp_path, steps, name="run", timestep=0.002, **kw):
    mol, pos = ala2_resolved
    types = torch.tensor([hash(t) % 4 for t in mol.top.types])
    sampler = LangevinSampler(HarmonicDenoiser(pos), OBJECTIVE, types, T, friction_amu_per_ps=kw.pop("zeta", 5000.0),
                              timestep_ps=timestep, interval_ps=1.0, dtype=torch.float64)  # fmt: skip
    settings = RolloutSettings(steps=steps, seed=3, checkpoint_every=kw.pop("checkpoint_every", 5), **kw)
    return Rollout(sampler, mol, settings, tmp_path / name), pos


def test_dff_moves_sample_the_force_fields_boltzmann_distribution(ala2_resolved, tmp_path):
    roll, pos = make(ala2_resolved, tmp_path, steps=40)
    res = roll.run(np.repeat(pos[None], 8, 0), progress=False)
    assert res.pos.shape == (8, 41, 22, 3)
    assert roll.molecule.check(res.pos.reshape(-1, 22, 3)).ok.all()  # the engine's checks apply to DFF moves
    assert res.rejections.sum() < 0.05 * 8 * 40  # rare at 0.03 A per coordinate
    assert roll.sampler.noise_draws == 500 and res.evaluations >= 40 * 500
    # relaxation time zeta / k = 0.0125 ps, so the 1 ps frames are independent draws; the
    # Euler-Maruyama variance is 1 / (1 - a/2) too large, a = dt k / zeta = 0.16
    var = (res.pos[:, 1:] - pos).var(axis=(0, 1, 3))  # [22] per atom
    expected = KB_KJ_PER_MOL_K * T / K_SPRING / (1 - 0.5 * 0.002 * K_SPRING * 100.0 / 5000.0)
    assert np.all(np.abs(var / expected - 1) < 0.25)  # every atom, light or heavy
    assert abs(var.mean() / expected - 1) < 0.06


def test_dff_rollout_resumes_exactly(ala2_resolved, tmp_path, monkeypatch):
    whole, pos = make(ala2_resolved, tmp_path, steps=6, name="whole", timestep=0.05, zeta=50000.0)
    start = np.repeat(pos[None], 2, 0)
    reference = whole.run(start, progress=False).pos
    crashing, _ = make(ala2_resolved, tmp_path, steps=6, name="crash", timestep=0.05, checkpoint_every=2, zeta=50000.0)
    original, calls = crashing.sampler.sample, {"n": 0}

    def crash(r, noise):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("simulated crash")
        return original(r, noise)

    monkeypatch.setattr(crashing.sampler, "sample", crash)
    with pytest.raises(RuntimeError):
        crashing.run(start, progress=False)
    resumed, _ = make(ala2_resolved, tmp_path, steps=6, name="crash", timestep=0.05, checkpoint_every=2, zeta=50000.0)
    np.testing.assert_allclose(resumed.run(start, progress=False).pos, reference, atol=1e-6)


def test_frame_interval_must_be_whole_steps(ala2_resolved, tmp_path):
    with pytest.raises(ValueError, match=r"not a whole number of 0\.3 ps steps"):
        make(ala2_resolved, tmp_path, steps=1, timestep=0.3)


def test_the_sampler_uses_the_force_the_denoiser_was_trained_for():
    """condition + (compiled) denoise at the lowest level equals the training objective's prediction."""
    torch.manual_seed(0)
    net = ScoreNetwork(NetworkConfig(n_types=3, width=16, n_blocks=2, cutoff=3.0))
    types = torch.tensor([0, 1, 2, 1, 0])
    x = torch.randn(4, 5, 3, generator=torch.Generator().manual_seed(1)) * 1.2
    batch = torch.arange(4).repeat_interleave(5)
    sigma = torch.full((4,), OBJECTIVE.sigma_A[0])
    with torch.no_grad():
        eps = OBJECTIVE.noise(net, x.reshape(-1, 3), sigma, types.repeat(4), batch)
    kT = KB_KJ_PER_MOL_K * T
    want = (-kT * eps / OBJECTIVE.sigma_A[0]).reshape(4, 5, 3)
    for compile in (False, True):
        sampler = LangevinSampler(net, OBJECTIVE, types, T, 5000.0, 0.002, 1.0, compile=compile)
        with torch.no_grad():
            torch.testing.assert_close(sampler.force(x), want, rtol=1e-4, atol=1e-4)
