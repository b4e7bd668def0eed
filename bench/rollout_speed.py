"""SD rollout speed: simulated ps per wall second on alanine dipeptide, all in one run.

For the demo's trained model and a paper-width network (width 200, 5 blocks; random
weights with the same vocabulary; speed does not depend on the weights), at 1, 64 and
1024 replicas, with the paper's solver (DPM-Solver-3, 20 steps = 60 network
evaluations) and DPM-Solver++(2M) with 10 steps. Each cell runs the real rollout loop
(batched graph, solver, checks, resampling, checkpoint files) for at least --budget
seconds. Where one SD step would take longer than the budget (large batches of the
wide network on a CPU) the cell is estimated as the number of network evaluations
times the measured cost of a rollout step with one evaluation, and marked "est".
Checks run on every move but nothing is resampled, so the figures are
the cost of one accepted step (a rejection costs one more sample of that replica).

    .venv/bin/python bench/rollout_speed.py [--model results/demo/model/model.pt] [--budget 10]

Runs on CUDA when present (add --device cpu to force the CPU).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import torch

from scoredyn.devices import pick_device
from scoredyn.diffusion.solver import SolverConfig
from scoredyn.md.topology import read_solute_topology
from scoredyn.model.checkpoint import load_model
from scoredyn.model.network import NetworkConfig, ScoreNetwork
from scoredyn.molecules import load_molecule
from scoredyn.rollout.engine import Rollout, RolloutSettings
from scoredyn.rollout.sampler import DisplacementSampler
from scoredyn.trajectory import read_trajectory

SOLVERS = [SolverConfig("dpm3", 20), SolverConfig("dpmpp2m", 10)]


def time_rollout(
    sampler, molecule, start: np.ndarray, replicas: int, budget: float, predicted: float
) -> tuple[float, int]:
    """Seconds per SD step of the real rollout loop, and the steps timed."""
    steps = int(max(2, min(200, budget / max(predicted, 1e-6))))
    with tempfile.TemporaryDirectory() as tmp:
        warm = Rollout(sampler, molecule, RolloutSettings(1, seed=1, resample=False), Path(tmp) / "warm")
        warm.run(np.repeat(start[None], replicas, 0), progress=False)
        settings = RolloutSettings(steps, seed=2, checkpoint_every=100, resample=False)
        roll = Rollout(sampler, molecule, settings, Path(tmp) / "run")
        result = roll.run(np.repeat(start[None], replicas, 0), progress=False)
    return result.wall_s / steps, steps


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path, default=Path("results/demo/model/model.pt"))
    ap.add_argument("--md", type=Path, default=Path("results/demo/md/alanine-dipeptide"))
    ap.add_argument("--replicas", type=int, nargs="+", default=[1, 64, 1024])
    ap.add_argument("--budget", type=float, default=10.0, help="seconds to time each cell for")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    for need in (args.model, args.md / "production.h5"):
        if not need.is_file():
            raise SystemExit(f"{need}: missing; run `snakemake --cores 2 {need}` first")
    device = pick_device(args.device)
    demo, meta = load_model(args.model, device)
    molecule = load_molecule("alanine-dipeptide").resolve(read_solute_topology(args.md / "topology" / "topol.top"))
    start = read_trajectory(args.md / "production.h5", slice(0, 1)).pos[0]
    vocab = list(meta["vocabulary"])
    types = torch.tensor([vocab.index(t) for t in molecule.top.types])
    torch.manual_seed(0)
    paper = ScoreNetwork(NetworkConfig(len(vocab), 200, 5, meta["network"]["cutoff"])).to(device).eval()
    lag = float(meta["lag_ps"])
    print(f"device {device}, {torch.get_num_threads()} CPU threads, lag {lag} ps, {len(start)} atoms, float32")
    head = f"{'model':22s} {'solver':12s} {'NFE':>4s} {'replicas':>8s} {'s/step':>9s} {'ps/s/replica':>13s}"
    print(head + f" {'ps/s all':>10s} {'us/day all':>11s} {'vs 1 replica':>13s}")
    for label, net in (("demo (w64, 3 blocks)", demo), ("paper (w200, 5 blocks)", paper)):
        for solver in SOLVERS:
            single = None
            for replicas in args.replicas:
                probe = DisplacementSampler(net, meta["schedule"], SolverConfig("dpmpp2m", 1), types, device)
                predicted = solver.evaluations * time_rollout(probe, molecule, start, replicas, 0.0, 1.0)[0]
                sampler = DisplacementSampler(net, meta["schedule"], solver, types, device)
                if predicted <= args.budget:
                    per_step, _ = time_rollout(sampler, molecule, start, replicas, args.budget, predicted)
                    note = ""
                else:
                    per_step, note = predicted, " est"
                per_replica = lag / per_step
                single = single or per_replica
                print(f"{label:22s} {solver.label():12s} {solver.evaluations:4d} {replicas:8d} {per_step:9.4f} "
                      f"{per_replica:13.2f} {per_replica * replicas:10.1f} {per_replica * replicas * 0.0864:11.2f} "
                      f"{per_replica * replicas / single:12.1f}x{note}")  # fmt: skip


if __name__ == "__main__":
    main()
