r"""One SD step for R replicas at once: z ~ P(z | r_t), drawn by integrating the
probability-flow ODE of the conditional diffusion from noise (paper Algorithm 1).

The R structures form one batched graph whose edges are rebuilt from each replica's
own current structure, once per SD step (the graph depends on r_t only, not on the
diffusion time). The network then runs ``solver.evaluations`` times on that graph.
"""

from __future__ import annotations

import torch

from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.solver import SolverConfig, solve
from scoredyn.diffusion.wrapper import ModelWrapper
from scoredyn.model.graph import radius_graph
from scoredyn.model.network import ScoreNetwork


class DisplacementSampler:
    """Draws displacements (Angstrom) for replicas of one molecule with a trained network.

    Parameters
    ----------
    net : the noise-prediction network (moved to ``device`` and ``dtype``, eval mode)
    schedule : the noise schedule it was trained with
    solver : which ODE solver and how many steps
    types : [N] long, the molecule's atom-type indices in the network's vocabulary
    """

    def __init__(
        self,
        net: ScoreNetwork,
        schedule: VPSchedule,
        solver: SolverConfig,
        types: torch.Tensor,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.device, self.dtype = torch.device(device), dtype
        self.net = net.to(device=self.device, dtype=dtype).eval()
        self.schedule, self.solver = schedule, solver
        self.types = types.to(self.device)
        tau_max = torch.tensor(schedule.tau_max, dtype=torch.float64)
        self.sigma_max = float(schedule.sigma(tau_max))
        self.evaluations = 0  # network evaluations so far (each on a whole batch)

    @property
    def n_atoms(self) -> int:
        return int(self.types.numel())

    @torch.inference_mode()
    def sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Displacements [R, N, 3] for structures r [R, N, 3] from standard normals noise [R, N, 3]."""
        n_rep, n_atoms = r.shape[:2]
        flat = r.reshape(-1, 3).to(self.device, self.dtype)
        batch = torch.arange(n_rep, device=self.device).repeat_interleave(n_atoms)  # [R N]
        types = self.types.repeat(n_rep)
        edges = radius_graph(flat, batch, self.net.cfg.cutoff)

        def eps(x: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
            return self.net(x, tau.expand(n_rep), flat, types, batch, edges)

        model = ModelWrapper(eps, self.schedule)
        x_T = self.sigma_max * noise.reshape(-1, 3).to(self.device, self.dtype)
        x_0 = solve(model, x_T, self.solver)
        self.evaluations += model.evaluations
        return (x_0 / self.schedule.data_scale).reshape(n_rep, n_atoms, 3)
