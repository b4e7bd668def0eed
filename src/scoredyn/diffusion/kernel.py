r"""How exactly a solver setting draws an SD move when the noise prediction is exact.

An SD move of a harmonic mode, or of any coordinate of an Ornstein-Uhlenbeck process
:math:`dr = -k r\,dt + \sqrt{2D}\,dW`, is Gaussian over the lag: given r,
:math:`z \sim N(-(1 - e^{-k\,\Delta t})\,r,\ s^2)`. The model diffuses b z (``data_scale``),
whose noise prediction is then known exactly at every tau,

.. math::  \epsilon(x, \tau) = \sigma_\tau \frac{x - \alpha_\tau b \mu}{\alpha_\tau^2 b^2 s^2 + \sigma_\tau^2},

so a solver fed it should draw z with mean :math:`\alpha_{\tau_{min}} \mu` and variance
:math:`\alpha^2 s^2 + \sigma^2 / b^2` at ``tau_min``. What it misses is the solver's own
error, separate from the network's: a variance drawn 2.7% too large is a harmonic mode run
8 K hot at 300 K.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.diffusion.solver import solve
from scoredyn.diffusion.wrapper import ModelWrapper

#: the displacement scales s (Angstrom) a check covers: a bond's to a free torsion's 1 ps move
SCALES_A = (0.05, 0.15, 0.5, 1.5)
#: the kernel's mean relaxation over one lag, 1 - exp(-k dt)
RELAXATION = 0.5


@dataclass(frozen=True)
class KernelError:
    """One displacement scale's errors: the largest error of the drawn mean over the structures,
    in units of the exact standard deviation, and that of the variance, as a fraction of the exact
    variance."""

    scale_A: float
    mean_error: float
    variance_error: float


def kernel_errors(solver: SolverConfig, schedule: VPSchedule | None = None,
                  scales_A: tuple[float, ...] = SCALES_A) -> list[KernelError]:  # fmt: skip
    """The mean and variance errors of ``solver`` on an Ornstein-Uhlenbeck kernel at each scale,
    for structures r from -2 to 2 A.

    With a Gaussian target the noise prediction is affine in x, so every solver's draw is an
    affine function of its prior noise: the draw from noise 0 is the drawn mean and the change
    from noise 0 to noise 1 the drawn standard deviation, exactly, with no sampling error (100,000
    samples would leave 0.45% of noise on the variance, as large as the errors to find)."""
    schedule = schedule or VPSchedule()
    b = schedule.data_scale
    tau_min = torch.tensor(schedule.tau_min, dtype=torch.float64)
    a, s_min = float(schedule.alpha(tau_min)), float(schedule.sigma(tau_min))
    sigma_max = float(schedule.sigma(torch.tensor(schedule.tau_max, dtype=torch.float64)))
    r = torch.linspace(-2.0, 2.0, 9, dtype=torch.float64)[:, None]  # [S, 1] structures
    mu = torch.cat([-RELAXATION * r, -RELAXATION * r])  # [2S, 1] each twice: prior noise 0, then 1
    noise = torch.cat([torch.zeros_like(r), torch.ones_like(r)])
    out = []
    for scale in scales_A:
        var = scale**2

        def eps(x: torch.Tensor, tau: torch.Tensor, var: float = var) -> torch.Tensor:
            alpha, sigma = schedule.alpha(tau), schedule.sigma(tau)
            return sigma * (x - alpha * b * mu) / (alpha**2 * b**2 * var + sigma**2)

        z = solve(ModelWrapper(eps, schedule), sigma_max * noise, solver) / b  # [2S, 1]
        mean, sd = z[: len(r)], z[len(r) :] - z[: len(r)]
        want_var = a**2 * var + (s_min / b) ** 2
        mean_error = float((mean - a * mu[: len(r)]).abs().max()) / want_var**0.5
        var_err = sd.pow(2) / want_var - 1.0
        out.append(KernelError(scale, mean_error, float(var_err[var_err.abs().argmax()])))
    return out
