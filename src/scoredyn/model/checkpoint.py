"""Saving and loading networks: ``model.pt`` holds everything needed to rebuild one.

A model file is a plain dictionary of tensors, numbers, strings, lists and dicts, so it
loads with ``torch.load(..., weights_only=True)`` and cannot run code:

``format``, ``version``, ``kind`` (``sd`` for score dynamics, ``dff`` for a denoising
force field), ``objective`` (the training objective's settings, e.g. the DFF's noise
levels), ``network`` (the :class:`NetworkConfig`), ``state_dict`` (the EMA weights),
``vocabulary`` (atom-type labels by index), ``atom_types`` (what the labels are),
``lag_ps`` and ``schedule``.

Version 2 records the network's edge convention (``network.position_scale``, the *b*
by which positions are scaled into the displacement's units, and
``network.equivariant``). A version-1 file has neither and rebuilds with the convention
it was trained with: positions in Angstrom and the paper's Cartesian network.

Version 3 adds ``anchor``: for a model trained on ideal-geometry anchors
(:mod:`scoredyn.model.anchor`), the anchor's ``kind`` and, under ``molecules``, its pairs
and target distances per molecule, which a rollout must use to condition the model as it
was trained; None (and absent before version 3) for a model conditioned on the frames
themselves. Each molecule's entry also holds ``bank``, the same distances in up to 2000
training frames [K, P] (float32), which ``rollout.fast_coordinates: redraw`` draws from; a
version-3 file written without it takes them from the rollout's reference frames. A
molecule's entry may also hold ``sides`` (the atoms each rotatable torsion turns, for a
network with ``torsion_head``), and the anchor record ``slow_targets`` (True for a model
trained to the slow parts of the next frames, which only a redraw can run). The network
options ``torsion_features`` and ``torsion_head`` are absent from older files and off.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.errors import ScoredynError
from scoredyn.io import atomic_path
from scoredyn.model.network import NetworkConfig, ScoreNetwork, create_model

FORMAT = "scoredyn-model"
VERSION = 3


class CheckpointError(ScoredynError):
    """A model or checkpoint file is missing, unreadable or of another kind."""


@dataclass(frozen=True)
class ModelFile:
    """What a ``model.pt`` records beside its weights (the module text lists the keys):
    :func:`model_record` writes it, :func:`load_model` reads it back with the network."""

    path: Path
    kind: str  # sd or dff
    version: int
    lag_ps: float
    vocabulary: list[str]  # atom-type labels by index
    atom_types: str  # what the labels are: types, elements or names
    schedule: VPSchedule
    objective: dict[str, Any]  # the training objective's record, with its kind
    network: dict[str, Any]  # the NetworkConfig
    anchor: dict[str, Any] | None  # the anchor record; None for a model conditioned on the frames

    @classmethod
    def from_record(cls, rec: dict[str, Any], path: Path | str, schedule: VPSchedule) -> ModelFile:
        kind = rec.get("kind", "sd")
        return cls(Path(path), kind, int(rec.get("version", 1)), float(rec["lag_ps"]), list(rec["vocabulary"]),
                   str(rec["atom_types"]), schedule, dict(rec.get("objective") or {"kind": kind}),
                   dict(rec["network"]), rec.get("anchor"))  # fmt: skip


def save_torch(obj: dict[str, Any], path: Path | str) -> Path:
    """``torch.save`` atomically: the file is either the old one or the complete new one."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


def load_torch(path: Path | str) -> dict[str, Any]:
    """``torch.load(weights_only=True)`` with one clear error for a missing or unreadable file."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such file; train a model first (the train rule writes it)")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many types for damaged or foreign files
        raise CheckpointError(
            f"{path}: cannot be read as a scoredyn checkpoint ({type(exc).__name__}: {str(exc)[:200]}); "
            "delete it and train again"
        ) from None
    if not isinstance(obj, dict):
        raise CheckpointError(f"{path}: holds a {type(obj).__name__}, not a scoredyn checkpoint")
    return obj


def model_record(
    net: ScoreNetwork,
    state_dict: dict,
    vocabulary: list[str],
    atom_types: str,
    lag_ps: float,
    schedule: VPSchedule,
    objective: dict[str, Any] | None = None,
    anchor: dict[str, object] | None = None,
) -> dict[str, Any]:
    """``objective`` is the training objective's record (with its ``kind``); SD's when None.
    ``anchor`` is the training data's anchor geometry per molecule (:meth:`PairData.anchor_record`)."""
    objective = objective or {"kind": "sd"}
    return {
        "format": FORMAT,
        "version": VERSION,
        "kind": objective["kind"],
        "objective": dict(objective),
        "network": net.cfg.to_dict(),
        "state_dict": {k: v.detach().cpu() for k, v in state_dict.items()},
        "vocabulary": list(vocabulary),
        "atom_types": atom_types,
        "lag_ps": float(lag_ps),
        "schedule": schedule.to_dict(),
        "anchor": anchor,
    }


def load_model(
    path: Path | str, device: str | torch.device = "cpu", kind: str = "sd"
) -> tuple[ScoreNetwork, ModelFile]:
    """Rebuild the network of ``model.pt`` with its EMA weights, in eval mode.

    Returns the network and the file's :class:`ModelFile` record (vocabulary, lag, schedule,
    ...). The file must hold a model of ``kind`` (``sd`` or ``dff``).
    """
    rec = load_torch(path)
    if rec.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a scoredyn model file (format {rec.get('format')!r})")
    if rec.get("kind", "sd") != kind:
        names = {"sd": "a score-dynamics model (the train rule)", "dff": "a denoising force field (train_dff)"}
        raise CheckpointError(
            f"{path}: holds {names.get(rec.get('kind'), repr(rec.get('kind')))}, but {names[kind]} is needed here; "
            "point this step at the other model file"
        )
    if rec.get("version", 0) > VERSION:
        raise CheckpointError(f"{path}: written by a newer scoredyn (version {rec['version']}); upgrade scoredyn")
    schedule = VPSchedule(**rec["schedule"])
    network = dict(rec["network"])
    if rec.get("version", 1) < 2:  # trained before the edge convention was recorded
        network.update(position_scale=1.0, equivariant=False)
    try:
        net_cfg = NetworkConfig(**network)
    except TypeError as exc:
        raise CheckpointError(f"{path}: its network record does not fit this scoredyn ({exc})") from None
    try:
        net = create_model(net_cfg, schedule, rec["state_dict"])
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: weights do not fit the stored network ({str(exc)[:200]})") from None
    try:
        meta = ModelFile.from_record(rec, path, schedule)
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: its record lacks or garbles {exc}; train again with this scoredyn") from None
    return net.to(device).eval(), meta
