"""The denoising force field on a 2D double well: learned forces and Langevin sampling against the exact answer.

U(x, y) = A (x^2 - 1)^2 + B y^2 in reduced units (kT = 1, m = 1). Its Boltzmann
distribution factorises: x has density proportional to exp(-A (x^2 - 1)^2), drawn
exactly by inverse transform on a fine grid, and y is normal with variance 1 / (2 B).
"""

import numpy as np
import torch
from torch import nn

from scoredyn.diffusion.denoiser import denoiser_force, denoiser_loss, perturb, sample_sigma
from scoredyn.rollout.langevin import BrownianDynamics
from scoredyn.units import KB_KJ_PER_MOL_K

A, B, KT = 2.0, 2.0, 1.0
GRID = np.linspace(-2.6, 2.6, 20001)


def x_density() -> np.ndarray:
    p = np.exp(-A * (GRID**2 - 1) ** 2 / KT)
    return p / np.trapezoid(p, GRID)


def boltzmann_samples(n: int, seed: int) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    cdf = np.cumsum(x_density())
    x = np.interp(rng.random(n) * cdf[-1], cdf, GRID)
    y = rng.normal(0.0, np.sqrt(KT / (2 * B)), n)
    return torch.tensor(np.stack([x, y], axis=1))


def force(pos: torch.Tensor) -> torch.Tensor:
    x, y = pos[..., 0], pos[..., 1]
    return torch.stack([-4 * A * x * (x**2 - 1), -2 * B * y], dim=-1)


def test_perturbation_is_centroid_free_per_structure():
    x = torch.zeros(10, 3, dtype=torch.float64)
    batch = torch.tensor([0] * 4 + [1] * 6)
    noisy, eps = perturb(x, torch.tensor([0.5, 2.0], dtype=torch.float64), torch.Generator().manual_seed(0), batch)
    for g in range(2):
        torch.testing.assert_close(eps[batch == g].mean(0), torch.zeros(3, dtype=torch.float64))
    torch.testing.assert_close(noisy[:4], 0.5 * eps[:4])
    torch.testing.assert_close(noisy[4:], 2.0 * eps[4:])


def test_exact_score_of_the_smoothed_density_has_the_lowest_loss():
    """For a Gaussian, E[eps | x~] is known: it scores below a prediction that is off by 10 %."""
    s, sigma = 0.5, 0.2
    x = torch.randn(200000, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64) * s
    sig = torch.full((len(x),), sigma, dtype=torch.float64)

    def exact(noisy, sg):
        return noisy * sg[:, None] / (s**2 + sg[:, None] ** 2)

    best = denoiser_loss(exact, x, sig, torch.Generator().manual_seed(2)).mean()
    worse = denoiser_loss(lambda n, sg: 1.1 * exact(n, sg), x, sig, torch.Generator().manual_seed(2)).mean()
    assert best < worse
    assert abs(float(best) - s**2 / (s**2 + sigma**2)) < 0.01  # the irreducible loss


def test_learned_force_matches_the_analytic_force_within_10_percent_rms():
    torch.manual_seed(0)
    data = boltzmann_samples(20000, seed=3).float()
    net = nn.Sequential(nn.Linear(3, 128), nn.SiLU(), nn.Linear(128, 128), nn.SiLU(), nn.Linear(128, 2))
    low, high = 0.05, 0.1

    def predict(noisy, sigma):
        return net(torch.cat([noisy, (sigma[:, None] - low) / (high - low)], dim=-1))

    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, 3000)
    gen = torch.Generator().manual_seed(4)
    duplicates = 4  # noise draws per frame in each minibatch
    for _ in range(3000):
        idx = torch.randint(0, len(data), (1024,), generator=gen).repeat(duplicates)
        sigma = sample_sigma(len(idx), low, high, gen, torch.float32, "cpu")
        loss = denoiser_loss(predict, data[idx], sigma, gen).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    test = boltzmann_samples(5000, seed=5).float()
    sigma = torch.full((len(test),), low)  # the smallest level: least smoothing (at 0.1 the wells soften by 14 %)
    with torch.no_grad():
        learned = denoiser_force(predict(test, sigma), sigma[:, None], KT)
    true = force(test)
    rel = float((learned - true).pow(2).sum(-1).mean().sqrt() / true.pow(2).sum(-1).mean().sqrt())
    assert rel < 0.10, f"relative RMS force error {rel:.3f}"


def test_langevin_with_the_analytic_force_samples_the_boltzmann_distribution():
    gen = torch.Generator().manual_seed(6)
    x = boltzmann_samples(2000, seed=7)[:, None, :]  # [R, 1, 2] walkers
    dynamics = BrownianDynamics(force, 1.0, KT, timestep=0.002, energy_unit=1.0)
    kept = []
    for block in range(60):  # 60 x 100 steps = 12 time units, several barrier crossings
        x = dynamics.run(x, torch.randn((len(x), 100, 1, 2), generator=gen, dtype=x.dtype))
        if block >= 10:
            kept.append(x[:, 0].clone())
    samples = torch.cat(kept).numpy()  # [n, 2]
    hist, edges = np.histogram(samples[:, 0], bins=52, range=(-2.6, 2.6), density=True)
    centres = 0.5 * (edges[1:] + edges[:-1])
    exact = np.interp(centres, GRID, x_density())
    assert 0.5 * np.abs(hist - exact).sum() * (edges[1] - edges[0]) < 0.03  # total variation
    assert abs(float((samples[:, 0] < 0).mean()) - 0.5) < 0.03  # both wells equally filled
    assert abs(samples[:, 1].var() / (KT / (2 * B)) - 1) < 0.03


def test_without_the_force_walkers_diffuse_with_d_equal_kt_over_zeta():
    dynamics = BrownianDynamics(lambda x: torch.zeros_like(x), torch.tensor([5.0, 20.0], dtype=torch.float64),
                                kT=2.0, timestep=0.01, energy_unit=1.0)  # fmt: skip
    x = dynamics.run(
        torch.zeros(20000, 2, 3, dtype=torch.float64),
        torch.randn((20000, 50, 2, 3), generator=torch.Generator().manual_seed(8), dtype=torch.float64),
    )
    msd = x.pow(2).mean(dim=(0, 2))  # per particle, per coordinate, after t = 0.5
    expected = 2 * (2.0 / torch.tensor([5.0, 20.0])) * 0.5
    torch.testing.assert_close(msd, expected.double(), rtol=0.03, atol=0)


def test_md_units_give_the_si_diffusion_coefficient():
    """D = kT / zeta for zeta in amu/ps at 300 K, against the same number worked out in SI units."""
    zeta_amu_per_ps = 1000.0
    zeta_si = zeta_amu_per_ps * 1.66053907e-27 / 1e-12  # kg/s
    d_si = 1.380649e-23 * 300.0 / zeta_si  # m^2/s
    d_a2_per_ps = d_si * 1e20 / 1e12
    dynamics = BrownianDynamics(lambda x: torch.zeros_like(x), zeta_amu_per_ps, KB_KJ_PER_MOL_K * 300.0, 0.002)
    assert abs(float(dynamics.diffusion()) / d_a2_per_ps - 1) < 1e-5
