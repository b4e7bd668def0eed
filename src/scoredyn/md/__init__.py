"""Molecular dynamics with GROMACS (driven through GromacsWrapper).

``gmx`` wraps the tools; ``topology`` builds solute topologies; ``box`` solvates;
``runs`` chains minimisation, frozen-solute equilibration and NVT production;
``starts`` makes diverse starting structures; ``extract`` writes solute-only HDF5.
"""
