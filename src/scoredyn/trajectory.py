"""Solute trajectories in the reference HDF5 format.

A file holds a dataset ``pos`` of shape [T, N, 3] in Angstrom with the attributes
``symbols`` (atom names), ``numbers`` (atomic numbers) and ``timestep`` (ps between
frames), as the method authors' files do (LLNL/graphite, ``notebooks/score-dynamics``:
their loader reads ``pos.attrs``). scoredyn adds more (atom types, bonds, residue names,
temperature, provenance), but a file with only the three reference attributes loads too.

scoredyn writes every attribute on ``pos``. It reads them from ``pos`` or from the file's
root, where scoredyn wrote them before, so older files load as they are; where both hold
an attribute, ``pos``'s wins.

An ensemble of R independent trajectories of equal length (the replicas of a
conditional rollout, or independent MD runs from one start) stores ``pos`` with shape
[R, T, N, 3] in the same layout, with the attribute ``replicas`` = R.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from scoredyn.errors import TrajectoryError
from scoredyn.io import atomic_path

REQUIRED_ATTRS = ("symbols", "numbers", "timestep")


@dataclass
class Trajectory:
    """Positions and per-atom data of one solute trajectory.

    Attributes
    ----------
    pos : [T, N, 3] float, Angstrom; [R, T, N, 3] for an ensemble of R replicas
    symbols : [N] atom names
    numbers : [N] atomic numbers
    timestep : ps between frames
    types : [N] force-field atom types, or None when the file has none
    bonds : [B, 2] zero-based, or None
    attrs : every other attribute, e.g. resnames, temperature_K, source
    """

    pos: np.ndarray
    symbols: list[str]
    numbers: np.ndarray
    timestep: float
    types: list[str] | None = None
    bonds: np.ndarray | None = None
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.pos.shape[-3])

    @property
    def n_atoms(self) -> int:
        return int(self.pos.shape[-2])

    @property
    def n_replicas(self) -> int:
        """R for an ensemble; 1 for a single trajectory."""
        return int(self.pos.shape[0]) if self.pos.ndim == 4 else 1


def _strings(values: Any) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in np.asarray(values).tolist()]


def write_trajectory(path: Path | str, traj: Trajectory) -> Path:
    """Write ``traj`` atomically (a crash leaves the old file or none, never half a file)."""
    pos = np.asarray(traj.pos, dtype=np.float32)
    if pos.ndim not in (3, 4) or pos.shape[-1] != 3 or pos.shape[-2] != len(traj.symbols):
        raise TrajectoryError(
            f"{path}: pos must be [T, N, 3] or [R, T, N, 3] with N = {len(traj.symbols)}, got {pos.shape}"
        )
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        d = f.create_dataset("pos", data=pos, chunks=(min(len(pos), 1024) or 1, *pos.shape[1:]) if len(pos) else None)
        d.attrs["symbols"] = np.array(traj.symbols, dtype=h5py.string_dtype())
        d.attrs["numbers"] = np.asarray(traj.numbers, dtype=np.int64)
        d.attrs["timestep"] = float(traj.timestep)
        if pos.ndim == 4:
            d.attrs["replicas"] = pos.shape[0]
        if traj.types is not None:
            d.attrs["types"] = np.array(traj.types, dtype=h5py.string_dtype())
        if traj.bonds is not None:
            f.create_dataset("bonds", data=np.asarray(traj.bonds, dtype=np.int64).reshape(-1, 2))
        for k, v in traj.attrs.items():
            if isinstance(v, (list, tuple)) and v and isinstance(v[0], str):
                v = np.array(v, dtype=h5py.string_dtype())
            d.attrs[k] = v
    return Path(path)


def _attributes(f: h5py.File) -> dict[str, Any]:
    """The file's attributes: the root's (where earlier scoredyn versions wrote them), overlaid by ``pos``'s."""
    attrs = dict(f.attrs)
    if isinstance(f.get("pos"), h5py.Dataset):
        attrs.update(f["pos"].attrs)
    return attrs


def read_trajectory(path: Path | str, frames: slice | None = None) -> Trajectory:
    """Read a reference-format HDF5 trajectory or ensemble (optionally a slice of its first axis:
    frames of a trajectory, replicas of an ensemble).

    Raises
    ------
    TrajectoryError
        Naming the file and what is missing.
    """
    path = Path(path)
    if not path.is_file():
        raise TrajectoryError(f"{path}: no such trajectory file")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise TrajectoryError(f"{path}: not a readable HDF5 file ({exc}); regenerate it") from None
    with f:
        attrs = _attributes(f)
        missing = [a for a in REQUIRED_ATTRS if a not in attrs]
        has_pos = isinstance(f.get("pos"), h5py.Dataset)
        if not has_pos or missing:
            what = ", ".join(([] if has_pos else ["dataset 'pos'"]) + [f"attribute {a!r}" for a in missing])
            raise TrajectoryError(
                f"{path}: lacks {what}; a trajectory needs pos [T, N, 3] in Angstrom with attributes "
                "symbols, numbers and timestep (ps), on pos or on the file"
            )
        shape = f["pos"].shape
        if len(shape) not in (3, 4) or shape[-1] != 3:
            raise TrajectoryError(f"{path}: pos has shape {shape}; expected [T, N, 3] (or [R, T, N, 3])")
        for name in ("symbols", "numbers") + (("types",) if "types" in attrs else ()):
            if np.size(attrs[name]) != shape[-2]:
                raise TrajectoryError(
                    f"{path}: pos holds {shape[-2]} atoms but attribute {name!r} has {np.size(attrs[name])}; "
                    "write one entry per atom, or regenerate the file"
                )
        timestep = float(attrs["timestep"])
        if not np.isfinite(timestep) or timestep <= 0:
            raise TrajectoryError(f"{path}: attribute 'timestep' is {timestep}; give the ps between frames (> 0)")
        pos = np.asarray(f["pos"][frames if frames is not None else slice(None)], dtype=np.float64)
        extra = {k: v for k, v in attrs.items() if k not in (*REQUIRED_ATTRS, "types")}
        for k, v in list(extra.items()):
            if isinstance(v, np.ndarray) and v.dtype.kind in "OS":
                extra[k] = _strings(v)
            elif isinstance(v, bytes):
                extra[k] = v.decode()
        return Trajectory(
            pos=pos,
            symbols=_strings(attrs["symbols"]),
            numbers=np.asarray(attrs["numbers"], dtype=int),
            timestep=timestep,
            types=_strings(attrs["types"]) if "types" in attrs else None,
            bonds=np.asarray(f["bonds"], dtype=int) if "bonds" in f else None,
            attrs=extra,
        )


def trajectory_info(path: Path | str) -> tuple[int, int, dict[str, Any]]:
    """Frames, atoms and scalar attributes of a trajectory file, without reading positions."""
    traj = read_trajectory(path, frames=slice(0, 0))
    with h5py.File(path, "r") as f:
        n_frames, n_atoms = (int(x) for x in f["pos"].shape[-3:-1])
    scalars = {k: v for k, v in traj.attrs.items() if np.ndim(v) == 0}
    return n_frames, n_atoms, {"timestep": traj.timestep, **scalars}
