r"""One SD step for R replicas at once: z ~ P(z | r_t), drawn by integrating the
probability-flow ODE of the conditional diffusion from noise (paper Algorithm 1).

The R structures form one batched graph whose edges are rebuilt from each replica's
own current structure, once per SD step (the graph depends on r_t only, not on the
diffusion time), and the network's r_t-only work is done once on it
(:meth:`~scoredyn.model.network.ScoreNetwork.condition`). The network then runs
``solver.evaluations`` times on that graph.

On a CPU the network is compute-bound and its matrices stop fitting in cache beyond a
few dozen replicas, so large ensembles are drawn in chunks of ``chunk`` replicas (16 by
default there); on a GPU all replicas go in one batch. A replica's draw does not depend
on which chunk it falls in.

With ``compile=True`` the network's per-evaluation part goes through ``torch.compile``
(:class:`~scoredyn.model.compiled.Compiled`), which halves the cost of an evaluation
for a single alanine dipeptide on a CPU.

A model trained on ideal-geometry anchors (:mod:`scoredyn.model.anchor`) is conditioned
on A(r_t) and its move starts there: the displacement returned is A(r_t) - r_t + z. With
``redraw`` the output's fast coordinates are then redrawn from the anchor's bank of MD
frames (:meth:`~scoredyn.model.anchor.IdealGeometry.redraw`), picked by one more normal per
replica and move (``noise_draws`` is 2: the second [N, 3] block's first number).
"""

from __future__ import annotations

import torch

from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.diffusion.solver import solve
from scoredyn.diffusion.wrapper import ModelWrapper
from scoredyn.model.anchor import IdealGeometry
from scoredyn.model.compiled import Compiled
from scoredyn.model.network import Conditioning, ScoreNetwork

#: replicas per network batch on a CPU (per-replica cost rises beyond about 30; see bench/speed.py)
CPU_CHUNK = 16


class DisplacementSampler:
    """Draws displacements (Angstrom) for replicas of one molecule with a trained network.

    Parameters
    ----------
    net : the noise-prediction network (moved to ``device`` and ``dtype``, eval mode)
    schedule : the noise schedule it was trained with
    solver : which ODE solver and how many steps
    types : [N] long, the molecule's atom-type indices in the network's vocabulary
    chunk : replicas per network batch; None: ``CPU_CHUNK`` on a CPU, all of them on a GPU
    compile : run the network's evaluations through ``torch.compile``
    anchor : the molecule's anchor geometry, for a model trained on anchors
    redraw : project each output onto the fast distances of a random MD frame of the anchor's bank
    """

    def __init__(
        self,
        net: ScoreNetwork,
        schedule: VPSchedule,
        solver: SolverConfig,
        types: torch.Tensor,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
        chunk: int | None = None,
        compile: bool = False,
        anchor: IdealGeometry | None = None,
        redraw: bool = False,
    ) -> None:
        self.device, self.dtype = torch.device(device), dtype
        self.net = net.to(device=self.device, dtype=dtype).eval()
        self.schedule, self.solver = schedule, solver
        self.types = types.to(self.device)
        tau_max = torch.tensor(schedule.tau_max, dtype=torch.float64)
        self.sigma_max = float(schedule.sigma(tau_max))
        if chunk is not None and chunk < 1:
            raise ValueError("chunk must be at least 1 replica")
        self.chunk = chunk or (CPU_CHUNK if self.device.type == "cpu" else None)
        self.evaluations = 0  # network evaluations so far (each on a whole batch)
        if redraw and (anchor is None or anchor.bank is None):
            raise ValueError("redrawing the fast coordinates needs an anchor geometry with a bank of MD frames")
        if net.cfg.torsion_features and anchor is None:
            raise ValueError("a network with torsion features needs the anchor geometry that lists the torsions")
        if net.cfg.torsion_head and anchor.sides is None:
            raise ValueError("a network with a torsion head needs an anchor geometry that lists the torsions' sides")
        self.redraw = redraw
        self.noise_draws = 2 if redraw else 1  # standard-normal vectors [N, 3] per replica and move
        self._eps = Compiled(self.net.denoise, compile)
        self.anchor = anchor

    @property
    def compiled(self) -> bool:
        """Whether the network runs compiled (False after a failed compilation)."""
        return self._eps.enabled

    @property
    def n_atoms(self) -> int:
        return int(self.types.numel())

    @torch.inference_mode()
    def sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """Displacements [R, N, 3] for structures r [R, N, 3] from standard normals noise
        [R, N * noise_draws, 3]."""
        n = r.shape[1]
        if self.anchor is None:
            return self._draw(r, noise[:, :n])
        a = self.anchor.apply(r)
        out = a + self._draw(a, noise[:, :n])
        if self.redraw:
            u = torch.special.ndtr(noise[:, n, 0].double())  # [R] uniform in (0, 1)
            out = self.anchor.redraw(out, u)
        return out - r

    def _draw(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        size = self.chunk or len(r)
        if len(r) <= size:
            return self._sample(r, noise)
        return torch.cat([self._sample(r[k : k + size], noise[k : k + size]) for k in range(0, len(r), size)])

    def _sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        n_rep, n_atoms = r.shape[:2]
        cond = self.condition(r)
        model = ModelWrapper(lambda x, tau: self._eps(x, tau, cond), self.schedule)
        x_T = self.sigma_max * noise.reshape(-1, 3).to(self.device, self.dtype)
        x_0 = solve(model, x_T, self.solver)
        self.evaluations += model.evaluations
        return (x_0 / self.schedule.data_scale).reshape(n_rep, n_atoms, 3)

    @torch.inference_mode()
    def mean_move(self, r: torch.Tensor) -> torch.Tensor:
        """The model's mean displacement [R, N, 3] (Angstrom) for structures r [R, N, 3]: its data
        prediction at tau_max from a zero noisy displacement. A model whose score is exact at
        every noise level samples moves with this mean (a diagnostic of the drift, not a move)."""
        a = r if self.anchor is None else self.anchor.apply(r)
        tau = torch.tensor(self.schedule.tau_max, device=self.device, dtype=self.dtype)
        cond = self.condition(a)
        x = torch.zeros(a.numel() // 3, 3, device=self.device, dtype=self.dtype)
        x0 = ModelWrapper(lambda z, t: self.net.denoise(z, t, cond), self.schedule).data(x, tau)
        return (a - r) + (x0 / self.schedule.data_scale).reshape(a.shape).to(r.dtype)

    def condition(self, r: torch.Tensor) -> Conditioning:
        """The network's conditioning of structures r [R, N, 3] (the anchor's, when moves start there)."""
        n_rep, n_atoms = r.shape[:2]
        flat = r.reshape(-1, 3).to(self.device, self.dtype)
        batch = torch.arange(n_rep, device=self.device).repeat_interleave(n_atoms)  # [R N]
        torsions = sides = None
        if self.net.cfg.torsion_features:
            quads = self.anchor.torsions.to(self.device)  # [Q, 4]
            replica = torch.arange(n_rep, device=self.device)[:, None, None]
            torsions = (quads[None] + n_atoms * replica).reshape(-1, 4)
            if self.net.cfg.torsion_head:
                one = self.anchor.sides.to(self.device)  # [S, 2]
                sides = (one[None] + torch.tensor([len(quads), n_atoms], device=self.device) * replica).reshape(-1, 2)
        return self.net.condition(flat, self.types.repeat(n_rep), batch, torsions=torsions, sides=sides)
