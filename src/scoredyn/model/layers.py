"""Building blocks of the noise network: MLPs and the Gaussian Fourier time embedding."""

from __future__ import annotations

import math

import torch
from torch import nn


class MLP(nn.Module):
    """Two Linear layers with SiLU between them and, optionally, LayerNorm after (paper eq. 7-9)."""

    def __init__(self, d_in: int, d_hidden: int, d_out: int, layer_norm: bool = True) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, d_hidden), nn.SiLU(), nn.Linear(d_hidden, d_out))
        self.norm = nn.LayerNorm(d_out) if layer_norm else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.net(x))

    def reset_parameters(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.LayerNorm)):
                m.reset_parameters()


class GaussianFourier(nn.Module):
    """Random Fourier features of a scalar (Tancik et al. 2020): [sin(2 pi w t), cos(2 pi w t)].

    The frequencies ``w ~ N(0, scale^2)`` are fixed at construction and saved with the model.
    """

    def __init__(self, dim: int, scale: float = 16.0, seed: int = 0) -> None:
        super().__init__()
        if dim % 2:
            raise ValueError("the Fourier feature dimension must be even")
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("w", torch.randn(dim // 2, generator=g) * scale)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """t [G] -> [G, dim]."""
        arg = 2.0 * math.pi * t[:, None] * self.w[None, :]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)
