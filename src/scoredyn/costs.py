"""Measured rates, and how each job's time and memory grow with the config.

A :class:`Rates` record is measured on a finished run (:func:`scoredyn.estimate.measure`) and
carries the :class:`Scale` of that run's config, so the cost of any other config follows from
the record alone:

- MD: CPU-seconds per ps grow with the atoms of the box times the cube of the cut-off (the
  real-space pair work of PME dominates at these sizes); memory is the measured peak, since
  fixed costs dominate it at these sizes (the production's peak was 351 MB for 1000 atoms of
  box and 377 MB for 1200, in the tiny and the alkanes runs);
- training: seconds per sample grow with width^2 x blocks (the edge MLPs); memory with the
  batch times the width;
- SD and DFF: seconds per network evaluation of one replica grow as training's; memory is the
  production's, whatever the replicas (an ensemble is evaluated in chunks on a CPU, and on a GPU
  its activations live in the GPU's memory, not in the job's).

``scoredyn estimate`` prints the costs of a whole config, and the workflow's cluster requests
(:mod:`scoredyn.requests`) are built from the same numbers. The package ships the rates of the
demo measured on a 2-core CPU (:func:`default_rates_path`).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from importlib import resources
from pathlib import Path

from scoredyn.config import Config
from scoredyn.errors import ScoredynError
from scoredyn.io import atomic_write_text

#: atoms per water molecule of each water model
WATER_SITES = {"tip3p": 3, "spc": 3, "spce": 3, "tip4p": 4, "tip4pew": 4, "tip5p": 5}

#: the version of the rates file; a file of another version is refused with the command to rerun
RATES_VERSION = 1


def box_atoms(cfg: Config) -> float:
    """Atoms of the water box (the solute's few atoms left out)."""
    return cfg.md.n_waters * WATER_SITES.get(cfg.md.water_model, 4)


def net_cost(cfg: Config) -> float:
    """width^2 x blocks: the relative cost of one network evaluation per atom."""
    return float(cfg.training.width) ** 2 * cfg.training.n_blocks


@dataclass(frozen=True)
class Scale:
    """The sizes of the measured run that the rates are relative to."""

    box_atoms: float
    cutoff_nm: float
    net_cost: float
    batch_size: int
    width: int

    @classmethod
    def of(cls, cfg: Config) -> Scale:
        return cls(box_atoms(cfg), cfg.md.cutoff_nm, net_cost(cfg), cfg.training.batch_size, cfg.training.width)


@dataclass(frozen=True)
class Rates:
    """Measured on a small run; times per unit of work, memory as peak resident sizes."""

    md_cpu_s_per_ps: float  # CPU thread-seconds per ps, in the measured box
    train_s_per_sample: float
    train_device: str
    sd_s_per_evaluation_step: float  # one replica, one network evaluation
    sd_device: str
    md_bytes_per_ps: float  # solute h5 + xtc
    run_bytes_per_ps: float  # GROMACS working files of the production
    dataset_bytes_per_pair: float
    md_rss_mb: float  # peak of the MD production
    train_rss_mb: float
    sd_rss_mb: float  # peak of the one-replica SD production
    scale: Scale
    measured: str = ""  # which run, where

    # -- time ------------------------------------------------------------------------------
    def md_cpu_s(self, cfg: Config, ps: float) -> float:
        """CPU thread-seconds of ``ps`` of solution MD in ``cfg``'s box."""
        box = box_atoms(cfg) / self.scale.box_atoms * (cfg.md.cutoff_nm / self.scale.cutoff_nm) ** 3
        return ps * self.md_cpu_s_per_ps * box

    def train_s(self, cfg: Config, steps: int) -> float:
        """Seconds of ``steps`` optimizer steps of ``cfg``'s network and batch."""
        return steps * cfg.training.batch_size * self.train_s_per_sample * net_cost(cfg) / self.scale.net_cost

    def evaluation_s(self, cfg: Config, evaluations: float) -> float:
        """Seconds of ``evaluations`` network evaluations of one replica (unbatched)."""
        return evaluations * self.sd_s_per_evaluation_step * net_cost(cfg) / self.scale.net_cost

    # -- memory ----------------------------------------------------------------------------
    def md_mem_mb(self, cfg: Config) -> float:
        return self.md_rss_mb

    def train_mem_mb(self, cfg: Config) -> float:
        grow = cfg.training.batch_size * cfg.training.width / (self.scale.batch_size * self.scale.width)
        return self.train_rss_mb * max(1.0, grow)

    def rollout_mem_mb(self, cfg: Config) -> float:
        return self.sd_rss_mb

    # -- file ------------------------------------------------------------------------------
    def write(self, path: Path) -> None:
        atomic_write_text(Path(path), json.dumps({"version": RATES_VERSION, **asdict(self)}, indent=1) + "\n")

    @classmethod
    def read(cls, path: Path) -> Rates:
        """The rates of a file :meth:`write` wrote.

        Raises
        ------
        ScoredynError
            For a missing, unreadable or other-version file, naming it and the command that writes one.
        """
        fix = "write one with `scoredyn estimate CONFIG --write-rates FILE` after a small run"
        path = Path(path)
        try:
            raw = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ScoredynError(f"{path}: not a readable rates file ({exc}); {fix}") from None
        if not isinstance(raw, dict) or raw.get("version") != RATES_VERSION:
            got = raw.get("version") if isinstance(raw, dict) else None
            raise ScoredynError(f"{path}: rates file version {got!r}, this scoredyn reads {RATES_VERSION}; {fix}")
        names = {f.name for f in fields(cls)}
        missing = sorted(names - set(raw) - {"measured"})
        if missing:
            raise ScoredynError(f"{path}: rates file lacks {', '.join(missing)}; {fix}")
        values = {k: raw[k] for k in names if k in raw}
        return cls(**(values | {"scale": Scale(**values["scale"])}))


def default_rates_path() -> Path:
    """The package's rates: the demo run, measured on 2 CPU cores without a GPU."""
    return Path(str(resources.files("scoredyn.reference").joinpath("rates.json")))


def load_rates(cfg: Config) -> Rates:
    """The rates named by ``requests.rates``, or the package's."""
    return Rates.read(cfg.requests.rates if cfg.requests.rates is not None else default_rates_path())
