"""Shared fixtures: the repository paths and shipped molecules."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from scoredyn.md.alkane import n_alkane
from scoredyn.molecules import SoluteTopology, load_molecule

REPO = Path(__file__).resolve().parents[1]
MOLECULES = REPO / "resources" / "molecules"


def pytest_collection_modifyitems(config, items):
    if shutil.which("gmx") is None:
        skip = pytest.mark.skip(reason="GROMACS (gmx) not on PATH; `make test` installs it")
        for item in items:
            if "gromacs" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


def alkane_topology(n_carbons: int, resname: str) -> SoluteTopology:
    hc = n_alkane(n_carbons)
    return SoluteTopology(
        names=hc.names,
        resnames=[resname] * hc.n_atoms,
        resids=np.ones(hc.n_atoms, dtype=int),
        types=hc.types,
        elements=hc.elements,
        masses=np.array(hc.masses),
        charges=np.array(hc.charges),
        bonds=hc.bonds,
    )


@pytest.fixture
def butane():
    """Butane's description bound to its generated topology, with all-trans coordinates (Angstrom)."""
    from scoredyn.md.alkane import n_alkane_coordinates

    top = alkane_topology(4, "BUT")
    return load_molecule("butane", MOLECULES).resolve(top), n_alkane_coordinates(n_alkane(4))


DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def ala2_resolved():
    """Alanine dipeptide's description bound to its OPLS-AA topology (built by pdb2gmx), and
    its minimised structure [22, 3] in Angstrom."""
    from scoredyn.md.topology import read_gro_positions, read_solute_topology

    top = read_solute_topology(DATA / "alanine-dipeptide" / "topol.top")
    pos_nm, _ = read_gro_positions(DATA / "alanine-dipeptide" / "solute.gro")
    return load_molecule("alanine-dipeptide", MOLECULES).resolve(top), 10.0 * pos_nm


@pytest.fixture
def rollout_summary():
    """A factory of rollout summaries: ``replicas`` replicas of ``steps`` SD steps of 1 ps in ``wall_s``
    seconds, the speeds as :meth:`RolloutResult.speed` derives them, ``**fields`` replacing any field."""
    from scoredyn.rollout.engine import RolloutResult
    from scoredyn.rollout.summary import RolloutSummary

    def make(wall_s: float = 86.4, replicas: int = 1, steps: int = 1000, **fields) -> RolloutSummary:
        zeros = np.zeros(replicas, dtype=int)
        result = RolloutResult(np.zeros((replicas, steps + 1, 1, 3)), zeros, zeros, wall_s, 60 * steps, zeros)
        base = dict(molecule="m", method="SD", lag_ps=1.0, device="cpu", threads=1, seed=1, model="abc",
                    rejections_per_replica_max=0, checks={}, **result.speed(1.0))  # fmt: skip
        return RolloutSummary(**(base | fields))

    return make
