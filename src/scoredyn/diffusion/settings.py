"""Which ODE solver a rollout uses, without torch: the solver's name, its steps, what one sample
costs, and the label (``dpm3x20``) that names the setting in results and configs.

:mod:`scoredyn.diffusion.solver` implements each name; the config schema lists the same names,
which a test checks.
"""

from __future__ import annotations

from dataclasses import dataclass

#: solver name -> network evaluations per solver step
SOLVERS = {"dpm1": 1, "dpm2": 2, "dpm3": 3, "dpm3m": 1, "dpmpp2m": 1}


@dataclass(frozen=True)
class SolverConfig:
    """A solver and its number of steps (``dpm3`` with 20 steps is the paper's setting)."""

    name: str = "dpm3"
    steps: int = 20

    def __post_init__(self) -> None:
        if self.name not in SOLVERS:
            raise ValueError(f"unknown solver {self.name!r}; choose one of {', '.join(SOLVERS)}")
        if self.steps < 1:
            raise ValueError("a solver needs at least one step")

    @property
    def evaluations(self) -> int:
        """Network evaluations per sample."""
        return SOLVERS[self.name] * self.steps

    def label(self) -> str:
        """``"dpm3x20"``: the name and the steps, as result folders and the sweep name a setting."""
        return f"{self.name}x{self.steps}"

    @classmethod
    def parse(cls, label: str) -> SolverConfig:
        """``"dpm3x20"`` -> SolverConfig("dpm3", 20), the inverse of :meth:`label`.

        Raises
        ------
        ValueError
            For a label that is not ``<solver>x<steps>`` of a known solver.
        """
        name, _, steps = label.rpartition("x")
        try:
            return cls(name, int(steps))
        except ValueError as exc:
            raise ValueError(f"solver label {label!r}: {exc}; write it as <solver>x<steps>, e.g. dpm3x20") from None
