r"""Moves of a denoising force field (DFF) for the rollout engine: Brownian dynamics between frames.

The DFF's force is :math:`F = -kT\,\hat\epsilon(x, \sigma)/\sigma` at the lowest noise
level it was trained on (the least smoothed; see :mod:`~scoredyn.diffusion.denoiser`).
Each force evaluation builds the graph of the current structures and runs the network
on it with a zero displacement, as in training; the network's evaluation goes through
``torch.compile`` when asked (:class:`~scoredyn.model.compiled.Compiled`).
One move of the rollout engine is ``interval / timestep`` steps of overdamped Langevin
dynamics (:class:`~scoredyn.rollout.langevin.BrownianDynamics`), so that DFF frames are
as far apart as SD's and both go through the same engine: the same checks, rejection
and resampling of a failed move, checkpoints and output files. The engine draws all of
a move's noise at once (``noise_draws`` vectors per replica and step, from the same
counter-based streams as SD), so a resumed DFF run reproduces the uninterrupted one.
"""

from __future__ import annotations

import torch

from scoredyn.config import is_multiple
from scoredyn.diffusion.denoiser import denoiser_force
from scoredyn.diffusion.objective import DenoiserObjective
from scoredyn.model.compiled import Compiled
from scoredyn.model.network import ScoreNetwork
from scoredyn.rollout.langevin import BrownianDynamics
from scoredyn.units import KB_KJ_PER_MOL_K


class LangevinSampler:
    """Draws moves [R, N, 3] (Angstrom) of ``interval_ps`` of DFF Brownian dynamics.

    Parameters
    ----------
    net : the trained denoiser (moved to ``device`` and ``dtype``, eval mode)
    objective : the objective it was trained with (its noise levels)
    types : [N] long, atom-type indices in the network's vocabulary
    temperature_K : of the dynamics
    friction_amu_per_ps : zeta of every atom; each diffuses freely with D = kT / zeta
    timestep_ps, interval_ps : the Brownian step and the time between frames
    compile : run the network's evaluations through ``torch.compile``
    """

    def __init__(
        self,
        net: ScoreNetwork,
        objective: DenoiserObjective,
        types: torch.Tensor,
        temperature_K: float,
        friction_amu_per_ps: float,
        timestep_ps: float,
        interval_ps: float,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        compile: bool = False,
    ) -> None:
        self.device, self.dtype = torch.device(device), dtype
        self.net = net.to(device=self.device, dtype=dtype).eval()
        self.types = types.to(self.device)
        self.sigma = float(objective.sigma_A[0])
        self.kT = KB_KJ_PER_MOL_K * temperature_K
        if not is_multiple(interval_ps, timestep_ps) or timestep_ps > interval_ps:
            raise ValueError(f"the frame interval {interval_ps} ps is not a whole number of {timestep_ps} ps steps")
        self.noise_draws = round(interval_ps / timestep_ps)
        self.dynamics = BrownianDynamics(self.force, friction_amu_per_ps, self.kT, timestep_ps)
        self._level = objective.level(torch.tensor(self.sigma, dtype=dtype, device=self.device))  # 0-d
        self._eps = Compiled(self.net.denoise, compile)
        self.evaluations = 0  # force evaluations so far (each on a whole batch)
        self._layouts: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    @property
    def n_atoms(self) -> int:
        return int(self.types.numel())

    @property
    def compiled(self) -> bool:
        """Whether the network runs compiled (False after a failed compilation)."""
        return self._eps.enabled

    def _layout(self, n_rep: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch [R N], types [R N]) of R replicas, built once per batch size."""
        if n_rep not in self._layouts:
            batch = torch.arange(n_rep, device=self.device).repeat_interleave(self.n_atoms)
            self._layouts[n_rep] = (batch, self.types.repeat(n_rep))
        return self._layouts[n_rep]

    def force(self, x: torch.Tensor) -> torch.Tensor:
        """The learned force [R, N, 3] (kJ/mol/Angstrom) on structures x [R, N, 3]."""
        n_rep, n_atoms = x.shape[:2]
        batch, types = self._layout(n_rep)
        flat = x.reshape(-1, 3)
        eps = self._eps(torch.zeros_like(flat), self._level.to(x.dtype), self.net.condition(flat, types, batch))
        self.evaluations += 1
        return denoiser_force(eps, self.sigma, self.kT).reshape(n_rep, n_atoms, 3)

    @torch.inference_mode()
    def sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The move of structures r [R, N, 3] driven by noise [R, K N, 3] (K = ``noise_draws``)."""
        n_rep, n_atoms = r.shape[:2]
        x = r.to(self.device, self.dtype)
        end = self.dynamics.run(x, noise.to(self.device, self.dtype).reshape(n_rep, self.noise_draws, n_atoms, 3))
        return end - x
