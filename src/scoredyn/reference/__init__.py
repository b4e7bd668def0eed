"""Measurements shipped with the package: ``rates.json``, the demo's rates on 2 CPU cores
(:func:`scoredyn.costs.default_rates_path`)."""
