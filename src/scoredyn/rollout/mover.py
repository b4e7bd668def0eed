"""What the rollout loop asks of a learned simulator's move, whatever the method.

SD's :class:`~scoredyn.rollout.sampler.DisplacementSampler` (an ODE solve of the score
model per move) and the DFF's :class:`~scoredyn.rollout.force_field.LangevinSampler`
(Brownian dynamics in the denoiser's force between frames) both satisfy it;
:class:`~scoredyn.rollout.engine.Rollout` knows only this protocol.
"""

from __future__ import annotations

from typing import Protocol

import torch


class Mover(Protocol):
    """One stochastic move of R replicas from their structures and their noise.

    Attributes
    ----------
    device, dtype : where and in which precision the moves are drawn
    n_atoms : N, atoms per structure
    noise_draws : K, standard-normal [N, 3] blocks the move reads per replica
    evaluations : network evaluations so far (each on a whole batch of replicas)
    """

    device: torch.device
    dtype: torch.dtype
    noise_draws: int
    evaluations: int

    @property
    def n_atoms(self) -> int: ...

    def sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The displacement [R, N, 3] of structures r [R, N, 3] (Angstrom) for noise [R, K N, 3]."""
        ...
