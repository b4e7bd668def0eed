"""Minibatches of training pairs drawn from a packed dataset, held in memory as tensors.

Trajectories with the same atom count are stacked into one frame table per size, so a
minibatch is gathered with a few vectorised index operations per size, with no Python
loop over samples. On a GPU the whole table moves to device memory once
(:meth:`PairData.to`), so that training never waits for host-to-device copies.
"""

from __future__ import annotations

import copy
import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import torch

from scoredyn.diffusion.loss import PairBatch
from scoredyn.errors import TrajectoryError


@dataclass
class _SizeGroup:
    pos: torch.Tensor  # [F, N, 3] frames of every trajectory with N atoms
    types: torch.Tensor  # [K, N] atom types of each of those trajectories
    traj_of_frame: torch.Tensor  # [F]
    lag_of_traj: torch.Tensor  # [K]


class PairData:
    """A packed dataset's pairs, sampled uniformly into :class:`PairBatch` minibatches.

    Parameters
    ----------
    path : the dataset file written by :func:`scoredyn.data.dataset.pack_dataset`
    split : ``train`` or ``val``
    """

    def __init__(self, path: Path | str, split: str = "train") -> None:
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
            except (KeyError, OSError) as exc:
                raise TrajectoryError(
                    f"{path}: damaged or incomplete dataset file ({exc}); rerun the dataset rule"
                ) from None
        self.path, self.split = path, split
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
                    types=torch.from_numpy(np.stack([loaded[k][1] for k in ks])).long(),
                    traj_of_frame=torch.from_numpy(np.repeat(np.arange(len(ks)), np.diff(offsets))),
                    lag_of_traj=torch.tensor([loaded[k][2] for k in ks]),
                )
            )
        # each pair as (size group, frame index within the group's table)
        self.pair_group = torch.tensor([group_of_traj[int(k)] for k in rows[:, 0]], dtype=torch.long)
        self.pair_frame = torch.tensor([offset_of_traj[int(k)] + int(t) for k, t in rows], dtype=torch.long)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of what training sees: the pairs, their frames, the types and the lag."""
        h = hashlib.sha256()
        h.update(repr((self.vocabulary, self.lag_ps, self.split)).encode())
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
            grp.traj_of_frame, grp.lag_of_traj = grp.traj_of_frame.to(device), grp.lag_of_traj.to(device)
        self.pair_group, self.pair_frame = self.pair_group.to(device), self.pair_frame.to(device)
        return self

    def __len__(self) -> int:
        return len(self.pair_frame)

    def prefix(self, fraction: float) -> PairData:
        """The first ``fraction`` of each trajectory's pairs: less data of the same kind (data-scaling tests)."""
        if not 0 < fraction <= 1:
            raise ValueError(f"fraction must be in (0, 1], not {fraction}")
        traj = torch.zeros_like(self.pair_frame)  # [P] trajectory of each pair within its size group
        for gi, grp in enumerate(self.groups):
            sel = self.pair_group == gi
            traj[sel] = grp.traj_of_frame.to(traj.device)[self.pair_frame[sel]]
        keep = torch.zeros(len(self), dtype=torch.bool, device=traj.device)
        for g, k in {(int(g), int(t)) for g, t in zip(self.pair_group.tolist(), traj.tolist(), strict=True)}:
            idx = torch.nonzero((self.pair_group == g) & (traj == k)).flatten()
            idx = idx[torch.argsort(self.pair_frame[idx])]
            keep[idx[: max(1, math.ceil(fraction * len(idx)))]] = True
        out = copy.copy(self)
        out.pair_group, out.pair_frame = self.pair_group[keep], self.pair_frame[keep]
        return out

    @property
    def n_types(self) -> int:
        return len(self.vocabulary)

    def batch(self, index: torch.Tensor) -> PairBatch:
        """The pairs ``index`` [B] (into this split) as one flat batch."""
        rs, zs, ts, counts = [], [], [], []
        for gi, grp in enumerate(self.groups):
            sel = index[self.pair_group[index] == gi]
            if len(sel) == 0:
                continue
            t0 = self.pair_frame[sel]
            traj = grp.traj_of_frame[t0]
            r0 = grp.pos[t0]  # [b, N, 3]
            z = grp.pos[t0 + grp.lag_of_traj[traj]] - r0
            rs.append(r0.reshape(-1, 3))
            zs.append(z.reshape(-1, 3))
            ts.append(grp.types[traj].reshape(-1))
            counts.append(torch.full((len(sel),), r0.shape[1], dtype=torch.long, device=r0.device))
        counts_t = torch.cat(counts)
        batch = torch.repeat_interleave(torch.arange(len(counts_t), device=counts_t.device), counts_t)
        return PairBatch(torch.cat(rs), torch.cat(zs), torch.cat(ts), batch, len(counts_t))

    def sample(self, batch_size: int, generator: torch.Generator) -> PairBatch:
        """``batch_size`` pairs drawn uniformly with replacement."""
        index = torch.randint(len(self), (batch_size,), generator=generator)
        return self.batch(index.to(self.pair_frame.device))

    def batches(self, batch_size: int) -> Iterator[PairBatch]:
        """Every pair once, in order (for validation)."""
        for start in range(0, len(self), batch_size):
            yield self.batch(torch.arange(start, min(start + batch_size, len(self)), device=self.pair_frame.device))
