"""What the graph network is trained to predict: the SD score or the DFF denoiser.

Both objectives train the same network family in the same loop
(:func:`scoredyn.training.train`), with the same checkpoints and ``model.pt``. An
objective turns a minibatch of training pairs into per-structure losses and the noise
level of each structure (the diffusion time tau of SD, the noise sigma of the DFF).

- :class:`ScoreObjective`: denoising score matching of the displacement
  z = r_{t+dt} - r_t given r_t (:func:`~scoredyn.diffusion.loss.dsm_loss`).
- :class:`DenoiserObjective`: the unconditional denoiser of the structures r_t alone
  (:mod:`~scoredyn.diffusion.denoiser`). The network sees the noisy structure as its
  graph and a zero displacement, and its time input is the noise level mapped onto
  [0, 1]. Each frame of a minibatch is used ``duplicates`` times with fresh noise and
  its own random rotation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from scoredyn.diffusion.denoiser import denoiser_loss, sample_sigma
from scoredyn.diffusion.loss import dsm_loss
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.graph import PairBatch, random_rotations

#: Edges of the tau buckets in which SD validation losses are reported.
TAU_BUCKETS = (0.0, 0.05, 0.2, 0.4, 0.7, 1.0)


@dataclass(frozen=True)
class ScoreObjective:
    """SD: learn P(r_{t+dt} | r_t) by denoising score matching."""

    schedule: VPSchedule
    log_snr: bool = False
    input_noise: float = 0.0
    residual_var: float = 0.0  # > 0: weigh the network's residual evenly over tau (see dsm_loss)

    kind: ClassVar[str] = "sd"
    buckets: ClassVar[tuple[float, ...]] = TAU_BUCKETS
    gaussian_skip: ClassVar[bool] = True  # the network may carry the Gaussian skip

    def frames(self, batch_size: int) -> int:
        """Distinct training pairs per minibatch."""
        return batch_size

    def loss(self, net: torch.nn.Module, pairs: PairBatch, generator: torch.Generator | None,
             training: bool = True, input_noise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Per-structure losses [G] and diffusion times [G].

        ``training`` draws tau as training does (uniform in lambda with ``log_snr``) and
        weighs it as training does (``residual_var``), else uniformly in tau with the plain
        noise loss, the fixed validation draw; ``input_noise=False`` leaves the
        conditioning structures as they are (validation).
        """
        log_snr = self.log_snr if training else False
        noise = self.input_noise if training and input_noise else 0.0
        var = self.residual_var if training else 0.0
        return dsm_loss(net, pairs, self.schedule, generator, log_snr=log_snr, input_noise=noise, residual_var=var)

    @property
    def validates_train_draw(self) -> bool:
        """Whether validation also reports the loss under the training draw (it differs from the fixed one)."""
        return self.log_snr or self.residual_var > 0

    def record(self) -> dict[str, Any]:
        rec: dict[str, Any] = {"kind": self.kind, "log_snr": self.log_snr, "input_noise": self.input_noise}
        if self.residual_var > 0:  # absent from records written before the weighting existed
            rec["loss_weighting"] = "residual"
        return rec


@dataclass(frozen=True)
class DenoiserObjective:
    """DFF: learn E[noise | noisy structure] at noise levels ``sigma_A`` = (low, high), Angstrom."""

    sigma_A: tuple[float, float]
    duplicates: int = 4

    kind: ClassVar[str] = "dff"
    buckets: ClassVar[tuple[float, ...]] = ()
    gaussian_skip: ClassVar[bool] = False
    validates_train_draw: ClassVar[bool] = False

    def __post_init__(self) -> None:
        low, high = self.sigma_A
        if not 0 < low <= high:
            raise ValueError(f"noise levels must satisfy 0 < low <= high, not {self.sigma_A}")
        if self.duplicates < 1:
            raise ValueError("duplicates must be at least 1")

    def frames(self, batch_size: int) -> int:
        """Distinct frames per minibatch: each appears ``duplicates`` times."""
        return max(1, batch_size // self.duplicates)

    def level(self, sigma: torch.Tensor) -> torch.Tensor:
        """The network's time input: log sigma mapped onto [0, 1] (0.5 for a single level)."""
        low, high = self.sigma_A
        if high == low:
            return torch.full_like(sigma, 0.5)
        return (torch.log(sigma) - math.log(low)) / (math.log(high) - math.log(low))

    def noise(self, net: torch.nn.Module, noisy: torch.Tensor, sigma: torch.Tensor, types: torch.Tensor,
              batch: torch.Tensor) -> torch.Tensor:  # fmt: skip
        """Predicted noise [n, 3] of noisy structures [n, 3] at noise levels sigma [G]."""
        return net(torch.zeros_like(noisy), self.level(sigma), noisy, types, batch)

    def loss(self, net: torch.nn.Module, pairs: PairBatch, generator: torch.Generator | None,
             training: bool = True, input_noise: bool = True) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
        """Per-structure losses [G K] and noise levels [G K] of the K-fold duplicated frames."""
        g, k, dev, dtype = pairs.n_graphs, self.duplicates, pairs.r.device, pairs.r.dtype
        n = pairs.r.shape[0]
        offsets = (torch.arange(k, device=dev) * g).repeat_interleave(n)  # [K n]
        batch = pairs.batch.repeat(k) + offsets
        types = pairs.types.repeat(k)
        rot = random_rotations(g * k, generator, dtype=dtype, device=dev)
        r = torch.einsum("nij,nj->ni", rot[batch], pairs.r.repeat(k, 1))
        sigma = sample_sigma(g * k, *self.sigma_A, generator, dtype, dev)

        def predict(noisy: torch.Tensor, sg: torch.Tensor) -> torch.Tensor:
            return self.noise(net, noisy, sg, types, batch)

        return denoiser_loss(predict, r, sigma, generator, batch, g * k), sigma

    def record(self) -> dict[str, Any]:
        return {"kind": self.kind, "sigma_A": list(self.sigma_A), "duplicates": self.duplicates}
