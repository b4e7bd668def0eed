r"""Underdamped Langevin dynamics in torch, BAOAB splitting (Leimkuhler and Matthews 2013).

.. math::

    dx = v\,dt, \qquad m\,dv = F(x)\,dt - \gamma m v\,dt + \sqrt{2\gamma m kT}\,dW .

One step: B (half kick), A (half drift), O (exact Ornstein-Uhlenbeck update of v:
:math:`v \leftarrow c_1 v + c_2\sqrt{kT/m}\,\xi` with :math:`c_1 = e^{-\gamma\Delta t}`,
:math:`c_2 = \sqrt{1 - c_1^2}`), A, B. One force evaluation per step: the last kick's
force is handed back and is the next step's first. BAOAB's configurational distribution is exact for a
harmonic potential and has small :math:`O(\Delta t^2)` errors otherwise, which is
why it is the usual choice for sampling.

Units: positions in Angstrom, time in ps, forces in kJ/mol/Angstrom, masses in g/mol
and kT in kJ/mol, for which ``accel_unit`` = 0.1 turns F/m into Angstrom/ps^2
(1 kJ/mol/(g/mol) = 1000 m^2/s^2 = 0.1 Angstrom^2/ps^2). ``accel_unit = 1`` gives
reduced units (kT, m and lengths of order one).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

#: (kJ/mol/Angstrom) / (g/mol) in Angstrom/ps^2
MD_ACCEL_UNIT = 0.1
#: kJ/mol per kelvin
BOLTZMANN_KJ_MOL = 0.0083144626

ForceFn = Callable[[torch.Tensor], torch.Tensor]


class BAOAB:
    """Advances replicas x, v [R, N, d] under ``force(x) -> [R, N, d]``.

    Parameters
    ----------
    force : the force field
    masses : [N] per particle
    kT : thermal energy
    friction : gamma, per unit time
    timestep : the integration step
    """

    def __init__(self, force: ForceFn, masses: torch.Tensor, kT: float, friction: float, timestep: float,
                 accel_unit: float = MD_ACCEL_UNIT) -> None:  # fmt: skip
        if kT <= 0 or friction <= 0 or timestep <= 0:
            raise ValueError("kT, friction and timestep must be positive")
        self.force, self.dt, self.unit = force, timestep, accel_unit
        self.inv_mass = (1.0 / masses.double())[None, :, None]  # [1, N, 1]
        self.c1 = math.exp(-friction * timestep)
        self.c2 = math.sqrt(-math.expm1(-2.0 * friction * timestep))
        self.v_scale = torch.sqrt(accel_unit * kT * self.inv_mass)  # [1, N, 1] thermal velocity
        self.kT = kT

    def thermal_velocities(self, shape: torch.Size, generator: torch.Generator | None = None,
                           dtype=torch.float64, device=None) -> torch.Tensor:  # fmt: skip
        """Maxwell-Boltzmann velocities [R, N, d]."""
        xi = torch.randn(shape, generator=generator, dtype=dtype, device=device)
        return self.v_scale.to(xi) * xi

    def step(
        self, x: torch.Tensor, v: torch.Tensor, f: torch.Tensor, noise: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """One step from (x, v) with f = force(x) and standard normals noise [R, N, d]: the new (x, v, f)."""
        accel = self.unit * self.inv_mass.to(x)
        half = 0.5 * self.dt
        v = v + half * accel * f
        x = x + half * v
        v = self.c1 * v + self.c2 * self.v_scale.to(x) * noise
        x = x + half * v
        f = self.force(x)
        return x, v + half * accel * f, f
