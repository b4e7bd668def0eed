r"""Overdamped Langevin (Brownian) dynamics in torch, the implicit-solvent dynamics of the DFF.

.. math::

    dx_i = \frac{F_i(x)}{\zeta_i}\,dt + \sqrt{\frac{2\,kT}{\zeta_i}}\,dW_i ,

integrated by Euler-Maruyama: :math:`x_i \leftarrow x_i + F_i\Delta t/\zeta_i +
\sqrt{2 kT \Delta t/\zeta_i}\,\xi_i`, with the friction coefficient :math:`\zeta_i`
(mass per time) of each particle, as GROMACS's ``integrator = bd`` with ``bd-fric``. A
particle diffuses freely with :math:`D_i = kT/\zeta_i`. The stationary distribution is
the Boltzmann distribution of the force field, up to an :math:`O(\Delta t)` bias that
stays small while :math:`a = \Delta t\,D\,k/kT \ll 1` for the stiffest force constant
:math:`k` (for Euler-Maruyama in a harmonic well the variance is :math:`1/(1 - a/2)`
times too large, and the scheme diverges at :math:`a = 2`). There is no velocity: the
state is the structure alone, so a stopped run resumes exactly.

Units: positions in Angstrom, time in ps, forces in kJ/mol/Angstrom, kT in kJ/mol and
zeta in amu/ps, for which ``energy_unit`` = 100 makes kT/zeta Angstrom^2/ps
(1 kJ/mol per g/mol = 1 nm^2/ps^2). ``energy_unit = 1`` gives reduced units.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from scoredyn.units import KJ_PER_G_IN_A2_PER_PS2

ForceFn = Callable[[torch.Tensor], torch.Tensor]


class BrownianDynamics:
    """Advances replicas x [R, N, d] under ``force(x) -> [R, N, d]``.

    Parameters
    ----------
    force : the force field
    friction : zeta, a number for every particle or [N] per particle (mass / time)
    kT : thermal energy
    timestep : the integration step
    energy_unit : energy / mass in units of length^2 / time^2
    """

    def __init__(self, force: ForceFn, friction: torch.Tensor | float, kT: float, timestep: float,
                 energy_unit: float = KJ_PER_G_IN_A2_PER_PS2) -> None:  # fmt: skip
        zeta = torch.as_tensor(friction, dtype=torch.float64)
        if kT <= 0 or timestep <= 0 or not bool((zeta > 0).all()):
            raise ValueError("kT, friction and timestep must be positive")
        self.force, self.kT, self.dt = force, kT, timestep
        mobility = energy_unit / zeta  # length^2 / (energy time)
        if mobility.dim() == 1:
            mobility = mobility[None, :, None]  # [1, N, 1]
        self.drift = timestep * mobility
        self.spread = torch.sqrt(2.0 * kT * timestep * mobility)

    def diffusion(self) -> torch.Tensor:
        """Free diffusion coefficient kT/zeta of each particle (length^2 / time)."""
        return self.spread**2 / (2.0 * self.dt)

    def step(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """One step from x with standard normals noise [R, N, d]."""
        return x + self.drift.to(x) * self.force(x) + self.spread.to(x) * noise

    def run(self, x: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """``K`` steps from x [R, N, d] with noise [R, K, N, d]; returns the end structures."""
        for k in range(noise.shape[1]):
            x = self.step(x, noise[:, k])
        return x
