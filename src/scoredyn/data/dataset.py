"""Training pairs (r_t, z = r_{t+lag} - r_t) from solute trajectories, in one HDF5 file.

The dataset file keeps each source trajectory once (solute positions, Angstrom) with
its atom-type indices, plus two tables of pair start frames, ``train`` and ``val``:
pairs are formed on the fly, so the file is no larger than the trajectories.

Validation is split off by contiguous blocks of time, never by single frames, so that
correlated neighbours do not leak between the two sets: each trajectory is cut into
blocks of ``block_ps`` (a shorter run is one block), and a seeded draw over the blocks of
all trajectories holds out ``val_fraction`` of them. Neighbouring blocks of the same set
join into one contiguous segment, and every pair whose two frames lie in one segment is
kept; only the pairs that straddle a train/validation boundary are lost, about
2 f (1 - f) lag / block_ps of them for a long run (f the validation fraction). The
summary counts the pairs kept against those possible, per source, and packing warns
when more than 10% are lost.
Several molecules share one atom-type vocabulary, the sorted union of their types.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from scoredyn.data.summary import DatasetSummary, SourceSummary
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
    """Per-atom labels that make up the vocabulary: force-field types, elements or atom names.

    ``kind`` is ``types`` (OPLS atom types; the file must carry them), ``elements`` or
    ``names`` (the file's ``symbols``, as the method authors' one-hot encodes them).
    """
    if kind == "types":
        if traj.types is None:
            raise TrajectoryError(
                f"{path}: has no per-atom 'types' attribute; set dataset.atom_types to 'elements' or 'auto'"
            )
        return list(traj.types)
    if kind == "names":
        return list(traj.symbols)
    if kind == "elements":
        try:
            return [ELEMENT_SYMBOLS[int(z)] for z in traj.numbers]
        except KeyError as exc:
            raise TrajectoryError(f"{path}: atomic number {exc} is not supported") from None
    raise ValueError(f"unknown atom label kind {kind!r}")


def pair_segments(n_frames: int, lag: int, is_val: np.ndarray, frames_per_block: int) -> tuple[np.ndarray, np.ndarray]:
    """Start frames t of the pairs (t, t + lag) whose two frames lie in one contiguous segment of
    blocks of the same set, and whether each is a validation pair.

    ``is_val`` [B] marks the validation blocks of a trajectory cut into blocks of
    ``frames_per_block`` frames (the last one may be shorter).

    Returns
    -------
    starts : [P] int
    val : [P] bool
    """
    t = np.arange(max(n_frames - lag, 0))
    label = np.asarray(is_val, dtype=bool)[np.arange(n_frames) // frames_per_block]  # [T]
    segment = np.concatenate([[0], np.cumsum(label[1:] != label[:-1])])  # [T]
    inside = segment[t] == segment[t + lag]
    return t[inside], label[t[inside]]


def n_blocks(n_frames: int, frames_per_block: int) -> int:
    """Blocks of ``frames_per_block`` frames that cover a trajectory (a shorter one is one block)."""
    return max(1, -(-n_frames // frames_per_block))


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
) -> DatasetSummary:
    """Write the dataset file ``out``; returns its summary (pairs per split, vocabulary, per source).

    ``atom_types`` is ``types``, ``elements``, ``names`` or ``auto`` (types when every source has
    them, else elements).
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
    packed: list[SourceSummary] = []
    n_train = n_val = 0
    with atomic_path(out) as tmp, h5py.File(tmp, "w") as f:
        f.attrs.update(lag_ps=lag_ps, val_fraction=val_fraction, block_ps=block_ps, seed=seed, atom_types=atom_types)
        f.attrs["vocabulary"] = np.array(vocab, dtype=h5py.string_dtype())
        lags, blocks = [], []
        for src, traj in zip(sources, trajs, strict=True):
            lag = lag_ps / traj.timestep
            if abs(lag - round(lag)) > 1e-6 or round(lag) < 1:
                raise TrajectoryError(
                    f"{src.path}: frames are {traj.timestep} ps apart, so the lag of {lag_ps} ps is not a whole "
                    "number of frames; choose dataset.lag_ps as a multiple of the frame interval"
                )
            lags.append(round(lag))
            blocks.append(max(1, round(block_ps / traj.timestep)))
        masks = choose_validation_blocks([n_blocks(t.n_frames, b) for t, b in zip(trajs, blocks, strict=True)],
                                         val_fraction, rng)  # fmt: skip
        train_rows, val_rows = [], []
        n_possible = 0
        for k, (src, traj, lab, lag, per_block, is_val) in enumerate(
            zip(sources, trajs, labels, lags, blocks, masks, strict=True)
        ):
            starts, in_val = pair_segments(traj.n_frames, lag, is_val, per_block)
            train, val = starts[~in_val], starts[in_val]
            possible = max(traj.n_frames - lag, 0)
            n_possible += possible
            g = f.create_group(f"trajectories/{k:05d}")
            g.create_dataset("pos", data=traj.pos.astype(np.float32))
            g.create_dataset("types", data=np.array([vocab.index(x) for x in lab], dtype=np.int64))
            if traj.bonds is not None:  # for the ideal-geometry anchor (scoredyn.model.anchor)
                g.create_dataset("bonds", data=np.asarray(traj.bonds, dtype=np.int64).reshape(-1, 2))
            g.attrs.update(source=str(src.path), molecule=src.molecule, timestep=traj.timestep, lag=lag)
            train_rows.append(np.stack([np.full_like(train, k), train], axis=1))
            val_rows.append(np.stack([np.full_like(val, k), val], axis=1))
            packed.append(SourceSummary(str(src.path), src.molecule, traj.n_frames, len(train), len(val), possible))
            n_train, n_val = n_train + len(train), n_val + len(val)
        f.create_dataset("train", data=np.concatenate(train_rows).astype(np.int64).reshape(-1, 2))
        f.create_dataset("val", data=np.concatenate(val_rows).astype(np.int64).reshape(-1, 2))
    kept_fraction = (n_train + n_val) / n_possible if n_possible else 1.0
    summary = DatasetSummary(vocab, atom_types, skipped, packed, n_train, n_val, n_possible, kept_fraction)
    log.info("packed %d training and %d validation pairs (%.1f%% of the %d possible) from %d trajectories",
             n_train, n_val, 100 * kept_fraction, n_possible, len(sources))  # fmt: skip
    if kept_fraction < 0.9:
        log.warning(
            "%s: the train/validation split loses %.0f%% of the %d possible pairs (those that straddle a "
            "boundary); raise dataset.block_ps to at least 20 x dataset.lag_ps x dataset.val_fraction "
            "(now %g ps, lag %g ps, fraction %g)",
            out, 100 * (1 - kept_fraction), n_possible, block_ps, lag_ps, val_fraction,
        )  # fmt: skip
    if n_train == 0:
        raise TrajectoryError(f"{out}: no training pairs; the trajectories are shorter than the lag of {lag_ps} ps")
    return summary


def prefix_sizes(n_pairs: np.ndarray, fraction: float) -> np.ndarray:
    """How many of each trajectory's n_pairs [K] pairs the first ``fraction`` of them holds (at least
    one of a trajectory that has any): the nested subsets of ``evaluation.training_sizes``."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], not {fraction}")
    n = np.asarray(n_pairs, dtype=int)
    return np.where(n > 0, np.maximum(1, np.ceil(fraction * n)), 0).astype(int)


def size_fraction(size: float, n_pairs: int, path: Path | str) -> float:
    """The fraction of ``n_pairs`` training pairs (of the dataset ``path``) that a training size names:
    the size itself up to 1, else a number of pairs."""
    if size <= 1:
        return float(size)
    if size > n_pairs:
        raise ValueError(
            f"evaluation.training_sizes: {size:g} pairs are more than the {n_pairs} training pairs of {path}; "
            "give at most that many, or a fraction up to 1"
        )
    return size / n_pairs


def subset_pairs(path: Path | str, sizes: list[float]) -> list[int]:
    """The training pairs of the dataset ``path`` that each training size keeps (as the training keeps them)."""
    try:
        with h5py.File(path, "r") as f:
            traj = np.asarray(f["train"], dtype=np.int64)[:, 0]
    except (OSError, KeyError) as exc:
        raise TrajectoryError(f"{path}: not a readable dataset file ({exc}); rerun the dataset rule") from None
    counts = np.unique(traj, return_counts=True)[1]
    return [int(prefix_sizes(counts, size_fraction(size, len(traj), path)).sum()) for size in sizes]
