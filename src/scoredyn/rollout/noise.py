r"""Counter-based Gaussian noise: every replica has its own stream, addressed by (step, attempt).

A rollout draws one noise vector per replica per SD step (the ODE solver is
deterministic after that), plus one more for every resampling attempt. Drawing it
from a hash of ``(replica key, step, attempt, element)`` rather than from a stateful
generator gives three properties at once:

* a replica's trajectory does not depend on how many replicas run beside it, or on
  which of them were resampled;
* a resumed rollout draws exactly the noise the uninterrupted one would have drawn, so
  no generator state needs saving;
* all replicas draw in one vectorised call, on any device, with the same numbers on
  the CPU and on CUDA.

The hash is SplitMix64's finaliser (Steele et al. 2014), a bijection of 64-bit
integers with full avalanche, chained over the counter's parts; uniforms take its top
53 bits and normals come from the Box-Muller transform.
"""

from __future__ import annotations

import math

import torch


def _signed(c: int) -> int:
    """A 64-bit constant as the int64 value with the same bits."""
    return c - (1 << 64) if c >= 1 << 63 else c


_M1 = _signed(0xBF58476D1CE4E5B9)
_M2 = _signed(0x94D049BB133111EB)
_GOLDEN = _signed(0x9E3779B97F4A7C15)


def _shr(x: torch.Tensor, s: int) -> torch.Tensor:
    """Logical right shift of int64 (torch's ``>>`` is arithmetic)."""
    return (x >> s) & ((1 << (64 - s)) - 1)


def mix64(x: torch.Tensor) -> torch.Tensor:
    """SplitMix64's finaliser on int64 tensors (wrapping arithmetic)."""
    x = (x ^ _shr(x, 30)) * _M1
    x = (x ^ _shr(x, 27)) * _M2
    return x ^ _shr(x, 31)


def _uniform(h: torch.Tensor) -> torch.Tensor:
    """float64 in (0, 1) from the top 53 bits of ``h``."""
    return (_shr(h, 11).to(torch.float64) + 0.5) * 2.0**-53


def counter_normal(
    keys: torch.Tensor, step: int, attempts: torch.Tensor, n: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Standard normals [R, n] for replicas with int64 ``keys`` [R] at ``step`` and ``attempts`` [R].

    Row r depends only on (keys[r], step, attempts[r]).
    """
    golden = torch.tensor(_GOLDEN, dtype=torch.int64, device=keys.device)
    base = mix64(mix64(keys + golden * (step + 1)) ^ attempts)  # [R]
    idx = torch.arange(1, 2 * n + 1, device=keys.device, dtype=torch.int64)  # [2n]
    u = _uniform(mix64(base[:, None] + golden * idx))  # [R, 2n]
    u1, u2 = u[:, :n], u[:, n:]
    z = torch.sqrt(-2.0 * torch.log(u1)) * torch.cos(2.0 * math.pi * u2)
    return z.to(dtype)


def replica_keys(seed: int, replicas: torch.Tensor | range) -> torch.Tensor:
    """int64 keys [R] of replicas numbered ``replicas`` in a rollout seeded with ``seed``."""
    idx = torch.as_tensor(list(replicas) if isinstance(replicas, range) else replicas, dtype=torch.int64)
    return mix64(mix64(torch.full_like(idx, _signed(seed % (1 << 64)))) + idx)
