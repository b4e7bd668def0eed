"""Reproducible seeds derived from the config's master seed.

Every random choice (starting dihedrals, GROMACS velocities and Langevin noise) gets
its own seed from a stable hash of the master seed and a label, so that runs can be
added or removed without changing the others, and parallel jobs never share a stream.
"""

from __future__ import annotations

import hashlib


def derive_seed(master: int, *labels: object) -> int:
    """A seed in [1, 2**31 - 1) from ``master`` and any labels (stable across runs and platforms)."""
    text = "/".join([str(master), *map(str, labels)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little") % (2**31 - 2) + 1
