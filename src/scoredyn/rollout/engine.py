r"""The rollout loop: advance R replicas by SD steps, reject unphysical moves and resample
them, and keep every frame safe on disk (paper Algorithm 1 and sec. 3.1).

A proposal r' = r_t + z is accepted when it passes the molecule's checks (bond lengths
per element pair, stereocentres, optionally trans peptide bonds); a rejected replica
alone draws again, with the next noise of its own stream, so the transition kernel is
P(r'|r) A(r') renormalised. After ``max_rejections`` rejections in a row the run stops
with an error naming the replica, the step and the failed check, or, with
``rollback`` > 0, that replica alone goes back ``rollback`` frames and draws them again
(the method authors' remedy: a structure from which no move passes is usually the end of
a few bad moves, not a bad move itself). The dropped frames count as rejections.

The move comes from any :class:`~scoredyn.rollout.mover.Mover`: SD's displacement sampler,
or a denoising force field's Brownian dynamics between frames
(:mod:`~scoredyn.rollout.force_field`), which asks for ``noise_draws`` noise vectors per
replica and move.

Frames go to a working directory in chunks: each checkpoint writes the new frames as
one ``.npy`` file, then a ``state.json`` that lists the chunks (both atomically). A
rerun continues from the last checkpoint and, since the noise is addressed by
(replica, step, attempt), reproduces the uninterrupted trajectory.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from scoredyn.errors import CheckError
from scoredyn.io import atomic_path, atomic_write_text
from scoredyn.molecules import ResolvedMolecule
from scoredyn.rollout.constraints import HBondConstraints
from scoredyn.rollout.mover import Mover
from scoredyn.rollout.noise import counter_normal, replica_keys

log = logging.getLogger(__name__)

#: a replica that is stuck at one step after this many rollbacks stops the run
MAX_ROLLBACKS_PER_STEP = 10


@dataclass(frozen=True)
class RolloutSettings:
    """How long to run and how to guard it.

    ``steps`` SD steps give ``steps + 1`` frames (the start is frame 0). Replica r has
    the noise stream of (``seed``, ``first_replica + r``).
    """

    steps: int
    seed: int
    max_rejections: int = 100
    checkpoint_every: int = 1000
    peptide_bonds: bool = True
    first_replica: int = 0
    resample: bool = True  # False: keep every proposal and only count the ones that fail the checks
    rollback: int = 0  # frames a stuck replica goes back and redraws; 0: a stuck replica stops the run


@dataclass
class RolloutState:
    """What a working directory records: the chunks written and the counters at that point."""

    steps_done: int = 0
    chunks: list[str] = field(default_factory=list)
    rejections: list[int] = field(default_factory=list)
    violations: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    evaluations: int = 0
    rollbacks: list[int] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> RolloutState:
        return cls(**json.loads(path.read_text())) if path.is_file() else cls()

    def save(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(self.__dict__))


@dataclass
class RolloutResult:
    """A finished rollout.

    Attributes
    ----------
    pos : [R, T, N, 3] float32, Angstrom; frame 0 is the start
    rejections : [R] rejected proposals of each replica (frames dropped by a rollback included)
    violations : [R] kept moves that fail the checks (only when resampling is off)
    rollbacks : [R] times each replica went back ``rollback`` frames
    wall_s : wall seconds spent sampling, over all sessions
    evaluations : network evaluations (each on the whole batch of replicas being drawn)
    """

    pos: np.ndarray
    rejections: np.ndarray
    violations: np.ndarray
    wall_s: float
    evaluations: int
    rollbacks: np.ndarray | None = None

    @property
    def steps(self) -> int:
        return self.pos.shape[1] - 1

    def speed(self, lag_ps: float) -> dict[str, float]:
        """Simulated time per wall time, per replica and summed over replicas."""
        n_rep, ps = self.pos.shape[0], self.steps * lag_ps
        per_replica = ps / self.wall_s if self.wall_s > 0 else float("nan")
        return {
            "replicas": n_rep,
            "steps": self.steps,
            "simulated_ps_per_replica": ps,
            "wall_s": round(self.wall_s, 3),
            "ps_per_s": per_replica,
            "ns_per_day": per_replica * 86.4,
            "aggregate_ps_per_s": per_replica * n_rep,
            "aggregate_ns_per_day": per_replica * n_rep * 86.4,
            "evaluations_per_step": self.evaluations / max(self.steps, 1),
            "rejections": int(self.rejections.sum()),
            "rejections_per_100k_steps": 1e5 * float(self.rejections.sum()) / max(self.steps * n_rep, 1),
            "rejected_fraction": float(self.rejections.sum()) / max(self.steps * n_rep + self.rejections.sum(), 1),
            "rollbacks": int(self.rollbacks.sum()) if self.rollbacks is not None else 0,
            "violations": int(self.violations.sum()),
        }


class SavedTail:
    """The last saved frames that a rollback may redraw: the working directory's trailing chunks
    holding at least ``depth + 1`` frames, kept in memory. Chunks whose frames were redrawn
    (``dirty``) are written again, under new names, at the next checkpoint."""

    def __init__(self, workdir: Path, depth: int) -> None:
        self.workdir, self.depth = workdir, depth
        self.chunks: dict[int, np.ndarray] = {}  # index in the state's chunk list -> [R, k, N, 3]
        self.dirty: set[int] = set()

    def load(self, state: RolloutState) -> None:
        """The trailing chunks of a working directory that is being resumed."""
        for idx in range(len(state.chunks) - 1, -1, -1):
            if not self.depth or sum(c.shape[1] for c in self.chunks.values()) > self.depth:
                break
            self.chunks[idx] = np.load(self.workdir / state.chunks[idx])

    def add(self, idx: int, frames: np.ndarray) -> None:
        """Keep a just-saved chunk [R, k, N, 3]; forget chunks that no rollback can reach."""
        if not self.depth:
            return
        self.chunks[idx] = frames
        held = 0
        for i in sorted(self.chunks, reverse=True):
            if held > self.depth:
                del self.chunks[i]
            else:
                held += self.chunks[i].shape[1]

    def window(self) -> list[tuple[np.ndarray, int]]:
        """The held frames [R, N, 3], oldest first, as views into their chunks, each with its chunk index."""
        return [(self.chunks[i][:, t], i) for i in sorted(self.chunks) for t in range(self.chunks[i].shape[1])]

    def rewrite(self, state: RolloutState, tag: int) -> list[str]:
        """Write the redrawn chunks under new names and list those in ``state``; returns the stale names."""
        stale = []
        for idx in sorted(self.dirty):
            old = state.chunks[idx]
            name = f"{Path(old).stem.split('_r')[0]}_r{tag}.npy"
            with atomic_path(self.workdir / name) as tmp, open(tmp, "wb") as f:
                np.save(f, self.chunks[idx])
            state.chunks[idx] = name
            stale.append(old)
        self.dirty.clear()
        return stale


class Rollout:
    """Runs ``settings.steps`` SD steps of R replicas from ``start``, checkpointing into ``workdir``."""

    def __init__(
        self,
        sampler: Mover,
        molecule: ResolvedMolecule,
        settings: RolloutSettings,
        workdir: Path | str,
        constraints: HBondConstraints | None = None,
    ) -> None:
        self.sampler, self.molecule, self.settings = sampler, molecule, settings
        self.constraints = constraints
        self.workdir = Path(workdir)
        self.state_path = self.workdir / "state.json"

    def _check(self, pos: torch.Tensor) -> np.ndarray:
        """[R] bool: which proposals pass."""
        return self.molecule.check(pos.double().cpu().numpy(), self.settings.peptide_bonds).ok

    def _refuse_bad_start(self, start: np.ndarray) -> None:
        labels = [f"start structure of replica {r}" for r in range(len(start))]
        rep = self.molecule.check(start, self.settings.peptide_bonds, labels)
        if not rep.ok.all():
            raise CheckError(
                f"the start fails the molecule's checks before any SD step: {'; '.join(rep.messages)}; "
                "start from an MD frame that passes them"
            )

    def _save(self, state: RolloutState, frames: list[np.ndarray], first: int) -> None:
        """Write frames [first, first + len) as a chunk, then the state that lists it."""
        if frames:
            name = f"chunk_{first:09d}.npy"
            with atomic_path(self.workdir / name) as tmp, open(tmp, "wb") as f:
                np.save(f, np.stack(frames, axis=1))  # [R, k, N, 3]
            state.chunks.append(name)
        state.save(self.state_path)

    def _frames(self, state: RolloutState) -> np.ndarray:
        return np.concatenate([np.load(self.workdir / c) for c in state.chunks], axis=1)

    @torch.inference_mode()
    def run(self, start: np.ndarray, progress: bool = True) -> RolloutResult:
        """Advance replicas from start [R, N, 3] (Angstrom); resumes from ``workdir`` when it holds a checkpoint."""
        s = self.settings
        start = np.asarray(start, dtype=np.float64)
        n_rep = len(start)
        self.workdir.mkdir(parents=True, exist_ok=True)
        state = RolloutState.load(self.state_path)
        dev, dtype = self.sampler.device, self.sampler.dtype
        tail = SavedTail(self.workdir, s.rollback)
        if state.steps_done:
            r = torch.as_tensor(np.load(self.workdir / state.chunks[-1])[:, -1], dtype=dtype, device=dev)
            tail.load(state)
            log.info("resuming at step %d of %d from %s", state.steps_done, s.steps, self.workdir)
        else:
            self._refuse_bad_start(start)
            r = torch.as_tensor(start, dtype=dtype, device=dev)
            state = RolloutState(rejections=[0] * n_rep, violations=[0] * n_rep, rollbacks=[0] * n_rep)
            self._save(state, [r.float().cpu().numpy()], 0)
            tail.add(0, r.float().cpu().numpy()[:, None])
        keys = replica_keys(s.seed, range(s.first_replica, s.first_replica + n_rep)).to(dev)
        rejections = np.asarray(state.rejections, dtype=np.int64)
        violations = np.asarray(state.violations, dtype=np.int64)
        rollbacks = np.asarray(state.rollbacks or [0] * n_rep, dtype=np.int64)
        n_coord = 3 * self.sampler.n_atoms * self.sampler.noise_draws  # normals per replica and move
        frames: list[np.ndarray] = []  # [R, N, 3] of the steps since the last checkpoint
        first = state.steps_done + 1
        evals0 = self.sampler.evaluations
        clock = time.perf_counter()

        def checkpoint() -> None:
            """Fold the counters into the state and save the frames drawn since the last checkpoint."""
            nonlocal frames, first, clock, evals0
            stale = tail.rewrite(state, int(rollbacks.sum()))
            state.steps_done = first + len(frames) - 1
            state.rejections, state.violations = rejections.tolist(), violations.tolist()
            state.rollbacks = rollbacks.tolist()
            state.wall_s += time.perf_counter() - clock
            state.evaluations += self.sampler.evaluations - evals0
            self._save(state, frames, first)
            for name in stale:
                (self.workdir / name).unlink(missing_ok=True)
            if frames:
                tail.add(len(state.chunks) - 1, np.stack(frames, axis=1))
            frames, first = [], state.steps_done + 1
            clock, evals0 = time.perf_counter(), self.sampler.evaluations

        def counted() -> bool:
            return rejections.tolist() != state.rejections or rollbacks.tolist() != (state.rollbacks or [])

        bar = tqdm(total=s.steps, initial=state.steps_done, disable=not progress, unit="step", dynamic_ncols=True)
        try:
            for step in range(state.steps_done + 1, s.steps + 1):
                # noise counters: a replica's draws at this step use base + 0, 1, ..., max_rejections;
                # its n-th rollback takes the block [n w, (n + 1) w) with w = (q + 1) m, m =
                # max_rejections + 1 and q = MAX_ROLLBACKS_PER_STEP: q m for the tries at redrawing
                # its frames, then m for this step's draws
                m = s.max_rejections + 1
                width = (MAX_ROLLBACKS_PER_STEP + 1) * m
                base = width * rollbacks
                tries = np.zeros(n_rep, dtype=np.int64)
                here = np.zeros(n_rep, dtype=np.int64)  # rollbacks at this step
                noise = counter_normal(keys, step, torch.as_tensor(base, device=dev), n_coord, dtype)
                prop = self._move(r, noise.view(n_rep, -1, 3))
                ok = self._check(prop)
                if not s.resample:
                    violations += ~ok
                    ok[:] = True
                while not ok.all():
                    bad = np.flatnonzero(~ok)
                    rejections[bad] += 1
                    tries[bad] += 1
                    for b in bad[tries[bad] > s.max_rejections]:
                        if not s.rollback or here[b] >= MAX_ROLLBACKS_PER_STEP:
                            raise self._stuck(prop, b, step, bool(s.rollback))
                        rollbacks[b] += 1
                        here[b] += 1
                        base[b], tries[b] = width * rollbacks[b], 0
                        window = tail.window() + [(f, -1) for f in frames]
                        r[b], k = self._roll_back(b, [f for f, _ in window], keys, step, base[b], rejections)
                        tail.dirty.update(i for _, i in window[len(window) - k :] if i >= 0)
                        base[b] += MAX_ROLLBACKS_PER_STEP * m
                    idx = torch.as_tensor(bad, device=dev)
                    counters = torch.as_tensor(base[bad] + tries[bad], device=dev)
                    noise = counter_normal(keys[idx], step, counters, n_coord, dtype).view(len(bad), -1, 3)
                    prop[idx] = self._move(r[idx], noise)
                    ok[bad] = self._check(prop[idx])
                r = prop
                frames.append(r.float().cpu().numpy().copy())
                bar.update(1)
                if step % s.checkpoint_every == 0 or step == s.steps:
                    checkpoint()
                    log.info("step %d/%d: %.1f steps/s, %d rejections", step, s.steps,
                             self._rate(state), int(rejections.sum()))  # fmt: skip
        finally:
            bar.close()
            if frames or counted():  # keep what was drawn and counted before a stop
                checkpoint()
        pos = self._frames(state)[:, : s.steps + 1]  # a shorter rerun of a longer rollout reads its beginning
        return RolloutResult(pos, rejections, violations, state.wall_s, state.evaluations, rollbacks)

    def _roll_back(self, b: int, frames: list[np.ndarray], keys: torch.Tensor, step: int, base: int,
                   rejections: np.ndarray) -> tuple[torch.Tensor, int]:  # fmt: skip
        """Redraw replica b's last ``rollback`` frames before ``step``, in place in ``frames`` (the
        frames [R, N, 3] up to step - 1, oldest first, of which the first is never redrawn), with noise
        counters from ``base``; returns its new structure [N, 3] and how many frames were redrawn.

        Each redrawn move is resampled as usual; one that cannot be drawn stops the run.
        """
        s, dev, dtype = self.settings, self.sampler.device, self.sampler.dtype
        k = min(s.rollback, len(frames) - 1)
        n_coord = 3 * self.sampler.n_atoms * self.sampler.noise_draws
        m = s.max_rejections + 1
        rejections[b] += k  # the dropped frames
        for retry in range(MAX_ROLLBACKS_PER_STEP):  # a redrawn chain can itself end up stuck: redraw it all
            cur = torch.as_tensor(frames[-k - 1][b], dtype=dtype, device=dev)
            chain: list[torch.Tensor] = []
            for j in range(k):
                for attempt in range(m):
                    counter = torch.tensor([base + retry * m + attempt], device=dev)
                    noise = counter_normal(keys[b : b + 1], step - k + j, counter, n_coord, dtype).view(1, -1, 3)
                    new = self._move(cur[None], noise)
                    if self._check(new)[0]:
                        break
                    rejections[b] += 1
                else:
                    break
                cur = new[0]
                chain.append(cur)
            if len(chain) == k:
                break
        else:
            raise self._stuck(new, 0, step - k + len(chain), True, replica=b)
        for j, frame in enumerate(chain):
            frames[len(frames) - k + j][b] = frame.float().cpu().numpy()
        log.info("replica %d went back %d frames at step %d", s.first_replica + b, k, step)
        return cur, k

    def _move(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The proposal r + z for structures r [R, N, 3], constrained when constraints are set."""
        prop = r + self.sampler.sample(r, noise)
        return self.constraints.apply(prop) if self.constraints is not None else prop

    def _rate(self, state: RolloutState) -> float:
        return state.steps_done / state.wall_s if state.wall_s > 0 else float("nan")

    def _stuck(self, prop: torch.Tensor, row: int, step: int, rolled: bool = False,
               replica: int | None = None) -> CheckError:  # fmt: skip
        """The error of a replica (row ``row`` of ``prop``; ``replica`` when the row is not its index)
        whose proposals keep failing at ``step``."""
        index = row if replica is None else replica
        label = f"replica {self.settings.first_replica + index} at step {step}"
        structure = prop[row : row + 1].double().cpu().numpy()
        rep = self.molecule.check(structure, self.settings.peptide_bonds, [label])
        also = ", also after going back" if rolled else ""
        return CheckError(
            f"{label}: {self.settings.max_rejections} proposals in a row were rejected{also} "
            f"({'; '.join(rep.messages)}); frames up to step {step - 1} are kept in {self.workdir}. "
            "The model may be undertrained for this structure: train longer, raise rollout.max_rejections, "
            "or let stuck replicas go back a few frames (rollout.rollback_frames)"
        )
