"""The rollout and evaluation stages on plain files, outside Snakemake (``scoredyn rollout``,
``scoredyn evaluate``): a user with a trained ``model.pt`` simulates and compares without a
workflow run.

Both call the workflow's own stages (:func:`~scoredyn.rollout.stage.production_stage`,
:func:`~scoredyn.rollout.stage.conditional_stage`,
:func:`~scoredyn.evaluation.stage.evaluate_equilibrium_stage`), so they write the same
files. A molecule the config does not know is described as the ``files`` topology route
does: its checks are derived from the topology and the start structure.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np

from scoredyn.config import Config
from scoredyn.errors import ConfigError, MoleculeError, ScoredynError
from scoredyn.layout import Layout

log = logging.getLogger(__name__)

#: what ``scoredyn evaluate`` writes (the rule evaluate_equilibrium's outputs), by output key
EVALUATION_FILES = {"dihedrals": "dihedrals.png", "dihedral_profiles": "dihedral_profiles.png",
                    "bonds": "bond_lengths.png", "angles": "bond_angles.png", "fpt": "first_passage.png",
                    "csv": "equilibrium.csv"}  # fmt: skip


def read_structure_A(path: Path) -> np.ndarray:
    """Positions [N, 3] in Angstrom of a .gro or .pdb file (:func:`~scoredyn.molecules.structure_positions_A`)."""
    from scoredyn.molecules import structure_positions_A

    if not path.is_file():
        raise ScoredynError(f"{path}: no such structure file; pass a .gro or .pdb of the molecule")
    if path.suffix.lower() not in (".gro", ".pdb"):
        raise ScoredynError(f"{path}: a structure must be .gro or .pdb, not {path.suffix or 'without a suffix'}")
    return structure_positions_A(path)


def _molecule_config(cfg: Config, name: str | None, structure: Path, topology: Path) -> tuple[Config, str]:
    """The config and molecule name a rollout uses: a molecule the config knows by ``name``, else
    one described by its own files (named after the structure)."""
    if name is not None:
        try:
            cfg.molecule(name)
            return cfg, name
        except (MoleculeError, ConfigError):
            log.info("%s is not a known molecule; describing it from %s and %s", name, structure, topology)
    name = name or structure.stem
    desc = {"description": f"{name}, from {structure.name} and {topology.name}",
            "topology": {"method": "files", "structure": str(structure.resolve()), "topology": str(topology.resolve())},
            "starts": {"method": "vacuum_hot"}}  # fmt: skip
    return cfg.override(molecules={"define": {name: desc}}), name


def rollout_files(
    cfg: Config, model: Path, structure: Path, topology: Path, out: Path, ns: float, replicas: int = 1,
    solver: str | None = None, molecule: str | None = None, threads: int = 1,
) -> Path:  # fmt: skip
    """``ns`` of SD of the molecule in ``structure`` (.gro/.pdb; its topology ``topology``, a
    GROMACS .top with its local .itp files beside it) with ``model`` into ``out``.

    One replica writes what the rule sd_production writes (``production.h5``, ``.pdb``,
    ``.xtc``, ``.json``); more write an ensemble from that start, as sd_conditional does
    (``ensemble.h5``, ``ensemble.json``). Returns the trajectory file.
    """
    from scoredyn.md.extract import solute_trajectory
    from scoredyn.md.topology import copy_topology, read_solute_topology, write_gro
    from scoredyn.rollout.stage import conditional_stage, production_stage
    from scoredyn.trajectory import write_trajectory

    if not model.is_file():
        raise ScoredynError(f"{model}: no such model file; pass the model.pt that training wrote")
    if not topology.is_file():
        raise ScoredynError(f"{topology}: no such topology; pass the molecule's GROMACS .top")
    if replicas < 1 or ns <= 0:
        raise ScoredynError(f"--replicas {replicas} and --ns {ns:g}: give at least one replica and a positive time")
    pos = read_structure_A(structure)
    top = read_solute_topology(topology)
    if len(pos) != top.n_atoms:
        raise ScoredynError(f"{structure}: has {len(pos)} atoms but {topology} describes {top.n_atoms}; "
                            "pass the structure and topology of the same molecule")  # fmt: skip
    cfg, name = _molecule_config(cfg, molecule, structure, topology)
    topdir = out / "topology"
    if topdir.exists():
        shutil.rmtree(topdir)
    copy_topology(topology.parent, topdir)
    if topology.name != "topol.top":
        shutil.copy2(topology, topdir / "topol.top")
    span = pos.max(axis=0) - pos.min(axis=0)
    write_gro(topdir / "solute.gro", name, top.resids, top.resnames, top.names, pos / 10.0, span / 10.0 + 1.0)
    start = out / "start.h5"
    write_trajectory(start, solute_trajectory(pos[None], top, 1.0, source=f"start structure {structure}"))
    cfg = cfg.override(rollout={"production": {"start_frame": 0}})
    if replicas == 1:
        outputs = {ext: out / f"production.{ext}" for ext in ("h5", "pdb", "xtc", "json")}
        production_stage(cfg, name, model, start, topdir, out / "production_run", outputs, threads, solver, ns)
        return outputs["h5"]
    if solver is not None:
        from scoredyn.rollout.stage import parse_solver

        cfg = cfg.with_solver(parse_solver(solver))
    cfg = cfg.override(rollout={"conditional": {"replicas": replicas, "time_ps": 1000.0 * ns}})
    outputs = {"h5": out / "ensemble.h5", "json": out / "ensemble.json"}
    conditional_stage(cfg, name, "start", model, start, topdir, out / "ensemble_run", outputs, threads)
    return outputs["h5"]


def evaluate_files(cfg: Config, md: Path, learned: dict[str, Path], molecule: str, out: Path,
                   topology: Path | None = None) -> Path:  # fmt: skip
    """The long-trajectory comparison of the rule evaluate_equilibrium on files: each learned
    trajectory (method -> ``.h5``) against the MD one, for ``molecule`` whose topology folder
    (``topol.top`` and ``solute.gro``) is ``topology`` (default: the run's). Returns the table."""
    from scoredyn.evaluation.stage import evaluate_equilibrium_stage

    topdir = topology or Layout.of_run(cfg.run).topology(molecule)
    for need in (topdir / "topol.top", topdir / "solute.gro", md, *learned.values()):
        if not need.is_file():
            raise ScoredynError(f"{need}: missing; pass existing trajectories and --topology, the folder of "
                                "topol.top and solute.gro (md_topology writes one per molecule)")  # fmt: skip
    out.mkdir(parents=True, exist_ok=True)
    outputs = {key: out / name for key, name in EVALUATION_FILES.items()}
    evaluate_equilibrium_stage(cfg, molecule, {"MD": md, **learned}, topdir, outputs)
    return outputs["csv"]
