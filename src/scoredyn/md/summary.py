"""The summary the MD production writes beside its trajectory (``production.json``), as a typed
record that the evaluation and ``scoredyn estimate`` read."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from scoredyn.errors import ScoredynError
from scoredyn.io import atomic_write_text


@dataclass(frozen=True)
class PhaseSpeed:
    """One mdrun phase (``em``, ``eq``, ``md``): simulated ps, wall seconds and GROMACS' ns/day."""

    ps: float
    wall_s: float = 0.0
    ns_per_day: float = 0.0


@dataclass(frozen=True)
class MDSummary:
    molecule: str
    frames: int
    timestep_ps: float
    seed: int
    box_edge_nm: float
    n_waters: int
    phases: dict[str, PhaseSpeed]  # by phase name; ``md`` is the production itself
    checks: dict[str, Any] = field(default_factory=dict)

    @property
    def production(self) -> PhaseSpeed:
        return self.phases["md"]

    @property
    def ps(self) -> float:
        """Simulated ps of every phase (minimisation, equilibration and production)."""
        return sum(p.ps for p in self.phases.values())

    @property
    def wall_s(self) -> float:
        return sum(p.wall_s for p in self.phases.values())

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def write(self, path: Path | str) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def from_json(cls, path: Path | str) -> MDSummary:
        """The summary in ``path``.

        Raises
        ------
        ScoredynError
            For a missing or unreadable file, or one without the production phase ``md``,
            naming the rule to rerun.
        """
        try:
            d = json.loads(Path(path).read_text())
            phases = {k: PhaseSpeed(**v) for k, v in d["phases"].items()}
            record = cls(**(d | {"phases": phases}))
        except FileNotFoundError:
            raise ScoredynError(f"{path}: missing; run md_production (snakemake --cores N) first") from None
        except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
            raise ScoredynError(f"{path}: not a readable MD production summary ({exc}); rerun md_production") from None
        if "md" not in record.phases:
            raise ScoredynError(f"{path}: records no production phase 'md'; rerun md_production")
        return record
