"""Training pairs (r_t, z = r_{t+lag} - r_t) from solute trajectories, in one HDF5 file.

The dataset file keeps each source trajectory once (solute positions, Angstrom) with
its atom-type indices, plus two tables of pair start frames, ``train`` and ``val``:
pairs are formed on the fly, so the file is no larger than the trajectories.

Validation is split off by contiguous blocks of time, never by single frames, so that
correlated neighbours do not leak between the two sets: each trajectory is cut into
blocks of ``block_ps`` (a shorter run is one block), a pair is kept only when both of its
frames lie in the same block, and a seeded draw over the blocks of all trajectories
holds out ``val_fraction`` of them.
Several molecules share one atom-type vocabulary, the sorted union of their types.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from scoredyn.errors import TrajectoryError
from scoredyn.io import atomic_path
from scoredyn.trajectory import Trajectory, read_trajectory

log = logging.getLogger(__name__)

ELEMENT_SYMBOLS = {1: "H", 6: "C", 7: "N", 8: "O", 9: "F", 15: "P", 16: "S", 17: "Cl", 35: "Br"}


@dataclass(frozen=True)
class Source:
    """One trajectory file feeding the dataset, and the molecule it shows."""

    path: Path
    molecule: str


def atom_labels(traj: Trajectory, kind: str, path: Path | str) -> list[str]:
    """Per-atom labels that make up the vocabulary: force-field types or elements.

    ``kind`` is ``types`` (OPLS atom types; the file must carry them) or ``elements``.
    """
    if kind == "types":
        if traj.types is None:
            raise TrajectoryError(
                f"{path}: has no per-atom 'types' attribute; set dataset.atom_types to 'elements' or 'auto'"
            )
        return list(traj.types)
    if kind == "elements":
        try:
            return [ELEMENT_SYMBOLS[int(z)] for z in traj.numbers]
        except KeyError as exc:
            raise TrajectoryError(f"{path}: atomic number {exc} is not supported") from None
    raise ValueError(f"unknown atom label kind {kind!r}")


def pair_blocks(n_frames: int, lag: int, frames_per_block: int) -> tuple[np.ndarray, np.ndarray]:
    """Start frames t of the pairs (t, t + lag) that lie inside one block, and that block's index.

    Returns
    -------
    starts, block : [P] int arrays
    """
    t = np.arange(max(n_frames - lag, 0))
    block = t // frames_per_block
    inside = (t + lag) // frames_per_block == block
    return t[inside], block[inside]


def choose_validation_blocks(
    blocks_per_traj: list[int], val_fraction: float, rng: np.random.Generator
) -> list[np.ndarray]:
    """Mark round(val_fraction x all blocks) blocks, drawn uniformly over every trajectory.

    At least one block is held out when ``val_fraction`` > 0 and there are two or more
    blocks. Returns one boolean mask per trajectory.
    """
    total = sum(blocks_per_traj)
    n_val = round(val_fraction * total)
    if val_fraction > 0 and total >= 2:
        n_val = min(max(n_val, 1), total - 1)
    flat = np.zeros(total, dtype=bool)
    flat[rng.permutation(total)[:n_val]] = True
    return np.split(flat, np.cumsum(blocks_per_traj)[:-1])


def pack_dataset(
    sources: list[Source],
    out: Path | str,
    lag_ps: float,
    val_fraction: float,
    block_ps: float,
    atom_types: str,
    seed: int,
) -> dict[str, object]:
    """Write the dataset file ``out``; returns a summary (pairs per split, vocabulary, per source).

    ``atom_types`` is ``types``, ``elements`` or ``auto`` (types when every source has them).
    """
    if not sources:
        raise TrajectoryError("no trajectories to pack; list training molecules or dataset.extra files")
    trajs, kept = [], []
    for s in sources:
        traj = read_trajectory(s.path)
        if not traj.attrs.get("accepted", True):  # a start that lost its stereochemistry
            log.info("skipping %s: %s", s.path, traj.attrs.get("reason", "rejected"))
            continue
        trajs.append(traj)
        kept.append(s)
    skipped = len(sources) - len(kept)
    sources = kept
    if not sources:
        raise TrajectoryError("every trajectory was rejected; nothing to pack")
    if atom_types == "auto":
        atom_types = "types" if all(t.types is not None for t in trajs) else "elements"
    labels = [atom_labels(t, atom_types, s.path) for t, s in zip(trajs, sources, strict=True)]
    vocab = sorted(set().union(*labels))
    rng = np.random.default_rng(seed)
    summary: dict[str, object] = {"vocabulary": vocab, "atom_types": atom_types, "skipped": skipped, "sources": []}
    n_train = n_val = 0
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(lag_ps=lag_ps, val_fraction=val_fraction, block_ps=block_ps, seed=seed, atom_types=atom_types)
        f.attrs["vocabulary"] = np.array(vocab, dtype=h5py.string_dtype())
        lags, pairs = [], []
        for src, traj in zip(sources, trajs, strict=True):
            lag = lag_ps / traj.timestep
            if abs(lag - round(lag)) > 1e-6 or round(lag) < 1:
                raise TrajectoryError(
                    f"{src.path}: frames are {traj.timestep} ps apart, so the lag of {lag_ps} ps is not a whole "
                    "number of frames; choose dataset.lag_ps as a multiple of the frame interval"
                )
            lags.append(round(lag))
            per_block = max(round(block_ps / traj.timestep), lags[-1] + 1)
            starts, block = pair_blocks(traj.n_frames, lags[-1], per_block)
            _, block = np.unique(block, return_inverse=True)  # number the blocks that hold pairs 0, 1, ...
            pairs.append((starts, block))
        masks = choose_validation_blocks([int(b.max()) + 1 if len(b) else 0 for _, b in pairs], val_fraction, rng)
        train_rows, val_rows = [], []
        for k, (src, traj, lab, lag, (starts, block), is_val) in enumerate(
            zip(sources, trajs, labels, lags, pairs, masks, strict=True)
        ):
            train, val = starts[~is_val[block]], starts[is_val[block]]
            g = f.create_group(f"trajectories/{k:05d}")
            g.create_dataset("pos", data=traj.pos.astype(np.float32))
            g.create_dataset("types", data=np.array([vocab.index(x) for x in lab], dtype=np.int64))
            if traj.bonds is not None:  # for the ideal-geometry anchor (scoredyn.model.anchor)
                g.create_dataset("bonds", data=np.asarray(traj.bonds, dtype=np.int64).reshape(-1, 2))
            g.attrs.update(source=str(src.path), molecule=src.molecule, timestep=traj.timestep, lag=lag)
            train_rows.append(np.stack([np.full_like(train, k), train], axis=1))
            val_rows.append(np.stack([np.full_like(val, k), val], axis=1))
            summary["sources"].append(
                {
                    "path": str(src.path),
                    "molecule": src.molecule,
                    "frames": traj.n_frames,
                    "train": len(train),
                    "val": len(val),
                }
            )
            n_train, n_val = n_train + len(train), n_val + len(val)
        f.create_dataset("train", data=np.concatenate(train_rows).astype(np.int64).reshape(-1, 2))
        f.create_dataset("val", data=np.concatenate(val_rows).astype(np.int64).reshape(-1, 2))
    summary.update(train_pairs=n_train, val_pairs=n_val)
    log.info("packed %d training and %d validation pairs from %d trajectories", n_train, n_val, len(sources))
    if n_train == 0:
        raise TrajectoryError(f"{out}: no training pairs; the trajectories are shorter than the lag of {lag_ps} ps")
    return summary
