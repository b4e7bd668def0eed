r"""The model wrapper: how a noise-prediction network becomes the functions a solver needs.

The network predicts the noise :math:`\epsilon_\theta(x_\tau, \tau)` in
:math:`x_\tau = \alpha_\tau x_0 + \sigma_\tau \epsilon`. DPM-Solver integrates with it
directly; DPM-Solver++ uses the data prediction

.. math::  \hat x_0(x_\tau, \tau) = \frac{x_\tau - \sigma_\tau\,\epsilon_\theta(x_\tau, \tau)}{\alpha_\tau}.

The conditioning (the structure r_t, atom types, the graph) is bound into the callable,
so solvers see only ``eps(x, tau) -> eps`` with x of any shape and tau a 0-d tensor.
Every call is counted, which is how rollouts report network evaluations per step.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from scoredyn.diffusion.schedule import VPSchedule

#: ``eps(x [..., 3], tau 0-d) -> [..., 3]``
NoiseFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ModelWrapper:
    """Noise and data prediction from a noise-prediction function, with an evaluation counter."""

    def __init__(self, eps: NoiseFn, schedule: VPSchedule) -> None:
        self._eps = eps
        self.schedule = schedule
        self.evaluations = 0

    def noise(self, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        self.evaluations += 1
        return self._eps(x, tau)

    def data(self, x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        """The data prediction x0 from the noise prediction."""
        eps = self.noise(x, tau)
        return (x - self.schedule.sigma(tau) * eps) / self.schedule.alpha(tau)
