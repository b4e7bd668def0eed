"""Which training recipe makes SD a simulator: an A/B of variants on one packed dataset.

Every variant trains from the same seed on the same dataset of ``--run`` (the demo's,
by default) with the config's network size and batch, for ``--steps`` optimizer steps
(times the variant's own factor), on one CPU thread per variant. Then, for each:

- ``loss <a-b>``: the EMA model's validation loss in each diffusion-time band under the
  fixed validation draw (uniform in tau, the same rotations and noise for every variant);
- ``pass``: the fraction of single SD moves (the config's solver, X-H bonds projected as
  in the workflow) from ``--moves`` held-out MD frames that pass every check;
- ``sd <class>``: the standard deviation of each bond class's lengths after one move,
  beside MD's after the same 1 ps (``MD`` row);
- ``rms``: the displacement's root-mean-square per atom (centroid removed), beside MD's;
- ``rejected``, ``stopped at``: a ``--ns`` rollout of ``--replicas`` replicas (each its
  own noise stream) from the workflow's production start with resampling on: the
  fraction of proposals rejected, and the step at which
  ``rollout.max_rejections`` rejections in a row stopped it (``-`` when it finished);
  a rollout that draws 1.25 proposals per step on average is stopped too (``(budget)``);
  when it stopped, the same rollout again with stuck replicas going back 8 frames
  (``rollback 8``, the method authors' remedy) and its number of ``rollbacks``;
- ``jsd``: the phi/psi JSD (36 x 36) of the finished rollout (its replicas' frames
  pooled; one 1 ns replica is too short for these figures to separate variants whose
  losses differ by less than a few per cent) against the MD production,
  with MD's split-half floor in the ``MD`` row; ``jsd/floor``: that over the floor;
- ``geometry``: the worst ratio, over the unconstrained bond-length and bond-angle classes,
  of the rollout's JSD against MD to MD's split-half floor of that class (the issue's bar
  is 2), and the class it is;
- ``pop <state>``: the rollout's state populations (MD's in the ``MD`` row);
- ``<phi>>0``: the fraction of its frames with the first dihedral (phi) positive, which MD
  rarely visits (the mirror image of its basins: a reflection-blind model visits both);
- ``train s``: wall seconds of training.

    .venv/bin/python bench/fidelity.py [--run results/demo] [--config config.yaml] [--steps 2000]
        [--jobs 2] [--variants before edges ...] [--ns 1] [--fast model redraw] [--compile]

``--fast`` evaluates each model under each ``rollout.fast_coordinates`` setting given (a
row ``<variant> [redraw]``; anchored models only, the setting changes nothing without one).

Models and trainings stay under ``<run>/bench/fidelity/<variant>-<steps>/``, so a rerun
resumes an interrupted training and reuses finished ones. It needs the run's packed
dataset and MD production (``snakemake results/demo/dataset/dataset.h5``).
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from scoredyn.config import Config, load_config
from scoredyn.data.loader import PairData
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.errors import CheckError
from scoredyn.evaluation.metrics import REFERENCE, equilibrium_rows, kinetics_rows
from scoredyn.evaluation.observe import Observed, observe
from scoredyn.layout import Layout
from scoredyn.md.topology import resolve_molecule
from scoredyn.model.checkpoint import load_model
from scoredyn.molecules import ResolvedMolecule
from scoredyn.rollout.constraints import HBondConstraints
from scoredyn.rollout.engine import Rollout, RolloutState
from scoredyn.rollout.noise import counter_normal, replica_keys
from scoredyn.rollout.system import RolloutSystem
from scoredyn.seeding import derive_seed
from scoredyn.training import TrainConfig, train, train_config
from scoredyn.trajectory import read_trajectory


@dataclass(frozen=True)
class Variant:
    """A training recipe: ``TrainConfig`` overrides, a multiple of the base steps and a data fraction."""

    name: str
    what: str
    train: dict = field(default_factory=dict)
    steps_factor: float = 1.0
    fraction: float = 1.0


BUDGET = 1.25  # proposals per step a rollout may draw before it is stopped (it has then rejected 20% or more)
ROLLBACK = 8  # frames a stuck replica goes back in the second rollout (the method authors' number)
EQUIVARIANT = {"architecture": "equivariant", "tau_sampling": "log_snr"}
#: the demo's recipe (config.yaml's train section)
WHOLE = {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
         "tau_sampling": "uniform", "loss_weighting": "residual", "input_scaling": True,
         "whole_turn": True}  # fmt: skip
VARIANTS = {
    v.name: v
    for v in [
        Variant("before", "the previous default: paper network, positions in A against b z, uniform tau",
                {"architecture": "paper", "position_scale": 1.0, "tau_sampling": "uniform"}),
        Variant("edges", "positions scaled by b like z (r' is the next frame's bond vector)",
                {"architecture": "paper", "tau_sampling": "uniform"}),
        Variant("edges+lambda", "that + tau drawn uniformly in lambda",
                {"architecture": "paper", "tau_sampling": "log_snr"}),
        Variant("equivariant", "that + invariant edge inputs and an edge-vector output", EQUIVARIANT),
        Variant("equi+noise0.03", "that + 0.03 A conditioning noise", {**EQUIVARIANT, "input_noise": 0.03}),
        Variant("equi+noise0.06", "that + 0.06 A conditioning noise", {**EQUIVARIANT, "input_noise": 0.06}),
        Variant("equi+noise0.1", "that + 0.1 A conditioning noise", {**EQUIVARIANT, "input_noise": 0.1}),
        Variant("equi+noise0.06,half", "0.06 A noise on half the data", {**EQUIVARIANT, "input_noise": 0.06},
                fraction=0.5),
        Variant("equi+noise0.06,x3", "0.06 A noise, 3x the steps", {**EQUIVARIANT, "input_noise": 0.06},
                steps_factor=3.0),
        Variant("equi+anchor", "equivariant, moves from the anchor of bonds and angles",
                {**EQUIVARIANT, "anchor": "angles"}),
        Variant("equi+torsions", "equivariant, moves from the anchor of bonds, angles and stiff torsions",
                {**EQUIVARIANT, "anchor": "torsions"}),
        Variant("equi+torsions,x2", "that, 2x the steps", {**EQUIVARIANT, "anchor": "torsions"}, steps_factor=2.0),
        Variant("equi+torsions,lr3e-3", "that, learning rate 3e-3 (the default is 1e-3)",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3}),
        Variant("equi+torsions,lr3e-3,ema0.995", "that, EMA decay 0.995 (the default is 0.999)",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "ema_decay": 0.995}),
        Variant("paper+torsions", "the paper network (edges + lambda) + the torsion anchor",
                {"architecture": "paper", "tau_sampling": "log_snr", "anchor": "torsions"}),
        Variant("paper+torsions,lr3e-3", "that, learning rate 3e-3",
                {"architecture": "paper", "tau_sampling": "log_snr", "anchor": "torsions", "lr": 3e-3}),
        Variant("equi+torsions,lr3e-3,signed", "equi+torsions,lr3e-3 + the signed rotatable torsions on their edges",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True}),
        Variant("equi+torsions,lr3e-3,turns", "that + the torsion head (one scalar per torsion turns its bond's side)",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True}),
        Variant("equi+torsions,lr3e-3,turns,tau", "that, tau drawn uniformly (more draws at mid noise)",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform"}),
        Variant("equi+torsions,lr3e-3,tau", "equi+torsions,lr3e-3 with tau drawn uniformly",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "tau_sampling": "uniform"}),
        Variant("equi+torsions,lr3e-3,turns,tau,slow", "turns,tau trained to the next frames' slow parts",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform", "slow_targets": True}),
        Variant("equi+torsions,lr3e-3,turns,tau,residual", "turns,tau with the residual weighed evenly over tau",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform", "loss_weighting": "residual"}),
        Variant("equi+torsions,lr3e-3,turns,residual", "turns (tau uniform in lambda), residual weighed evenly",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "loss_weighting": "residual"}),
        Variant("equi+torsions,lr3e-3,turns,tau,residual,cin", "that + the network reads the skip's estimate of b z",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform", "loss_weighting": "residual", "input_scaling": True}),
        Variant("equi+torsions,lr3e-3,turns,tau,cin", "turns,tau + the network reads the skip's estimate of b z",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform", "input_scaling": True}),
        Variant("equi+torsions,lr3e-3,turns,tau,mean", "turns,tau + a mean move of the torsions in the skip",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform", "mean_head": True}),
        Variant("equi+torsions,lr3e-3,turns,tau,residual,cin,mean", "residual,cin + the mean move in the skip",
                {**EQUIVARIANT, "anchor": "torsions", "lr": 3e-3, "torsion_features": True, "torsion_head": True,
                 "tau_sampling": "uniform", "loss_weighting": "residual", "input_scaling": True, "mean_head": True}),
        Variant("equi+torsions,lr3e-3,turns,tau,residual,cin,whole", "residual,cin + a whole turn about each torsion",
                WHOLE),
        Variant("equi+torsions,lr3e-3,turns,tau,residual,cin,whole,x2", "that, 2x the steps", WHOLE, steps_factor=2.0),
        Variant("equi+torsions,lr3e-3,turns,tau,residual,cin,whole,cos", "that, the rate falling to 0 on a cosine",
                {**WHOLE, "lr_schedule": "cosine"}),
    ]
}  # fmt: skip


#: every variant starts from TrainConfig's own recipe, not from the config's, and then changes its own keys
BASE_RECIPE = {
    "tau_sampling": "uniform",
    "input_noise": 0.0,
    "architecture": "equivariant",
    "position_scale": None,
    "anchor": "none",
    "lr": TrainConfig.lr,
    "ema_decay": TrainConfig.ema_decay,
    "torsion_features": False,
    "torsion_head": False,
    "slow_targets": False,
    "loss_weighting": "noise",
    "input_scaling": False,
    "mean_head": False,
    "whole_turn": False,
    "lr_schedule": "constant",
}


def variant_config(cfg: Config, variant: Variant, steps: int, compile: bool = False) -> TrainConfig:
    """The config's network and optimiser, validated once at the end, on the CPU, with the variant's recipe."""
    base = train_config(cfg, steps)
    return dataclasses.replace(base, validate_every=steps, device="cpu", compile=compile,
                               **{**BASE_RECIPE, **variant.train})  # fmt: skip


def variant_dir(run: Path, variant: Variant, steps: int) -> Path:
    return run / "bench" / "fidelity" / f"{variant.name}-{steps}"


def train_variant(args: tuple[Path, Path, str, int, bool]) -> float:
    """Train one variant (or find it trained); returns the wall seconds of training."""
    config, run, name, base_steps, compile = args
    torch.set_num_threads(1)
    cfg, variant = load_config(config), VARIANTS[name]
    steps = round(base_steps * variant.steps_factor)
    out = variant_dir(run, variant, steps)
    timing = out / "train_s.txt"
    if (out / "model.pt").is_file() and timing.is_file():
        return float(timing.read_text())
    data = Layout(run).dataset
    tc = variant_config(cfg, variant, steps, compile)
    train_data = PairData(data, "train", tc.anchor, tc.slow_targets)
    if variant.fraction < 1:
        train_data = train_data.prefix(variant.fraction)
    schedule = VPSchedule(**cfg.diffusion.schedule_keys())
    t0 = time.perf_counter()
    train(tc, train_data, PairData(data, "val", tc.anchor, tc.slow_targets), out / "work", out / "model.pt",
          out / "metrics.csv", schedule, progress=False)  # fmt: skip
    wall = time.perf_counter() - t0
    timing.write_text(f"{wall:.1f}")
    return wall


def bond_sd(mol: ResolvedMolecule, pos: np.ndarray) -> dict[str, float]:
    """Standard deviation of each bond class's lengths over structures pos [M, N, 3]."""
    return {f"sd {k}": float(np.std(v)) for k, v in observe(mol, pos, 1.0).bonds.items()}


def centroid_free_rms(z: np.ndarray) -> float:
    """Root-mean-square displacement per atom of z [M, N, 3] with each structure's centroid removed."""
    return float(np.sqrt(((z - z.mean(axis=1, keepdims=True)) ** 2).sum(-1).mean()))


def held_out_frames(data: Path, n_atoms: int, moves: int) -> tuple[np.ndarray, np.ndarray]:
    """``moves`` validation pairs, evenly spaced: structures r [M, N, 3] and MD's next frames [M, N, 3]."""
    val = PairData(data, "val")
    index = torch.linspace(0, len(val) - 1, min(moves, len(val))).round().long()
    b = val.batch(index)
    r = b.r.reshape(-1, n_atoms, 3).double().numpy()
    return r, r + b.z.reshape(-1, n_atoms, 3).double().numpy()


def evaluate_variant(cfg: Config, run: Path, molecule: str, model: Path, r: np.ndarray, ns: float,
                     md_obs: Observed, replicas: int = 1) -> dict[str, object]:  # fmt: skip
    """Single moves from held-out frames r [M, N, 3] and one rollout with resampling."""
    md_dir = Layout(run).md(molecule)
    production = md_dir / "production.h5"
    reference = read_trajectory(production)
    system = RolloutSystem.load(cfg, molecule, model, reference, production, md_dir / "topology")
    constraints = HBondConstraints(system.molecule.top, reference.pos[0])
    sampler, mol = system.sampler, system.molecule
    keys = replica_keys(derive_seed(cfg.seed, "fidelity"), range(len(r)))
    noise = counter_normal(keys, 1, torch.zeros(len(r), dtype=torch.int64), 3 * sampler.n_atoms * sampler.noise_draws,
                           sampler.dtype)  # fmt: skip
    rt = torch.as_tensor(r, dtype=sampler.dtype)
    prop = constraints.apply(rt + sampler.sample(rt, noise.view(len(r), -1, 3))).double().numpy()
    row: dict[str, object] = {"pass": float(mol.check(prop, cfg.rollout.peptide_bonds).ok.mean())}
    row |= bond_sd(mol, prop)
    row["rms"] = centroid_free_rms(prop - r)
    start = np.repeat(reference.pos[cfg.rollout.production.start_frame][None], replicas, axis=0)
    for rollback, suffix in ((0, ""), (ROLLBACK, f", rollback {ROLLBACK}")):
        if rollback and row["stopped at"] == "-":
            break  # it finished without going back: the same run
        out = rollout(cfg, system, molecule, start, ns, rollback, model.parent / f"rollout-{ns:g}ns", md_obs)
        row[f"rejected{suffix}"] = out["rejected"]
        row[f"stopped at{suffix}"] = out["stopped at"]
        if rollback:
            row["rollbacks"] = out["rollbacks"]
        row |= {k: v for k, v in out.items() if k not in ("rejected", "stopped at", "rollbacks")}  # its quality
    return row


class OutOfBudget(Exception):
    """A rollout drew more proposals than its budget."""


class Budgeted:
    """A sampler that raises :class:`OutOfBudget` after ``budget`` proposals (a model that rejects most
    of its moves would otherwise resample for hours)."""

    def __init__(self, inner, budget: int) -> None:
        self.inner, self.budget, self.drawn = inner, budget, 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        self.drawn += len(r)
        if self.drawn > self.budget:
            raise OutOfBudget
        return self.inner.sample(r, noise)


def rollout(cfg: Config, system: RolloutSystem, molecule: str, start: np.ndarray, ns: float, rollback: int,
            workdir: Path, md_obs: Observed) -> dict[str, object]:  # fmt: skip
    """An ``ns`` rollout with resampling from start [R, N, 3]: the fraction of proposals rejected, the step
    at which it stopped (``-`` when it finished), its rollbacks and, when it finished, its :func:`quality`."""
    roll, mol = cfg.override(rollout={"resample": True, "rollback_frames": rollback}), system.molecule
    steps = system.steps(1000.0 * ns)
    settings = dataclasses.replace(system.settings(roll, steps, derive_seed(cfg.seed, "fidelity-rollout")),
                                   checkpoint_every=steps + 1)  # fmt: skip
    out: dict[str, object] = {"stopped at": "-"}
    sampler = Budgeted(system.sampler, round(BUDGET * steps * len(start)))
    try:
        result = Rollout(sampler, mol, settings, workdir, HBondConstraints(mol.top, start[0])).run(start, False)
        rejections, done, out["rollbacks"] = int(result.rejections.sum()), steps, int(result.rollbacks.sum())
        obs = {REFERENCE: md_obs, "SD": observe(mol, result.pos.reshape(-1, *start.shape[1:]), system.lag_ps)}
        out |= quality(molecule, mol, obs, cfg.md.constraints)
    except (CheckError, OutOfBudget) as exc:
        state = RolloutState.load(workdir / "state.json")
        rejections, done = int(sum(state.rejections)), state.steps_done
        out["stopped at"] = f"{done + 1}{' (budget)' if isinstance(exc, OutOfBudget) else ''}"
        out["rollbacks"] = int(sum(state.rollbacks or []))
    finally:
        for f in workdir.glob("*"):
            f.unlink()
        workdir.rmdir()
    out["rejected"] = rejections / max(done * len(start) + rejections, 1)
    return out


def quality(molecule: str, mol: ResolvedMolecule, obs: dict[str, Observed], constraints: str) -> dict[str, object]:
    """phi/psi JSD, the worst bond/angle JSD over its floor and the state populations of ``obs["SD"]``
    against ``obs[REFERENCE]`` (only the populations when there is no SD)."""
    out: dict[str, object] = {}
    if "SD" in obs:
        eq = equilibrium_rows(molecule, obs, constraints).set_index(["observable", "method", "statistic"]).value
        phi, psi = list(mol.molecule.dihedrals)[:2]
        out["jsd"] = float(eq[f"{phi}/{psi}", f"SD vs {REFERENCE}", "jsd_nats"])
        out["jsd/floor"] = out["jsd"] / float(eq[f"{phi}/{psi}", f"{REFERENCE} split-half", "jsd_nats"])
        classes = [name for name in eq.index.get_level_values(0).unique() if name.startswith(("bond ", "angle "))
                   and (name, f"SD vs {REFERENCE}", "jsd_nats") in eq.index]  # unconstrained ones  # fmt: skip
        ratios = {name.split(" ", 1)[1]: float(eq[name, f"SD vs {REFERENCE}", "jsd_nats"])
                  / float(eq[name, f"{REFERENCE} split-half", "jsd_nats"]) for name in classes}  # fmt: skip
        worst = max(ratios, key=ratios.get)
        out["geometry"] = f"{ratios[worst]:.3g} ({worst})"
    phi = next(iter(mol.molecule.dihedrals))
    out[f"{phi}>0"] = float((obs["SD" if "SD" in obs else REFERENCE].dihedrals[phi] > 0).mean())
    pops = kinetics_rows(molecule, obs, n_boot=10)[0]
    pops = pops[pops.observable.str.startswith("population ")]
    method = "SD" if "SD" in obs else REFERENCE
    for _, row in pops[pops.method == method].iterrows():
        out[f"pop {row.observable.split(' ', 1)[1]}"] = float(row.value)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("results/demo"), help="a run with a packed dataset and MD")
    ap.add_argument("--config", type=Path, default=Path("config.yaml"), help="the config that made --run")
    ap.add_argument("--molecule", default="alanine-dipeptide")
    ap.add_argument("--steps", type=int, default=2000, help="training steps of a variant (times its factor)")
    ap.add_argument("--variants", nargs="*", choices=list(VARIANTS), help="rows, in order (default: all)")
    ap.add_argument("--jobs", type=int, default=2, help="variants trained at once, one thread each")
    ap.add_argument("--moves", type=int, default=200, help="held-out frames for single moves")
    ap.add_argument("--ns", type=float, default=1.0, help="ns of each variant's rollout")
    ap.add_argument("--replicas", type=int, default=1, help="replicas of each variant's rollout")
    ap.add_argument(
        "--models",
        nargs="*",
        default=[],
        metavar="LABEL=PATH",
        help="also evaluate these trained model.pt files (a metrics.csv beside one gives its losses)",
    )
    ap.add_argument("--fast", nargs="*", choices=["model", "redraw"], default=["model"],
                    help="rollout.fast_coordinates settings to evaluate each anchored model under")  # fmt: skip
    ap.add_argument("--compile", action="store_true",
                    help="train through torch.compile (the same math, about 1.5x faster; a rerun reuses the "
                         "models trained either way)")  # fmt: skip
    ap.add_argument("--out", type=Path, help="also write the table as CSV here")
    args = ap.parse_args()
    names = args.variants or list(VARIANTS)
    data = Layout(args.run).dataset
    production = Layout(args.run).md_production(args.molecule)
    for need in (data, production):
        if not need.is_file():
            raise SystemExit(f"{need}: missing; run `snakemake --cores 2 {data}` first")
    cfg = load_config(args.config).override(rollout={"device": "cpu", "compile": False})
    jobs = [(args.config, args.run, n, args.steps, args.compile) for n in names]
    # the longest trainings first, so that the workers finish together
    order = sorted(range(len(jobs)), key=lambda k: -VARIANTS[names[k]].steps_factor)
    with mp.get_context("spawn").Pool(max(1, args.jobs)) as pool:
        walls = dict(zip(order, pool.map(train_variant, [jobs[k] for k in order], chunksize=1), strict=True))
    torch.set_num_threads(max(1, args.jobs))

    reference = read_trajectory(production)
    mol = resolve_molecule(cfg.molecule(args.molecule), production.parent / "topology")
    md_obs = observe(mol, reference.pos, reference.timestep)
    r, md_next = held_out_frames(data, reference.n_atoms, args.moves)
    split = equilibrium_rows(args.molecule, {REFERENCE: md_obs}).set_index(["observable", "method", "statistic"])
    phi, psi = list(mol.molecule.dihedrals)[:2]
    floor = float(split.value[f"{phi}/{psi}", "MD split-half", "jsd_nats"])
    peptide = cfg.rollout.peptide_bonds
    rows = [{"variant": "MD", "steps": "", "pass": float(mol.check(md_next, peptide).ok.mean()),
             **bond_sd(mol, md_next), "rms": centroid_free_rms(md_next - r), "jsd": floor,
             **quality(args.molecule, mol, {REFERENCE: md_obs}, cfg.md.constraints)}]  # fmt: skip
    evaluated = [(name, variant_dir(args.run, VARIANTS[name], round(args.steps * VARIANTS[name].steps_factor))
                  / "model.pt", walls[k]) for k, name in enumerate(names)]  # fmt: skip
    for spec in args.models:
        label, _, path = spec.partition("=")
        if not Path(path).is_file():
            raise SystemExit(f"--models {spec}: no such model file; write it as LABEL=PATH")
        evaluated.append((label, Path(path), float("nan")))
    anchored = {model: load_model(model)[1].anchor is not None for _, model, _ in evaluated}
    runs = [(name, model, wall, fast) for name, model, wall in evaluated for fast in args.fast]
    for name, model, wall, fast in runs:
        if fast != args.fast[0] and not anchored[model]:
            continue  # the same rollout
        label = f"{name} [{fast}]" if anchored[model] and len(args.fast) > 1 else name
        row: dict[str, object] = {"variant": label, "steps": ""}
        if (model.parent / "metrics.csv").is_file():
            metrics = pd.read_csv(model.parent / "metrics.csv").iloc[-1]
            row["steps"] = int(metrics["step"])
            row |= {c.replace("val_loss_tau_", "loss "): float(metrics[c]) for c in metrics.index
                    if c.startswith("val_loss_tau_")}  # fmt: skip
        row |= evaluate_variant(cfg.override(rollout={"fast_coordinates": fast}), args.run, args.molecule, model, r,
                                args.ns, md_obs, args.replicas)  # fmt: skip
        row["train s"] = wall
        rows.append(row)
        print(f"{label}: " + ", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in row.items()
                                      if k != "variant"), flush=True)  # fmt: skip
    table = pd.DataFrame(rows)
    first = ["variant", "steps", *[c for c in table.columns if c.startswith("loss ")], "pass"]
    last = [
        "rms",
        "rejected",
        "stopped at",
        f"rejected, rollback {ROLLBACK}",
        f"stopped at, rollback {ROLLBACK}",
        "rollbacks",
        "jsd",
        "jsd/floor",
        "geometry",
        *[c for c in table.columns if c.startswith("pop ") or c.endswith(">0")],
        "train s",
    ]
    last = [c for c in last if c in table.columns]
    table = table[first + [c for c in table.columns if c not in first + last] + last]
    print(f"\n{len(r)} held-out moves, {args.replicas} x {args.ns:g} ns rollouts with resampling; "
          f"MD row: MD's own next frames, JSD = MD split-half floor; one CPU thread per training")  # fmt: skip
    for name in names:
        print(f"  {name}: {VARIANTS[name].what}")
    for spec in args.models:
        print(f"  {spec.partition('=')[0]}: {spec.partition('=')[2]}")
    with pd.option_context("display.width", 250, "display.max_columns", 40, "display.float_format", "{:.4g}".format):
        print(table.to_string(index=False))
    if args.out:
        table.to_csv(args.out, index=False)


if __name__ == "__main__":
    main()
