"""Conditional diffusion: the noise schedule, the training loss and the ODE solvers.

Kept apart as in DPM-Solver's design: ``schedule`` knows alpha, sigma and lambda;
``loss`` turns a noise-prediction network into the denoising score-matching loss;
``wrapper`` gives a solver the noise and data predictions; ``solver`` integrates the
probability-flow ODE; ``kernel`` measures a solver setting on an exact Gaussian move.
"""
