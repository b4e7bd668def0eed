r"""Denoising score matching (paper eq. 6 and Algorithm 2).

For a pair (r_t, z = r_{t+dt} - r_t), draw :math:`\tau \sim U(\tau_{min}, \tau_{max})` and
:math:`\epsilon \sim N(0, I)`, rotate r and z together by a random rotation (the network
is not equivariant), form :math:`z_\tau = \alpha_\tau\,(b z) + \sigma_\tau\epsilon` and
regress the noise: :math:`L = \mathbb{E}\,\|\epsilon - \epsilon_\theta(z_\tau, \tau, r_t)\|^2`,
averaged over atoms and coordinates, so that predicting zero noise scores 1.

With the Gaussian skip (:class:`~scoredyn.model.network.ScoreNetwork`) the prediction is
:math:`\epsilon_\theta = \epsilon_{exact} + s_\tau F`, with the posterior standard
deviation :math:`s_\tau^2 = \alpha_\tau^2 v'/(\alpha_\tau^2 v' + \sigma_\tau^2)`, so
the noise loss weighs the network's own output F by :math:`s_\tau^2`. At high noise,
where :math:`s_\tau \to \alpha_\tau\sqrt{v'}/\sigma_\tau \to 0`, F's best value is
:math:`-\mathbb{E}[b z \mid r_t]/\sqrt{v'}`: the mean displacement, the drift of the slow
coordinates, which that weight all but hides (the uniform-tau loss of the band
tau > 0.7 is a few thousandths). ``residual_var`` = v (the skip's centroid-free
variance) weighs each structure's loss by :math:`1/s_\tau^2`, so that F is regressed
with unit weight at every noise level: the weighting
:math:`\lambda(\sigma) = 1/c_{out}^2` of Karras et al. (2022), and at high noise a
plain regression of the mean displacement.
"""

from __future__ import annotations

import dataclasses

import torch

from scoredyn.diffusion.schedule import VPSchedule, centroid_free_variance, residual_variance
from scoredyn.graph import PairBatch, random_rotations, structure_mean


def dsm_loss(
    model: torch.nn.Module,
    pairs: PairBatch,
    schedule: VPSchedule,
    generator: torch.Generator | None = None,
    rotate: bool = True,
    tau: torch.Tensor | None = None,
    log_snr: bool = False,
    input_noise: float = 0.0,
    residual_var: float = 0.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-structure DSM losses [G] and the diffusion times [G] they were drawn at.

    ``input_noise`` (Angstrom) perturbs each conditioning structure by Gaussian noise and
    aims the displacement at the same next frame, z' = r_{t+dt} - r'_t, as MeshGraphNets
    does for its inputs (Pfaff et al. 2021): the model then learns to move a slightly
    unphysical structure back towards the data, which keeps long rollouts from drifting
    (bond lengths otherwise random-walk to the rejection limits).

    The random draws (rotation, tau, noise) come from ``generator`` on the batch's device;
    tau is uniform in tau, or in lambda with ``log_snr`` (see :meth:`VPSchedule.sample_tau`).
    """
    dev, dtype, g = pairs.r.device, pairs.r.dtype, pairs.n_graphs
    if rotate:
        pairs = pairs.rotated(random_rotations(g, generator, dtype=dtype, device=dev))
    if input_noise > 0:
        delta = input_noise * torch.randn(pairs.r.shape, generator=generator, dtype=dtype, device=dev)
        pairs = dataclasses.replace(pairs, r=pairs.r + delta, z=pairs.z - delta)
    if tau is None:
        tau = schedule.sample_tau(g, generator, dtype, dev, log_snr)
    eps = torch.randn(pairs.z.shape, generator=generator, dtype=dtype, device=dev)
    alpha, sigma = schedule.alpha(tau)[pairs.batch, None], schedule.sigma(tau)[pairs.batch, None]
    z_tau = alpha * (schedule.data_scale * pairs.z) + sigma * eps
    pred = model(z_tau, tau, pairs.r, pairs.types, pairs.batch, torsions=pairs.torsions, sides=pairs.sides)
    sq = ((pred - eps) ** 2).mean(dim=-1)  # [n]
    if residual_var > 0:
        sq = sq / residual_scale2(schedule, tau, pairs.batch, g, residual_var)
    return structure_mean(sq, pairs.batch, g), tau


def residual_scale2(
    schedule: VPSchedule, tau: torch.Tensor, batch: torch.Tensor, n_graphs: int, var: float
) -> torch.Tensor:
    """The Gaussian skip's squared residual scale s_tau^2 [n] of each atom, at its structure's
    tau [G] (see the module text and :meth:`~scoredyn.model.network.ScoreNetwork.gaussian_skip`)."""
    counts = torch.bincount(batch, minlength=n_graphs).to(tau.dtype)[batch]  # [n]
    alpha2, sigma2 = schedule.alpha(tau)[batch] ** 2, schedule.sigma(tau)[batch] ** 2
    return residual_variance(alpha2, sigma2, centroid_free_variance(var, counts))
