"""The summary a rollout writes beside its trajectory (``production.json``,
``conditional_<state>.json``), as a typed record that the evaluation and ``scoredyn
estimate`` read.

The JSON keeps one flat object: the record's fields, plus the method's own settings
(``how``: the solver and its steps for SD, the Brownian dynamics for the DFF).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from scoredyn.errors import ScoredynError
from scoredyn.io import atomic_write_text


@dataclass(frozen=True)
class RolloutSummary:
    """Who ran, how fast, and how many moves the checks turned away.

    ``ns_per_day`` is one replica's simulated time per day of sampling wall time;
    ``aggregate_ns_per_day`` the same summed over the replicas. ``checks`` holds the fraction of
    frames passing each check (and, for a production, the largest moves).
    """

    molecule: str
    method: str  # SD or DFF
    lag_ps: float
    device: str
    threads: int
    seed: int
    model: str  # digest of model.pt
    replicas: int
    steps: int
    simulated_ps_per_replica: float
    wall_s: float
    ps_per_s: float
    ns_per_day: float
    aggregate_ps_per_s: float
    aggregate_ns_per_day: float
    evaluations_per_step: float
    rejections: int
    rejections_per_100k_steps: float
    rejected_fraction: float
    rollbacks: int
    violations: int
    rejections_per_replica_max: int
    checks: dict[str, Any] = field(default_factory=dict)
    how: dict[str, Any] = field(default_factory=dict)  # the method's settings, flat in the JSON
    start_frame: int | None = None  # a production's start in the MD production
    state: str | None = None  # an ensemble's state

    @property
    def per_100k_steps(self) -> tuple[float, float]:
        """(rejected, violating but kept) moves per 100k steps over every replica."""
        steps = max(self.steps * self.replicas, 1)
        return 1e5 * self.rejections / steps, 1e5 * self.violations / steps

    def to_json(self) -> str:
        d = asdict(self)
        how = d.pop("how")
        flat = {k: v for k, v in d.items() if v is not None or k not in ("start_frame", "state")}
        return json.dumps(flat | how, indent=1)

    def write(self, path: Path | str) -> None:
        atomic_write_text(path, self.to_json())

    @classmethod
    def from_json(cls, path: Path | str, rule: str = "the rollout rule") -> RolloutSummary:
        """The summary in ``path``.

        Raises
        ------
        ScoredynError
            For a missing or unreadable file, or one that lacks a field, naming ``rule`` to rerun.
        """
        try:
            d = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise ScoredynError(f"{path}: not a readable rollout summary ({exc}); rerun {rule}") from None
        names = {f.name for f in fields(cls)} - {"how"}
        optional = {"checks", "start_frame", "state"}
        missing = sorted(names - optional - set(d))
        if missing:
            raise ScoredynError(f"{path}: a rollout summary without {', '.join(missing)}; rerun {rule}")
        return cls(**{k: v for k, v in d.items() if k in names}, how={k: v for k, v in d.items() if k not in names})
