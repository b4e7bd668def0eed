r"""Overdamped Langevin (Brownian) dynamics in torch, the implicit-solvent dynamics of the DFF.

.. math::

    dx = \frac{F(x)}{m\gamma}\,dt + \sqrt{\frac{2\,kT}{m\gamma}}\,dW ,

integrated by Euler-Maruyama: :math:`x \leftarrow x + \frac{F\Delta t}{m\gamma} +
\sqrt{2 kT \Delta t/(m\gamma)}\,\xi`. Each particle's diffusion coefficient is
:math:`kT/(m\gamma)`. The stationary distribution is the Boltzmann distribution of the
force field, up to an :math:`O(\Delta t)` bias that stays small while
:math:`\Delta t\,k/(m\gamma) \ll 1` for the stiffest force constant :math:`k`. There is no
velocity: the state is the structure alone, so a stopped run resumes exactly.

Units: positions in Angstrom, time in ps, forces in kJ/mol/Angstrom, masses in g/mol,
kT in kJ/mol and gamma in 1/ps, for which ``accel_unit`` = 0.1 turns F/m into
Angstrom/ps^2 (1 kJ/mol/(g/mol) = 1000 m^2/s^2 = 0.1 Angstrom^2/ps^2).
``accel_unit = 1`` gives reduced units.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from scoredyn.units import ACCEL_UNIT

ForceFn = Callable[[torch.Tensor], torch.Tensor]


class BrownianDynamics:
    """Advances replicas x [R, N, d] under ``force(x) -> [R, N, d]``.

    Parameters
    ----------
    force : the force field
    masses : [N] per particle
    kT : thermal energy
    friction : gamma, per unit time
    timestep : the integration step
    accel_unit : force / mass in units of length / time^2
    """

    def __init__(self, force: ForceFn, masses: torch.Tensor, kT: float, friction: float, timestep: float,
                 accel_unit: float = ACCEL_UNIT) -> None:  # fmt: skip
        if kT <= 0 or friction <= 0 or timestep <= 0:
            raise ValueError("kT, friction and timestep must be positive")
        self.force, self.kT, self.dt = force, kT, timestep
        mobility = accel_unit / (masses.double() * friction)  # [N], length^2 / (energy time)
        self.drift = (timestep * mobility)[None, :, None]  # [1, N, 1]
        self.spread = torch.sqrt(2.0 * kT * timestep * mobility)[None, :, None]  # [1, N, 1]

    def step(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """One step from x with standard normals noise [R, N, d]."""
        return x + self.drift.to(x) * self.force(x) + self.spread.to(x) * noise

    def run(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``K`` steps from x [R, N, d] with noise [R, K, N, d]; returns the end structures."""
        for k in range(noise.shape[1]):
            x = self.step(x, noise[:, k])
        return x
