r"""The rollout loop: advance R replicas by SD steps, reject unphysical moves and resample
them, and keep every frame safe on disk (paper Algorithm 1 and sec. 3.1).

A proposal r' = r_t + z is accepted when it passes the molecule's checks (bond lengths
per element pair, stereocentres, optionally trans peptide bonds); a rejected replica
alone draws again, with the next noise of its own stream, so the transition kernel is
P(r'|r) A(r') renormalised. After ``max_rejections`` rejections in a row the run stops
with an error naming the replica, the step and the failed check.

The move comes from a sampler: SD's displacement sampler, or a denoising force field's
Brownian dynamics between frames (:mod:`~scoredyn.rollout.force_field`), which asks for
``noise_draws`` noise vectors per replica and move.

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
from scoredyn.rollout.force_field import LangevinSampler
from scoredyn.rollout.noise import counter_normal, replica_keys
from scoredyn.rollout.sampler import DisplacementSampler

log = logging.getLogger(__name__)


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


@dataclass
class RolloutState:
    """What a working directory records: the chunks written and the counters at that point."""

    steps_done: int = 0
    chunks: list[str] = field(default_factory=list)
    rejections: list[int] = field(default_factory=list)
    violations: list[int] = field(default_factory=list)
    wall_s: float = 0.0
    evaluations: int = 0

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
    rejections : [R] rejected proposals of each replica
    violations : [R] kept moves that fail the checks (only when resampling is off)
    wall_s : wall seconds spent sampling, over all sessions
    evaluations : network evaluations (each on the whole batch of replicas being drawn)
    """

    pos: np.ndarray
    rejections: np.ndarray
    violations: np.ndarray
    wall_s: float
    evaluations: int

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
            "violations": int(self.violations.sum()),
        }


class Rollout:
    """Runs ``settings.steps`` SD steps of R replicas from ``start``, checkpointing into ``workdir``."""

    def __init__(
        self,
        sampler: DisplacementSampler | LangevinSampler,
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
        if state.steps_done:
            r = torch.as_tensor(np.load(self.workdir / state.chunks[-1])[:, -1], dtype=dtype, device=dev)
            log.info("resuming at step %d of %d from %s", state.steps_done, s.steps, self.workdir)
        else:
            self._refuse_bad_start(start)
            r = torch.as_tensor(start, dtype=dtype, device=dev)
            state = RolloutState(rejections=[0] * n_rep, violations=[0] * n_rep)
            self._save(state, [r.float().cpu().numpy()], 0)
        keys = replica_keys(s.seed, range(s.first_replica, s.first_replica + n_rep)).to(dev)
        rejections = np.asarray(state.rejections, dtype=np.int64)
        violations = np.asarray(state.violations, dtype=np.int64)
        zero = torch.zeros(n_rep, dtype=torch.int64, device=dev)
        n_coord = 3 * self.sampler.n_atoms * self.sampler.noise_draws  # normals per replica and move
        frames: list[np.ndarray] = []
        first = state.steps_done + 1
        evals0 = self.sampler.evaluations
        clock = time.perf_counter()

        def checkpoint() -> None:
            """Fold the counters into the state and save the frames drawn since the last checkpoint."""
            nonlocal frames, first, clock, evals0
            state.steps_done = first + len(frames) - 1
            state.rejections, state.violations = rejections.tolist(), violations.tolist()
            state.wall_s += time.perf_counter() - clock
            state.evaluations += self.sampler.evaluations - evals0
            self._save(state, frames, first)
            frames, first = [], state.steps_done + 1
            clock, evals0 = time.perf_counter(), self.sampler.evaluations

        bar = tqdm(total=s.steps, initial=state.steps_done, disable=not progress, unit="step", dynamic_ncols=True)
        try:
            for step in range(state.steps_done + 1, s.steps + 1):
                noise = counter_normal(keys, step, zero, n_coord, dtype).view(n_rep, -1, 3)
                prop = self._move(r, noise)
                ok = self._check(prop)
                if not s.resample:
                    violations += ~ok
                    ok[:] = True
                attempt = 0
                while not ok.all():
                    bad = np.flatnonzero(~ok)
                    rejections[bad] += 1
                    attempt += 1
                    if attempt > s.max_rejections:
                        raise self._stuck(prop, bad[0], step)
                    idx = torch.as_tensor(bad, device=dev)
                    tries = torch.full((len(bad),), attempt, dtype=torch.int64, device=dev)
                    noise = counter_normal(keys[idx], step, tries, n_coord, dtype).view(len(bad), -1, 3)
                    prop[idx] = self._move(r[idx], noise)
                    ok[bad] = self._check(prop[idx])
                r = prop
                frames.append(r.float().cpu().numpy())
                bar.update(1)
                if step % s.checkpoint_every == 0 or step == s.steps:
                    checkpoint()
                    log.info("step %d/%d: %.1f steps/s, %d rejections", step, s.steps,
                             self._rate(state), int(rejections.sum()))  # fmt: skip
        finally:
            bar.close()
            if frames or rejections.tolist() != state.rejections:  # keep what was drawn and counted before a stop
                checkpoint()
        pos = self._frames(state)[:, : s.steps + 1]  # a shorter rerun of a longer rollout reads its beginning
        return RolloutResult(pos, rejections, violations, state.wall_s, state.evaluations)

    def _move(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """The proposal r + z for structures r [R, N, 3], constrained when constraints are set."""
        prop = r + self.sampler.sample(r, noise)
        return self.constraints.apply(prop) if self.constraints is not None else prop

    def _rate(self, state: RolloutState) -> float:
        return state.steps_done / state.wall_s if state.wall_s > 0 else float("nan")

    def _stuck(self, prop: torch.Tensor, replica: int, step: int) -> CheckError:
        label = f"replica {self.settings.first_replica + replica} at step {step}"
        structure = prop[replica : replica + 1].double().cpu().numpy()
        rep = self.molecule.check(structure, self.settings.peptide_bonds, [label])
        return CheckError(
            f"{label}: {self.settings.max_rejections} proposals in a row were rejected "
            f"({'; '.join(rep.messages)}); frames up to step {step - 1} are kept in {self.workdir}. "
            "The model may be undertrained for this structure: train longer, or raise rollout.max_rejections"
        )
