"""SD against GROMACS on this machine, all in one run: speed ratios and what speed costs in accuracy.

Prints one table in four parts, every number measured in this run:

1. MD: GROMACS NVT in the paper's box (about 3000 TIP4P waters, PME, 1.4 nm cut-off,
   h-bond constraints, 1 fs steps) on ``--md-threads`` cores; the baseline of every ratio.
2. Solver settings: for each setting, one SD trajectory of ``--sd-ns`` with the trained
   model of ``--run`` (the same start, seed and checks as the workflow's ``sd_production``),
   on one CPU thread: its network evaluations (NFE) per SD step, ns/day and ratio to MD
   at the model's lag, the ratio a 10 ps model would reach (an SD step costs the same
   whatever lag the model was trained for), the phi/psi JSD against the MD production
   (the workflow's own metric), that JSD relative to the baseline setting (the paper's
   DPM-Solver-3 with 20 steps, uncompiled), and the solver's own error: the RMS
   difference of one step's displacements from a converged solve (dpm3x50) with the same
   noise, on 256 MD frames, relative to the displacements' RMS; and its error on an exact
   Ornstein-Uhlenbeck kernel (:mod:`scoredyn.diffusion.kernel`), where the network's own error
   cannot hide it.
3. Ensembles: aggregate ns/day of one replica (on one thread and on all cores) and of
   ``--replicas`` replicas drawn together (chunks of 16 on one CPU thread), with the
   workflow's solver setting, for the trained model and for a paper-width network
   (width 200, 5 blocks, random weights: speed does not depend on the weights; its moves
   are discarded so that the graph keeps the real molecule's size). The paper-width
   network is timed on ``--paper-replicas``; on a CPU chunks run one after another,
   so the rate per replica is the same for any larger ensemble.
4. Training: samples/s at minibatch 256, and the share of a step spent loading data.

    .venv/bin/python bench/speed.py [--run results/demo] [--config config.yaml] [--sd-ns 1]

It needs a finished demo run (``make run``). Runs on CUDA when present for parts 3 and 4.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from md_speed import simd_level, solute_topology, solution_speed
from train_speed import MODELS, load_pairs, train_throughput

from scoredyn.config import load_config
from scoredyn.devices import pick_device
from scoredyn.diffusion.kernel import kernel_errors
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.evaluation.metrics import equilibrium_rows
from scoredyn.evaluation.observe import observe
from scoredyn.layout import Layout
from scoredyn.md.gmx import Gromacs
from scoredyn.model.checkpoint import load_model
from scoredyn.model.network import NetworkConfig, create_model
from scoredyn.rollout.engine import Rollout, RolloutSettings
from scoredyn.rollout.sampler import DisplacementSampler
from scoredyn.rollout.system import RolloutSystem, run_rollout
from scoredyn.seeding import derive_seed
from scoredyn.trajectory import read_trajectory

#: (solver, compiled); the first is the accuracy baseline
SETTINGS = [
    (SolverConfig("dpm3", 20), False),
    (SolverConfig("dpm3", 20), True),
    (SolverConfig("dpm3", 10), True),
    (SolverConfig("dpm2", 10), True),
    (SolverConfig("dpm3m", 20), True),
    (SolverConfig("dpm3m", 15), True),
    (SolverConfig("dpmpp2m", 20), True),
    (SolverConfig("dpmpp2m", 10), True),
    (SolverConfig("dpmpp2m", 5), True),
]
REFERENCE_SOLVER = SolverConfig("dpm3", 50)


class HeldSampler(DisplacementSampler):
    """Does all the work of a draw, then discards the move: the structure keeps its real graph."""

    def sample(self, r: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        return super().sample(r, noise) * 0.0


def time_steps(sampler: DisplacementSampler, system: RolloutSystem, start: np.ndarray, steps: int) -> float:
    """Wall seconds per SD step of ``len(start)`` replicas in the rollout engine, after a warm-up step."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, n in (("warm", 1), ("timed", steps)):
            settings = RolloutSettings(n, seed=1, resample=False, checkpoint_every=1000)
            result = Rollout(sampler, system.molecule, settings, Path(tmp) / name).run(start, progress=False)
    return result.wall_s / steps


def solver_error(system: RolloutSystem, frames: np.ndarray, solver: SolverConfig, compiled: bool) -> float:
    """RMS difference of displacements from the reference solve with the same noise, relative to their RMS."""
    net, sampler = system.sampler.net, system.sampler
    noise = torch.randn(frames.shape, generator=torch.Generator().manual_seed(7))
    r = torch.as_tensor(frames, dtype=torch.float32)

    def draw(s: SolverConfig, comp: bool) -> torch.Tensor:  # the network's own move: no redraw
        like = DisplacementSampler(net, sampler.schedule, s, sampler.types, compile=comp, anchor=sampler.anchor)
        return like.sample(r, noise)

    ref = draw(REFERENCE_SOLVER, False)
    return float((draw(solver, compiled) - ref).pow(2).mean().sqrt() / ref.pow(2).mean().sqrt())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("results/demo"), help="a finished workflow run")
    ap.add_argument("--config", type=Path, default=Path("config.yaml"), help="the config that made --run")
    ap.add_argument("--molecule", default="alanine-dipeptide")
    ap.add_argument("--sd-ns", type=float, default=1.0, help="ns of each solver setting's trajectory")
    ap.add_argument("--md-ps", type=float, default=5.0, help="ps of the timed GROMACS run")
    ap.add_argument("--md-threads", type=int, default=os.cpu_count(), help="GROMACS threads (all cores)")
    ap.add_argument("--replicas", type=int, default=1024)
    ap.add_argument("--paper-replicas", type=int, default=64)
    ap.add_argument("--train-steps", type=int, default=5)
    ap.add_argument("--device", default="auto", help="device of the ensemble and training parts")
    args = ap.parse_args()
    model, md_dir = Layout(args.run).model("sd"), Layout(args.run).md(args.molecule)
    production, topdir = md_dir / "production.h5", md_dir / "topology"
    for need in (model, production, Layout(args.run).dataset):
        if not need.is_file():
            raise SystemExit(f"{need}: missing; run `make run` (or snakemake on {args.config}) first")
    cfg = load_config(args.config)
    reference = read_trajectory(production)
    frame = cfg.rollout.production.start_frame
    start = reference.pos[frame][None]
    seed = derive_seed(cfg.rollout.seed, args.molecule, "sd_production")
    cores = os.cpu_count()

    # 1. MD baseline
    with tempfile.TemporaryDirectory() as tmp:
        gmx = Gromacs(cfg.gromacs.command, Path(tmp) / "gmx.log")
        top = solute_topology(gmx, args.molecule, Path(tmp) / "top")
        _, md = solution_speed(gmx, top, args.molecule, 3000, 1.4, args.md_ps, args.md_threads, Path(tmp) / "box")
        simd = simd_level(gmx)
    print(f"# {cores} cores, torch {torch.__version__}, GROMACS {gmx.path} (SIMD {simd})")
    print(f"MD  paper box (3000 TIP4P, PME, 1.4 nm, h-bonds, 1 fs), {args.md_threads} threads: {md:.2f} ns/day")

    # 2. solver settings on one thread: speed, JSD against MD, solver error
    torch.set_num_threads(1)
    md_obs = None
    frames = reference.pos[:: max(1, reference.n_frames // 256)][:256]
    rows, base_jsd = [], None
    net, meta = load_model(model, torch.device("cpu"), kind="sd")  # once, for every setting
    for solver, compiled in SETTINGS:
        run_cfg = cfg.with_solver(solver).override(rollout={"compile": compiled, "device": "cpu"})
        system = RolloutSystem(run_cfg, args.molecule, net, meta, reference, production, topdir)
        lag = system.lag_ps
        md_obs = md_obs or observe(system.molecule, reference.pos, reference.timestep)
        with tempfile.TemporaryDirectory() as tmp:
            if compiled:  # compile outside the timed rollout (the workflow pays it once per rollout)
                time_steps(system.sampler, system, start, 1)
            result = run_rollout(system, run_cfg, start, 1000.0 * args.sd_ns, seed, Path(tmp) / "sd", False)
        sd_obs = observe(system.molecule, result.pos[0], lag)
        jsd_rows = equilibrium_rows(args.molecule, {"MD": md_obs, "SD": sd_obs})
        jsd = float(jsd_rows.query("observable == 'phi/psi' and method == 'SD vs MD'")["value"].iloc[0])
        base_jsd = base_jsd or jsd
        ns_day = result.speed(lag)["ns_per_day"]
        error = solver_error(system, frames, solver, compiled)
        exact = max((e.variance_error for e in kernel_errors(solver, system.sampler.schedule)), key=abs)
        label = f"{solver.label()}{' compiled' if compiled else ''}"
        ratio10 = ns_day * 10 / lag / md
        rows.append((label, solver.evaluations, ns_day, ns_day / md, ratio10, jsd, jsd / base_jsd, error, exact))
    print(f"\nSD  one trajectory of {args.sd_ns:g} ns, {lag:g} ps steps, 1 thread, model {model}")
    print(f"{'setting':22s} {'NFE':>4s} {'ns/day':>9s} {'vs MD':>7s} {'10 ps vs MD':>12s} "
          f"{'JSD phi/psi':>12s} {'vs base':>8s} {'solver err':>11s} {'OU var err':>11s}")  # fmt: skip
    for label, nfe, ns_day, ratio, ratio10, jsd, rel, err, exact in rows:
        print(f"{label:22s} {nfe:4d} {ns_day:9.0f} {ratio:6.0f}x {ratio10:11.0f}x {jsd:12.3f} {rel:7.2f}x "
              f"{err:11.4f} {exact:+10.2%}")  # fmt: skip
    print("(OU var err: the variance of an Ornstein-Uhlenbeck move drawn with the exact noise prediction,")
    print(" the worst over displacements of 0.05-1.5 A, scoredyn.diffusion.kernel; a setting outside 1% is not exact)")
    floor = equilibrium_rows(args.molecule, {"MD": md_obs}).query("observable == 'phi/psi'")["value"].iloc[0]
    print(f"(MD split-half phi/psi JSD floor: {floor:.3f})")

    # 3. ensembles
    device = pick_device(args.device)
    system = RolloutSystem.load(cfg, args.molecule, model, reference, production, topdir)
    solver = cfg.rollout.solver
    vocab_size = system.sampler.net.cfg.n_types
    paper_net = create_model(NetworkConfig(vocab_size, 200, 5, system.sampler.net.cfg.cutoff)).eval()
    compiled = cfg.rollout.compile
    print(f"\nSD  ensembles on {device}, {solver.label()}"
          f"{' compiled' if compiled else ''}")  # fmt: skip
    print(f"{'network':26s} {'threads':>7s} {'replicas':>8s} {'s/step':>8s} {'ns/day all':>11s} "
          f"{'vs 1 replica':>13s} {'vs MD':>8s}")  # fmt: skip
    for label, net, many, cls in (
        ("trained model", system.sampler.net, args.replicas, DisplacementSampler),
        ("paper width (w200, 5 bl.)", paper_net, args.paper_replicas, HeldSampler),
    ):
        anchor = system.sampler.anchor if net is system.sampler.net else None  # the trained one reads torsions
        sampler = cls(net, system.sampler.schedule, solver, system.sampler.types, device, compile=compiled,
                      anchor=anchor, redraw=anchor is not None and system.sampler.redraw)  # fmt: skip
        single = None
        for threads, n_rep in ((1, 1), (cores, 1), (1, many)):
            torch.set_num_threads(threads)
            per_step = time_steps(sampler, system, np.repeat(start, n_rep, 0), 3 if n_rep == 1 else 1)
            aggregate = n_rep * system.lag_ps / per_step * 86.4
            single = single or aggregate
            print(f"{label:26s} {threads:7d} {n_rep:8d} {per_step:8.3f} {aggregate:11.0f} "
                  f"{aggregate / single:12.1f}x {aggregate / md:7.0f}x")  # fmt: skip
    torch.set_num_threads(1)

    # 4. training
    torch.set_num_threads(cores)
    data = load_pairs(Layout(args.run).dataset, device)
    print(f"\nTraining on {device}, minibatch 256, {torch.get_num_threads()} thread(s)")
    print(f"{'network':30s} {'params':>9s} {'s/step':>8s} {'samples/s':>10s} {'data share':>11s}")
    for label, (width, blocks) in MODELS.items():
        per_step, share, n_params = train_throughput(data, width, blocks, 256, args.train_steps, device)
        print(f"{label:30s} {n_params:9,d} {per_step:8.3f} {256 / per_step:10.0f} {share:10.1%}")


if __name__ == "__main__":
    main()
