"""SD against MD (and any other method): observables, metrics with noise floors, figures.

:mod:`~scoredyn.evaluation.observe` reduces trajectories to the observables compared,
:mod:`~scoredyn.evaluation.metrics` turns them into tidy metric rows,
:mod:`~scoredyn.evaluation.figures` lays out the figures from :mod:`scoredyn.plots`,
and :mod:`~scoredyn.evaluation.stage` holds one function per Snakemake rule.
"""
