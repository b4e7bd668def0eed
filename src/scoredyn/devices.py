"""Where torch work runs: CUDA when present, else the CPU."""

from __future__ import annotations

import torch

from scoredyn.errors import ConfigError


def pick_device(name: str) -> torch.device:
    """``auto`` -> CUDA when available, else CPU; ``cpu``, ``cuda`` or ``cuda:N`` as given.

    Raises
    ------
    ConfigError
        When CUDA is asked for and there is none.
    """
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"device {name!r} was asked for but torch sees no CUDA device; use 'auto' or 'cpu'")
    return device
