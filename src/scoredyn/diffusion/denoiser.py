r"""The denoising force field (DFF): forces from an unconditional denoiser.

Harcombe and Duignan (``F_DN = sigma^2 F_true``) and Arts et al. ("Two for one", 2023)
train a network on equilibrium structures alone. A structure :math:`x \sim p \propto
e^{-U/kT}` is perturbed, :math:`\tilde x = x + \sigma\epsilon`, and the network regresses
the noise, :math:`L = \mathbb{E}\,\|\hat\epsilon(\tilde x, \sigma) - \epsilon\|^2`. Its best
prediction is :math:`\mathbb{E}[\epsilon \mid \tilde x] = -\sigma\nabla\log p_\sigma(\tilde x)`
(Tweedie), with :math:`p_\sigma = p * N(0, \sigma^2)`, so

.. math::

    F(x) = -\nabla U(x) \approx kT\,\nabla\log p_\sigma(x) = -\frac{kT}{\sigma}\,\hat\epsilon(x, \sigma),

and the denoised displacement :math:`-\sigma\hat\epsilon` is :math:`\sigma^2 F / kT`. The
smoothing biases the force by :math:`O(\sigma^2)` (a harmonic mode of variance
:math:`s^2` is softened by :math:`s^2/(s^2+\sigma^2)`), while the regression target's
noise relative to the force grows as :math:`1/\sigma`; hence a small range of noise
levels, and several noise draws per frame ("data duplication").

Graph networks see relative positions only, so no such network can predict the
centroid of :math:`\epsilon`: it is removed from the target (``batch`` given), and the
learned force has no net translation.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from scoredyn.graph import structure_mean

#: ``predict(x_noisy [n, d], sigma [G]) -> eps_hat [n, d]``
Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def perturb(
    x: torch.Tensor,
    sigma: torch.Tensor,
    generator: torch.Generator | None = None,
    batch: torch.Tensor | None = None,
    n_graphs: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Noisy structures x + sigma eps and the noise eps, both [n, d].

    ``sigma`` is [G] (one level per structure, atoms mapped by ``batch``) or [n] when
    ``batch`` is None (each row its own sample). With ``batch`` the noise is centroid-free.
    """
    eps = torch.randn(x.shape, generator=generator, dtype=x.dtype, device=x.device)
    if batch is not None:
        eps = eps - structure_mean(eps, batch, n_graphs if n_graphs is not None else int(batch[-1]) + 1)[batch]
        per_row = sigma[batch, None]
    else:
        per_row = sigma[:, None]
    return x + per_row * eps, eps


def denoiser_loss(
    predict: Denoiser,
    x: torch.Tensor,
    sigma: torch.Tensor,
    generator: torch.Generator | None = None,
    batch: torch.Tensor | None = None,
    n_graphs: int | None = None,
) -> torch.Tensor:
    """Per-structure denoising losses [G] (mean over atoms and coordinates; 1 for a zero prediction)."""
    noisy, eps = perturb(x, sigma, generator, batch, n_graphs)
    sq = ((predict(noisy, sigma) - eps) ** 2).mean(dim=-1)  # [n]
    if batch is None:
        return sq
    return structure_mean(sq, batch, n_graphs if n_graphs is not None else int(batch[-1]) + 1)


def denoiser_force(eps_hat: torch.Tensor, sigma: torch.Tensor | float, kT: float) -> torch.Tensor:
    """The force -kT eps_hat / sigma (units of kT per unit of length), from a noise prediction [n, d].

    ``sigma`` is a float or a tensor that broadcasts against ``eps_hat`` ([n, 1]).
    """
    return -kT * eps_hat / sigma


def sample_sigma(
    n: int, low: float, high: float, generator: torch.Generator | None, dtype: torch.dtype, device
) -> torch.Tensor:
    """``n`` noise levels, log-uniform on [low, high] (a single level when low == high)."""
    u = torch.rand(n, generator=generator, dtype=dtype, device=device)
    return low * (high / low) ** u
