r"""The variance-preserving linear noise schedule (Song et al. 2021; paper sec. 2.4).

.. math::

    \log\gamma_\tau = -\tfrac{\beta_1-\beta_0}{2}\tau^2 - \beta_0\tau, \qquad
    \alpha_\tau = \sqrt{\gamma_\tau}, \qquad \sigma_\tau = \sqrt{1-\gamma_\tau}, \qquad
    \lambda_\tau = \log(\alpha_\tau/\sigma_\tau).

The paper writes :math:`\alpha_\tau = b\sqrt{\gamma_\tau}` with :math:`b = 2`. Multiplying
:math:`\alpha` by *b* is the same as diffusing the scaled displacement :math:`b\,z` under the
plain VP schedule, :math:`z_\tau = \sqrt{\gamma_\tau}\,(b z) + \sigma_\tau\epsilon`. We scale
the *data* (the displacement z, in Angstrom) and keep the schedule variance preserving,
because the solvers and :math:`\tau(\lambda)` then keep their standard closed forms. The
reason for *b*: it sets the signal-to-noise ratio of the data against the unit-variance
noise; b = 2 makes a 1 ps displacement (a few tenths of an Angstrom per coordinate) large
enough to be resolved over the schedule's range :math:`\tau \in (10^{-3}, 1)`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch


@dataclass(frozen=True)
class VPSchedule:
    """Linear VP schedule with ``beta0``, ``beta1`` on ``tau`` in (``tau_min``, ``tau_max``).

    ``data_scale`` is the paper's *b*: the model diffuses ``data_scale * z``.
    """

    beta0: float = 0.1
    beta1: float = 20.0
    tau_min: float = 1e-3
    tau_max: float = 1.0
    data_scale: float = 2.0

    def log_alpha(self, tau: torch.Tensor) -> torch.Tensor:
        """log alpha = (log gamma) / 2."""
        return -0.25 * (self.beta1 - self.beta0) * tau**2 - 0.5 * self.beta0 * tau

    def alpha(self, tau: torch.Tensor) -> torch.Tensor:
        return torch.exp(self.log_alpha(tau))

    def sigma(self, tau: torch.Tensor) -> torch.Tensor:
        return torch.sqrt(-torch.expm1(2.0 * self.log_alpha(tau)))

    def lam(self, tau: torch.Tensor) -> torch.Tensor:
        """Half the log signal-to-noise ratio, lambda = log alpha - log sigma."""
        la = self.log_alpha(tau)
        return la - 0.5 * torch.log(-torch.expm1(2.0 * la))

    def tau_of_lambda(self, lam: torch.Tensor) -> torch.Tensor:
        """Inverse of :meth:`lam`: the root of (beta1 - beta0)/2 tau^2 + beta0 tau = log(1 + exp(-2 lambda))."""
        c = torch.logaddexp(torch.zeros_like(lam), -2.0 * lam)  # log(1 + e^{-2 lambda}) = -log(gamma)
        d = self.beta1 - self.beta0
        return 2.0 * c / (torch.sqrt(self.beta0**2 + 2.0 * d * c) + self.beta0)

    def sample_tau(
        self, n: int, generator: torch.Generator | None, dtype: torch.dtype, device, log_snr: bool = False
    ) -> torch.Tensor:
        """``n`` diffusion times, uniform in tau (the paper) or uniform in lambda = log-SNR / 2.

        Uniform lambda puts about 30% of the draws below tau = 0.05, where noise is a few
        hundredths of an Angstrom and bond lengths are resolved, against 5% for uniform tau.
        """
        u = torch.rand(n, generator=generator, dtype=dtype, device=device)
        if not log_snr:
            return self.tau_min + (self.tau_max - self.tau_min) * u
        ends = torch.tensor([self.tau_max, self.tau_min], dtype=torch.float64)
        lo, hi = self.lam(ends).tolist()
        return self.tau_of_lambda(lo + (hi - lo) * u).clamp(self.tau_min, self.tau_max)

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    def __post_init__(self) -> None:
        if not (0.0 < self.tau_min < self.tau_max <= 1.0) or self.beta0 <= 0 or self.beta1 <= self.beta0:
            raise ValueError(f"invalid schedule {self}")
        if not math.isfinite(self.data_scale) or self.data_scale <= 0:
            raise ValueError("data_scale must be positive")


def centroid_free_variance(var: float, counts: torch.Tensor) -> torch.Tensor:
    """The variance v N / (N - 1) of each centroid-free mode of an N-atom structure whose
    centroid-free displacement has per-coordinate second moment ``var`` (``counts``: N per atom)."""
    return var * counts / (counts - 1).clamp(min=1)


def residual_variance(alpha2: torch.Tensor, sigma2: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The posterior variance alpha^2 v / (alpha^2 v + sigma^2) of the noise of a Gaussian mode of
    data variance v: the square of the scale the Gaussian skip gives the network's output."""
    return alpha2 * v / (alpha2 * v + sigma2)
