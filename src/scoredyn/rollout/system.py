"""A trained model bound to one molecule, and the checkpointed rollout of it.

:class:`RolloutSystem` takes a loaded ``model.pt`` (:meth:`RolloutSystem.load` reads one),
binds the molecule's description to its GROMACS topology (for the checks), maps its atoms
onto the model's vocabulary and builds the method's :class:`~scoredyn.rollout.mover.Mover`
through :data:`METHODS`; :func:`run_rollout` runs a :class:`~scoredyn.rollout.engine.Rollout`
in a working directory stamped with everything that determines the trajectory, so that
raising the simulated time later continues an existing rollout instead of starting it again.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from scoredyn.config import METHOD_NAMES, Config
from scoredyn.data.dataset import atom_labels
from scoredyn.devices import pick_device
from scoredyn.diffusion.objective import DenoiserObjective
from scoredyn.errors import ConfigError, ScoredynError
from scoredyn.io import claim_workdir
from scoredyn.md.topology import resolve_molecule
from scoredyn.model.anchor import IdealGeometry
from scoredyn.model.checkpoint import CheckpointError, ModelFile, load_model
from scoredyn.model.transfer import TrainedMolecule, transfer_geometry
from scoredyn.molecules import ResolvedMolecule
from scoredyn.rollout.constraints import HBondConstraints
from scoredyn.rollout.engine import Rollout, RolloutResult, RolloutSettings
from scoredyn.rollout.force_field import LangevinSampler
from scoredyn.rollout.mover import Mover
from scoredyn.rollout.sampler import DisplacementSampler
from scoredyn.rollout.summary import RolloutSummary
from scoredyn.trajectory import Trajectory

log = logging.getLogger(__name__)

DTYPES = {"float32": torch.float32, "float64": torch.float64}


def file_digest(path: Path | str) -> str:
    """sha256 of a file's bytes (first 16 hex digits)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class DffDynamics:
    """The DFF's Brownian dynamics from the ``dff`` config section."""

    temperature_K: float
    friction_amu_per_ps: float
    timestep_fs: float

    @classmethod
    def from_config(cls, cfg: Config) -> DffDynamics:
        return cls(cfg.dff_temperature_K(), cfg.dff.friction_amu_per_ps, cfg.dff.timestep_fs)

    def label(self) -> str:
        return f"bd{self.timestep_fs:g}fs-zeta{self.friction_amu_per_ps:g}-{self.temperature_K:g}K"


def transferred_anchor(record: dict, name: str, labels: list[str], bonds: np.ndarray, model: Path) -> IdealGeometry:
    """The anchor of a molecule held out of training (atom labels [N], bonds [B, 2]), from the atoms
    of the same environments in the training molecules that ``model``'s anchor ``record`` keeps
    (:mod:`scoredyn.model.transfer`): never from the held-out molecule's own MD."""
    trained = {}
    for k, rec in record["molecules"].items():
        if "labels" not in rec or "bank" not in rec:
            raise CheckpointError(
                f"{model}: keeps no atom labels, bonds or MD distances of its training molecule {k}, which "
                f"the anchor of {name} (held out of training) is transferred from; train again with this "
                "scoredyn"
            )
        trained[k] = TrainedMolecule(rec["labels"], np.asarray(rec["bonds"]), IdealGeometry.from_dict(rec))
    try:
        geometry = transfer_geometry(labels, bonds, trained, name)
    except ValueError as exc:
        raise ConfigError(f"{model}: {exc}") from None
    log.info("%s: the anchor of %s (held out) is transferred from %s", model, name, ", ".join(sorted(trained)))
    return geometry


class RolloutSystem:
    """A trained model (its network and :class:`ModelFile`) bound to one molecule: the mover, the
    checks and the model's lag.

    The model's kind names an entry of :data:`METHODS`: ``"sd"`` (a score model and the ODE
    solver of ``rollout.solver``) or ``"dff"`` (a denoiser and the Brownian dynamics of the
    ``dff`` section). Everything else of ``rollout`` (device, precision, checks, resampling,
    constraints, seeds, checkpoints) applies to every method.
    """

    def __init__(self, cfg: Config, name: str, net: torch.nn.Module, meta: ModelFile, reference: Trajectory,
                 ref_path: Path, topdir: Path):  # fmt: skip
        if meta.kind not in METHODS:
            raise CheckpointError(f"{meta.path}: a model of kind {meta.kind!r}; scoredyn runs {', '.join(METHODS)}")
        roll, model = cfg.rollout, meta.path
        self.method, self.molecule_name = meta.kind, name
        self.device = pick_device(roll.device)
        net = net.to(self.device)
        self.lag_ps = meta.lag_ps
        self.molecule: ResolvedMolecule = resolve_molecule(cfg.molecule(name), topdir)
        if self.molecule.top.n_atoms != reference.n_atoms:
            raise ScoredynError(
                f"{ref_path}: has {reference.n_atoms} atoms but the topology in {topdir} has "
                f"{self.molecule.top.n_atoms}; rebuild both from the same md_topology run"
            )
        labels = atom_labels(reference, meta.atom_types, ref_path)
        vocabulary = list(meta.vocabulary)
        unknown = sorted(set(labels) - set(vocabulary))
        if unknown:
            raise CheckpointError(
                f"{model}: {name} has atom types {', '.join(unknown)} that the model never saw "
                f"(it knows {', '.join(vocabulary)}); train on a molecule that has them, or set "
                "dataset.atom_types to elements"
            )
        types = torch.tensor([vocabulary.index(x) for x in labels], dtype=torch.long)
        dtype = DTYPES[roll.precision]
        built = METHODS[self.method](self, cfg, net, meta, types, dtype, labels, reference)
        self.sampler: Mover = built.mover
        self.label, self.how = built.label, built.how
        self.model_digest = file_digest(model)

    @classmethod
    def load(cls, cfg: Config, name: str, model: Path, reference: Trajectory, ref_path: Path, topdir: Path,
             method: str = "sd") -> RolloutSystem:  # fmt: skip
        """The system of the ``model.pt`` at ``model``, which must be of ``method``'s kind."""
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; one of {', '.join(METHODS)}")
        net, meta = load_model(model, pick_device(cfg.rollout.device), kind=method)
        return cls(cfg, name, net, meta, reference, ref_path, topdir)

    def anchor_geometry(self, record: dict | None, name: str, reference: Trajectory, model: Path,
                        redraw: bool, labels: list[str]) -> IdealGeometry | None:  # fmt: skip
        """The anchor a model trained on anchors conditions on: its own record of ``name`` (or of the
        training molecule with the same atom labels and bonds, under another name), or, for a
        molecule it was not trained on, one transferred from the training molecules; for a ``redraw``
        with a record that keeps no bank, the bank of the reference frames."""
        if record is None:
            return None
        bonds = self.molecule.top.bonds
        if name not in record["molecules"]:
            same = [k for k, rec in record["molecules"].items() if rec.get("labels") == labels
                    and np.array_equal(np.asarray(rec.get("bonds", [])).reshape(-1, 2), bonds)]  # fmt: skip
            if not same:
                return transferred_anchor(record, name, labels, bonds, model)
            log.info("%s is %s of the training data by its atoms and bonds; its anchor is that one", name, same[0])
            name = same[0]
        geometry = IdealGeometry.from_dict(record["molecules"][name])
        if len(geometry) and int(geometry.pairs.max()) >= self.molecule.top.n_atoms:
            raise CheckpointError(
                f"{model}: its anchor geometry of {name} has atoms the topology does not have; "
                "train again on this topology's data"
            )
        if redraw and geometry.bank is None:  # a model.pt written before the redraw keeps no MD distances
            log.info("%s keeps no bank of MD distances for %s; taking it from the reference frames", model, name)
            frames = IdealGeometry.from_frames(self.molecule.top.bonds, reference.pos, str(record["kind"]))
            if not torch.equal(frames.pairs, geometry.pairs):
                raise CheckpointError(
                    f"{model}: its anchor pairs of {name} differ from those of the reference frames; "
                    "train again, or set rollout.fast_coordinates to model"
                )
            frames.lengths = geometry.lengths  # the means the model was trained on
            geometry = frames
        return geometry

    @property
    def name(self) -> str:
        return METHOD_NAMES[self.method]

    def steps(self, ps: float) -> int:
        return max(1, round(ps / self.lag_ps))

    def stamp(self, cfg: Config, seed: int, start: np.ndarray) -> dict[str, object]:
        """What determines the trajectory (not its length, so a longer run continues a shorter one)."""
        roll = cfg.rollout
        return {
            "model": self.model_digest,
            "solver": self.label,
            "precision": roll.precision,
            "peptide_bonds": roll.peptide_bonds,
            "resample": roll.resample,
            "rollback": roll.rollback_frames,
            "constraints": roll.constraints,
            "fast_coordinates": roll.fast_coordinates,
            "seed": seed,
            "start": hashlib.sha256(np.ascontiguousarray(start, dtype=np.float32).tobytes()).hexdigest()[:16],
        }

    def settings(self, cfg: Config, steps: int, seed: int) -> RolloutSettings:
        roll = cfg.rollout
        return RolloutSettings(steps, seed, roll.max_rejections, roll.checkpoint_every, roll.peptide_bonds,
                               resample=roll.resample, rollback=roll.rollback_frames)  # fmt: skip

    def summary(self, name: str, result: RolloutResult, seed: int, threads: int, **extra: Any) -> RolloutSummary:
        """The record of a finished rollout (``extra``: ``checks``, ``start_frame`` or ``state``)."""
        return RolloutSummary(
            molecule=name, method=self.name, lag_ps=self.lag_ps, device=str(self.device), threads=threads, seed=seed,
            model=self.model_digest, **result.speed(self.lag_ps), how=self.how,
            rejections_per_replica_max=int(result.rejections.max()), **extra,
        )  # fmt: skip


def run_rollout(
    system: RolloutSystem, cfg: Config, start: np.ndarray, ps: float, seed: int, workdir: Path, progress: bool = True
) -> RolloutResult:
    """``ps`` of SD or DFF from start [R, N, 3] in ``workdir`` (continued from a checkpoint of the same run)."""
    claim_workdir(workdir, system.stamp(cfg, seed, start))
    settings = system.settings(cfg, system.steps(ps), seed)
    constraints = None
    if cfg.rollout.constraints == "h-bonds":
        constraints = HBondConstraints(system.molecule.top, start[0])
    log.info(
        "%d replica(s), %d %s steps of %g ps with %s on %s",
        len(start),
        settings.steps,
        system.name,
        system.lag_ps,
        system.label,
        system.device,
    )
    result = Rollout(system.sampler, system.molecule, settings, workdir, constraints).run(start, progress)
    speed = result.speed(system.lag_ps)
    log.info(
        "%.1f ps/s per replica (%.2f us/day), %.1f ps/s over all replicas; %d rejections (%.1f per 100k steps)",
        speed["ps_per_s"],
        speed["ns_per_day"] / 1000.0,
        speed["aggregate_ps_per_s"],
        speed["rejections"],
        speed["rejections_per_100k_steps"],
    )
    return result


@dataclasses.dataclass(frozen=True)
class BuiltMover:
    """What a method's builder returns: the mover, the label of its setting (``dpm3x20``) and
    what the summary records of it (``how``)."""

    mover: Mover
    label: str
    how: dict[str, object]


def build_sd(system: RolloutSystem, cfg: Config, net: torch.nn.Module, meta: ModelFile, types: torch.Tensor,
             dtype: torch.dtype, labels: list[str], reference: Trajectory) -> BuiltMover:  # fmt: skip
    """SD: the score model's displacements drawn by ``rollout.solver``'s ODE integration."""
    roll, solver, model = cfg.rollout, cfg.rollout.solver, meta.path
    redraw = meta.anchor is not None and roll.fast_coordinates == "redraw"
    if meta.anchor is not None and meta.anchor.get("slow_targets") and not redraw:
        raise ConfigError(
            f"{model}: trained on the slow parts of the MD frames (train.slow_targets), its moves carry "
            "no bond or angle vibrations of their own; set rollout.fast_coordinates to redraw"
        )
    anchor = system.anchor_geometry(meta.anchor, system.molecule_name, reference, model, redraw, labels)
    mover = DisplacementSampler(net, meta.schedule, solver, types, system.device, dtype, chunk=roll.chunk,
                                compile=roll.compile, anchor=anchor, redraw=redraw)  # fmt: skip
    how = {"solver": solver.name, "solver_steps": solver.steps, "evaluations_per_sample": solver.evaluations}
    return BuiltMover(mover, solver.label(), how)


def build_dff(system: RolloutSystem, cfg: Config, net: torch.nn.Module, meta: ModelFile, types: torch.Tensor,
              dtype: torch.dtype, labels: list[str], reference: Trajectory) -> BuiltMover:  # fmt: skip
    """The DFF baseline: Brownian dynamics in the denoiser's force, frames as far apart as SD's."""
    dynamics = DffDynamics.from_config(cfg)
    obj = meta.objective
    mover = LangevinSampler(
        net, DenoiserObjective(tuple(obj["sigma_A"]), obj["duplicates"]), types,
        dynamics.temperature_K, dynamics.friction_amu_per_ps, dynamics.timestep_fs / 1000.0,
        system.lag_ps, system.device, dtype, compile=cfg.rollout.compile,
    )  # fmt: skip
    return BuiltMover(
        mover, dynamics.label(), dataclasses.asdict(dynamics) | {"evaluations_per_sample": mover.noise_draws}
    )


#: method key (the rules' ``params: method``, the result folder) -> the builder of its mover
METHODS: dict[str, Callable[..., BuiltMover]] = {"sd": build_sd, "dff": build_dff}
