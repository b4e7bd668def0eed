"""Minibatches of training pairs drawn from a packed dataset, held in memory as tensors.

Trajectories with the same atom count are stacked into one frame table per size, so a
minibatch is gathered with a few vectorised index operations per size, with no Python
loop over samples. On a GPU the whole table moves to device memory once
(:meth:`PairData.to`), so that training never waits for host-to-device copies.

With ``anchor`` other than ``none`` each pair's conditioning structure is the
ideal-geometry anchor A(r_t) of its frame (:mod:`scoredyn.model.anchor`) and its displacement is
r_{t+dt} - A(r_t); the anchors of every frame are computed once, on loading, with the
target distances of each molecule averaged over all its frames in the file.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from scoredyn.data.dataset import prefix_sizes, size_fraction
from scoredyn.errors import TrajectoryError
from scoredyn.graph import PairBatch
from scoredyn.model.anchor import IdealGeometry


@dataclass
class _SizeGroup:
    pos: torch.Tensor  # [F, N, 3] frames of every trajectory with N atoms
    cond: torch.Tensor  # [F, N, 3] the conditioning structure of each frame (its anchor, or the frame itself)
    target: torch.Tensor  # [F, N, 3] the structure each frame is as a move's end (its slow part, or the frame)
    types: torch.Tensor  # [K, N] atom types of each of those trajectories
    traj_of_frame: torch.Tensor  # [F]
    lag_of_traj: torch.Tensor  # [K]
    quads: torch.Tensor  # [K, Q, 4] the anchor's rotatable torsions of each trajectory's molecule, -1 padded
    sides: torch.Tensor  # [K, S, 2] (torsion row, atom) of the atoms each torsion turns, -1 padded


def _padded(rows: list[torch.Tensor], width: int) -> torch.Tensor:
    """Index lists rows (each [Q_k, width]) stacked into [K, max Q_k, width], padded with -1."""
    out = torch.full((len(rows), max((len(q) for q in rows), default=0), width), -1, dtype=torch.long)
    for k, q in enumerate(rows):
        out[k, : len(q)] = q
    return out


class PairData:
    """A packed dataset's pairs, sampled uniformly into :class:`PairBatch` minibatches.

    Parameters
    ----------
    path : the dataset file written by :func:`scoredyn.data.dataset.pack_dataset`
    split : ``train`` or ``val``
    anchor : ``none``, or the ideal-geometry anchor each frame is conditioned on as (``angles`` or
        ``torsions``, see :mod:`scoredyn.model.anchor`; needs the bonds the dataset stores)
    slow_targets : each pair's next frame is replaced by its slow part: the frame projected onto
        the anchor's mean geometry with its rotatable torsions held, so that a displacement holds the
        torsions' and the whole molecule's motion and none of the bond and angle vibrations (which a
        rollout's ``fast_coordinates: redraw`` draws from MD frames instead); needs an anchor
    """

    def __init__(self, path: Path | str, split: str = "train", anchor: str = "none",
                 slow_targets: bool = False) -> None:  # fmt: skip
        path = Path(path)
        try:
            f = h5py.File(path, "r")
        except OSError as exc:
            raise TrajectoryError(f"{path}: not a readable dataset file ({exc}); rerun the dataset rule") from None
        with f:
            try:
                self.vocabulary = [v.decode() if isinstance(v, bytes) else str(v) for v in f.attrs["vocabulary"]]
                self.lag_ps = float(f.attrs["lag_ps"])
                rows = np.asarray(f[split], dtype=np.int64)
                trajs = {int(k): f["trajectories"][k] for k in f["trajectories"]}
                loaded = {k: (np.asarray(g["pos"], dtype=np.float32), np.asarray(g["types"]), int(g.attrs["lag"]))
                          for k, g in trajs.items()}  # fmt: skip
                molecule = {k: str(g.attrs.get("molecule", k)) for k, g in trajs.items()}
                bonds = {k: np.asarray(g["bonds"]) for k, g in trajs.items() if "bonds" in g}
            except (KeyError, OSError) as exc:
                raise TrajectoryError(
                    f"{path}: damaged or incomplete dataset file ({exc}); rerun the dataset rule"
                ) from None
        self.path, self.split = path, split
        self.geometries: dict[str, IdealGeometry] | None = None
        self.topologies: dict[str, tuple[list[str], np.ndarray]] = {}  # atom labels and bonds [B, 2]
        if slow_targets and anchor == "none":
            raise ValueError("slow targets are the frames projected onto the anchor's geometry: they need an anchor")
        self.anchor, self.slow_targets = anchor, slow_targets
        cond: dict[int, np.ndarray] = {}  # the anchors of each trajectory's frames
        target: dict[int, np.ndarray] = {}  # their slow parts
        if anchor != "none":
            missing = sorted({molecule[k] for k in loaded if k not in bonds})
            if missing:
                raise TrajectoryError(
                    f"{path}: stores no bonds for {', '.join(missing)}, which the ideal-geometry anchor needs; "
                    "pack the dataset again with this scoredyn (delete it and rerun the dataset rule), "
                    "or set train.anchor to none"
                )
            self.geometries = {}
            for name in sorted(set(molecule.values())):
                ks = [k for k in loaded if molecule[k] == name]
                frames = np.concatenate([loaded[k][0] for k in ks])
                self.geometries[name] = IdealGeometry.from_frames(bonds[ks[0]], frames, anchor)
                self.topologies[name] = ([self.vocabulary[int(t)] for t in loaded[ks[0]][1]], bonds[ks[0]])
            cond = {k: self.geometries[molecule[k]].apply(torch.from_numpy(v[0])).numpy() for k, v in loaded.items()}
            if slow_targets:
                target = {k: self.geometries[molecule[k]].apply(torch.from_numpy(v[0]), hold=True).numpy()
                          for k, v in loaded.items()}  # fmt: skip
        quads = {k: self.geometries[molecule[k]].torsions for k in loaded} if self.geometries else {}
        sides = {k: self.geometries[molecule[k]].sides for k in loaded} if self.geometries else {}
        by_size: dict[int, list[int]] = {}
        for k, (pos, _, _) in loaded.items():
            by_size.setdefault(pos.shape[1], []).append(k)
        self.groups: list[_SizeGroup] = []
        group_of_traj, local_of_traj, offset_of_traj = {}, {}, {}
        for gi, (_, ks) in enumerate(sorted(by_size.items())):
            offsets = np.cumsum([0] + [len(loaded[k][0]) for k in ks])
            for li, k in enumerate(ks):
                group_of_traj[k], local_of_traj[k], offset_of_traj[k] = gi, li, int(offsets[li])
            pos = torch.from_numpy(np.concatenate([loaded[k][0] for k in ks]))
            self.groups.append(
                _SizeGroup(
                    pos=pos,
                    cond=torch.from_numpy(np.concatenate([cond[k] for k in ks])) if anchor != "none" else pos,
                    target=torch.from_numpy(np.concatenate([target[k] for k in ks])) if slow_targets else pos,
                    types=torch.from_numpy(np.stack([loaded[k][1] for k in ks])).long(),
                    traj_of_frame=torch.from_numpy(np.repeat(np.arange(len(ks)), np.diff(offsets))),
                    lag_of_traj=torch.tensor([loaded[k][2] for k in ks]),
                    quads=_padded([quads.get(k, torch.zeros((0, 4), dtype=torch.long)) for k in ks], 4),
                    sides=_padded([sides.get(k, torch.zeros((0, 2), dtype=torch.long)) for k in ks], 2),
                )
            )
        # each pair as (size group, frame index within the group's table)
        self.pair_group = torch.tensor([group_of_traj[int(k)] for k in rows[:, 0]], dtype=torch.long)
        self.pair_frame = torch.tensor([offset_of_traj[int(k)] + int(t) for k, t in rows], dtype=torch.long)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what training sees: the pairs, their frames, the types, the lag and the anchor."""
        h = hashlib.sha256()
        what = (self.vocabulary, self.lag_ps, self.split)
        if self.anchor != "none":
            what = (*what, self.anchor, *(("slow",) if self.slow_targets else ()))
        h.update(repr(what).encode())
        for t in (self.pair_group, self.pair_frame):
            h.update(t.cpu().numpy().tobytes())
        for grp in self.groups:
            for t in (grp.pos, grp.types, grp.traj_of_frame, grp.lag_of_traj):
                h.update(t.cpu().numpy().tobytes())
        return h.hexdigest()

    def to(self, device: torch.device | str) -> PairData:
        """Keep every frame on ``device`` (a GPU holds a million 22-atom frames in 260 MB), so
        that minibatches are gathered there and nothing crosses the bus during training."""
        for grp in self.groups:
            grp.pos, grp.types = grp.pos.to(device), grp.types.to(device)
            grp.cond = grp.cond.to(device) if self.anchor != "none" else grp.pos
            grp.target = grp.target.to(device) if self.slow_targets else grp.pos
            grp.traj_of_frame, grp.lag_of_traj = grp.traj_of_frame.to(device), grp.lag_of_traj.to(device)
            grp.quads, grp.sides = grp.quads.to(device), grp.sides.to(device)
        self.pair_group, self.pair_frame = self.pair_group.to(device), self.pair_frame.to(device)
        return self

    def __len__(self) -> int:
        return len(self.pair_frame)

    def prefix(self, fraction: float) -> PairData:
        """The first ``fraction`` of each trajectory's pairs: less data of the same kind (data-scaling tests)."""
        traj = torch.zeros_like(self.pair_frame)  # [P] trajectory of each pair within its size group
        for gi, grp in enumerate(self.groups):
            sel = self.pair_group == gi
            traj[sel] = grp.traj_of_frame.to(traj.device)[self.pair_frame[sel]]
        keys = sorted({(int(g), int(t)) for g, t in zip(self.pair_group.tolist(), traj.tolist(), strict=True)})
        members = [torch.nonzero((self.pair_group == g) & (traj == k)).flatten() for g, k in keys]
        sizes = prefix_sizes(np.array([len(i) for i in members]), fraction)
        keep = torch.zeros(len(self), dtype=torch.bool, device=traj.device)
        for idx, n in zip(members, sizes, strict=True):
            keep[idx[torch.argsort(self.pair_frame[idx])][:n]] = True
        out = copy.copy(self)
        out.pair_group, out.pair_frame = self.pair_group[keep], self.pair_frame[keep]
        return out

    def subset(self, size: float) -> PairData:
        """The nested subset ``evaluation.training_sizes`` names: a fraction up to 1, or about ``size``
        pairs above 1, as the first pairs of each trajectory (:meth:`prefix`)."""
        return self.prefix(size_fraction(size, len(self), self.path))

    def anchor_record(self) -> dict[str, object] | None:
        """The anchor's kind and the geometry of each molecule, as ``model.pt`` records them (None without)."""
        if self.geometries is None:
            return None
        molecules = {}
        for name, g in self.geometries.items():
            labels, bonds = self.topologies[name]
            molecules[name] = {**g.to_dict(), "labels": labels, "bonds": np.asarray(bonds).tolist()}
        return {"kind": self.anchor, "slow_targets": self.slow_targets, "molecules": molecules}

    @property
    def n_types(self) -> int:
        return len(self.vocabulary)

    def batch(self, index: torch.Tensor) -> PairBatch:
        """The pairs ``index`` [B] (into this split) as one flat batch."""
        rs, zs, ts, counts, qs, ss = [], [], [], [], [], []
        first = first_q = 0  # flat index of the group's first atom and first torsion
        for gi, grp in enumerate(self.groups):
            sel = index[self.pair_group[index] == gi]
            if len(sel) == 0:
                continue
            t0 = self.pair_frame[sel]
            traj = grp.traj_of_frame[t0]
            r0 = grp.cond[t0]  # [b, N, 3]
            z = grp.target[t0 + grp.lag_of_traj[traj]] - r0
            rs.append(r0.reshape(-1, 3))
            zs.append(z.reshape(-1, 3))
            ts.append(grp.types[traj].reshape(-1))
            counts.append(torch.full((len(sel),), r0.shape[1], dtype=torch.long, device=r0.device))
            q, side = grp.quads[traj], grp.sides[traj]  # [b, Q, 4], [b, S, 2]
            offset = first + r0.shape[1] * torch.arange(len(sel), device=r0.device)  # [b] first atom
            n_q = (q[..., 0] >= 0).sum(1)
            offset_q = first_q + torch.cumsum(n_q, 0) - n_q  # [b] first torsion
            qs.append((q + offset[:, None, None])[q[..., 0] >= 0])
            ss.append((side + torch.stack([offset_q, offset], -1)[:, None])[side[..., 0] >= 0])
            first, first_q = first + r0.numel() // 3, first_q + int(n_q.sum())
        counts_t = torch.cat(counts)
        batch = torch.repeat_interleave(torch.arange(len(counts_t), device=counts_t.device), counts_t)
        torsions, sides = (torch.cat(qs), torch.cat(ss)) if self.geometries else (None, None)
        return PairBatch(torch.cat(rs), torch.cat(zs), torch.cat(ts), batch, len(counts_t), torsions, sides)

    def sample(self, batch_size: int, generator: torch.Generator) -> PairBatch:
        """``batch_size`` pairs drawn uniformly with replacement."""
        index = torch.randint(len(self), (batch_size,), generator=generator)
        return self.batch(index.to(self.pair_frame.device))

    def batches(self, batch_size: int) -> Iterator[PairBatch]:
        """Every pair once, in order (for validation)."""
        for start in range(0, len(self), batch_size):
            yield self.batch(torch.arange(start, min(start + batch_size, len(self)), device=self.pair_frame.device))
