"""scoredyn: score dynamics learned from GROMACS molecular dynamics.

The package is laid out one sub-package per pipeline stage
(``md`` -> ``data`` -> ``model``/``diffusion`` -> ``rollout`` -> ``analysis`` -> ``plots``);
imports only point down that pipeline.
"""

__version__ = "0.1.0"
