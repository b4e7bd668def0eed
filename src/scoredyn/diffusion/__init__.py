"""Conditional diffusion: the noise schedule, the training loss and (later) the ODE solvers.

Kept apart as in DPM-Solver's design: ``schedule`` knows alpha, sigma and lambda;
``loss`` turns a noise-prediction network into the denoising score-matching loss.
"""
