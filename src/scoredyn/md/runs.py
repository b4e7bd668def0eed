"""The MD protocols of the paper (sec. 2.7), as resumable sequences of GROMACS runs.

Solution systems follow one recipe, for the long production and for every start:

1. solvate in the molecule's cubic box with exactly ``n_waters`` waters;
2. steepest-descent energy minimisation;
3. water equilibration for ``equilibrate_ps`` with the solute frozen (``freezegrps``);
4. NVT production with the sd (Langevin) integrator, new random velocities for every
   atom, writing solute-only frames (``compressed-x-grps``).

Each phase leaves a ``<name>.done`` marker; a rerun skips finished phases, and an
interrupted mdrun continues from its checkpoint.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from scoredyn.config import MDConfig, VacuumHotStarts
from scoredyn.io import atomic_write_text
from scoredyn.md.box import solvate_exact
from scoredyn.md.gmx import Gromacs, performance_ns_per_day
from scoredyn.md.mdp import render
from scoredyn.md.topology import copy_topology

log = logging.getLogger(__name__)

#: The default GROMACS index group that holds everything but the water.
SOLUTE_GROUP = "non-Water"


@dataclass(frozen=True)
class PhaseResult:
    """What one mdrun phase did: simulated ps, wall seconds and GROMACS' ns/day."""

    name: str
    ps: float
    wall_s: float
    ns_per_day: float


def _done(workdir: Path, name: str) -> Path:
    return workdir / f"{name}.done"


def _run_phase(
    gmx: Gromacs, workdir: Path, name: str, mdp: Path, conf: str, threads: int, checkpoint_minutes: float, ps: float
) -> PhaseResult:
    """grompp (unless a checkpoint exists) then mdrun; skipped when already done."""
    marker = _done(workdir, name)
    if marker.is_file():
        return PhaseResult(**json.loads(marker.read_text()))
    if not (workdir / f"{name}.cpt").is_file():
        gmx("grompp", cwd=workdir, f=mdp.name, c=conf, p="topol.top", o=f"{name}.tpr", po=f"{name}.out.mdp", maxwarn=0)
    start = time.perf_counter()
    gmx.mdrun(workdir, name, threads=threads, checkpoint_minutes=checkpoint_minutes)
    wall = time.perf_counter() - start
    speed = performance_ns_per_day(workdir / f"{name}.log") if ps > 0 else 0.0
    result = PhaseResult(name, ps, wall, speed)
    atomic_write_text(marker, json.dumps(result.__dict__))
    log.info("%s: %.1f ps in %.0f s (%.1f ns/day)", name, ps, wall, speed)
    return result


def nvt_values(md: MDConfig, ps: float, seed: int, frozen: bool, frames: bool) -> dict[str, object]:
    """Template values of ``nvt.mdp`` for one run."""
    nsteps = md.steps(ps)
    return dict(
        dt_ps=md.timestep_fs / 1000.0,
        nsteps=nsteps,
        seed=seed,
        tau_t_ps=md.tau_t_ps,
        temperature_K=md.temperature_K,
        gen_vel=True,
        constraints=md.constraints,
        cutoff_nm=md.cutoff_nm,
        comm_mode="None" if frozen else "Linear",
        nst_frames=md.frame_every_steps if frames else 0,
        solute_group=SOLUTE_GROUP,
        nst_energy=min(10000, max(nsteps, 1)),
        freeze_groups=SOLUTE_GROUP if frozen else "",
        freeze_dims="Y Y Y" if frozen else "",
    )


def default_mdp_dir() -> Path:
    """``resources/mdp`` of the source tree."""
    return Path(__file__).resolve().parents[3] / "resources" / "mdp"


@dataclass(frozen=True)
class Protocol:
    """Everything the runs share: the GROMACS driver, the MD config and the mdp templates."""

    gmx: Gromacs
    md: MDConfig
    mdp_dir: Path
    checkpoint_minutes: float = 5.0

    def prepare_solution(
        self, topdir: Path, solute: Path, edge: float, workdir: Path, seed: int, threads: int
    ) -> list[PhaseResult]:
        """Steps 1-3: solvate, minimise, equilibrate the water around the frozen solute -> ``eq.gro``."""
        md = self.md
        workdir.mkdir(parents=True, exist_ok=True)
        if not _done(workdir, "em").is_file():
            top = copy_topology(topdir, workdir)
            solvate_exact(self.gmx, solute, top, edge, md.n_waters, md.water_model, workdir, seed)
            render(
                self.mdp_dir / "em.mdp",
                workdir / "em.mdp",
                nsteps=md.minimize_steps,
                emtol=md.minimize_emtol,
                cutoff_nm=md.cutoff_nm,
            )
        em = _run_phase(self.gmx, workdir, "em", workdir / "em.mdp", "solvated.gro", threads, 60.0, 0.0)
        values = nvt_values(md, md.equilibrate_ps, seed, frozen=True, frames=False)
        render(self.mdp_dir / "nvt.mdp", workdir / "eq.mdp", **values)
        eq = _run_phase(self.gmx, workdir, "eq", workdir / "eq.mdp", "em.gro", threads, 15.0, md.equilibrate_ps)
        return [em, eq]

    def run_nvt(self, workdir: Path, ps: float, seed: int, threads: int, name: str = "md") -> PhaseResult:
        """Step 4: NVT production from ``eq.gro`` with new velocities -> ``<name>.xtc`` (solute only)."""
        values = nvt_values(self.md, ps, seed, frozen=False, frames=True)
        render(self.mdp_dir / "nvt.mdp", workdir / f"{name}.mdp", **values)
        return _run_phase(
            self.gmx, workdir, name, workdir / f"{name}.mdp", "eq.gro", threads, self.checkpoint_minutes, ps
        )

    def run_vacuum_hot(self, topdir: Path, hot: VacuumHotStarts, workdir: Path, seed: int) -> PhaseResult:
        """High-temperature sampling of the solute alone in a large periodic box -> ``hot.xtc``.

        Saves ``hot.count + 1`` frames; the first (the built structure) is not a start.
        One thread: this tiny system runs fastest without threading.
        """
        workdir.mkdir(parents=True, exist_ok=True)
        copy_topology(topdir, workdir)
        self.gmx(
            "editconf",
            cwd=workdir,
            f=str((topdir / "solute.gro").resolve()),
            o="boxed.gro",
            bt="cubic",
            box=[hot.box_nm] * 3,
            c=True,
        )
        nsteps = hot.count * hot.save_every
        render(
            self.mdp_dir / "vacuum_hot.mdp",
            workdir / "hot.mdp",
            dt_ps=hot.timestep_fs / 1000.0,
            nsteps=nsteps,
            seed=seed,
            tau_t_ps=self.md.tau_t_ps,
            temperature_K=hot.temperature_K,
            cutoff_nm=hot.cutoff_nm,
            save_every=hot.save_every,
        )
        ps = nsteps * hot.timestep_fs / 1000.0
        return _run_phase(self.gmx, workdir, "hot", workdir / "hot.mdp", "boxed.gro", 1, 15.0, ps)
