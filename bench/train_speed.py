"""Training throughput of the score model: samples/s at minibatch 256 on alanine dipeptide.

Times forward + backward + RAdam + EMA steps for the paper's network (width 200,
5 blocks) and the demo's (width 64, 3 blocks), all in one run, and the share of each
step spent drawing the minibatch (data loading must stay under 5%).

    .venv/bin/python bench/train_speed.py [--dataset results/demo/dataset/dataset.h5] [--steps 10]

Runs on CUDA when present (add --device cpu to force the CPU).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from scoredyn.data.loader import PairData
from scoredyn.devices import pick_device
from scoredyn.diffusion.loss import dsm_loss
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.model.network import NetworkConfig, create_model
from scoredyn.training import EMA

MODELS = {"paper (width 200, 5 blocks)": (200, 5), "demo (width 64, 3 blocks)": (64, 3)}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def train_throughput(
    data: PairData, width: int, blocks: int, batch: int, steps: int, device: torch.device
) -> tuple[float, float, int]:
    """Seconds per training step, the share of it spent drawing the minibatch, and the parameters."""
    torch.manual_seed(0)
    net = create_model(NetworkConfig(data.n_types, width, blocks), device=device)
    opt = torch.optim.RAdam(net.parameters(), lr=1e-3)
    ema = EMA(net, 0.999)
    gen = torch.Generator().manual_seed(0)
    noise = torch.Generator(device=device).manual_seed(1)
    schedule = VPSchedule()
    t_data = t_total = 0.0
    for step in range(steps + 2):
        sync(device)
        t0 = time.perf_counter()
        pairs = data.sample(batch, gen).to(device)
        sync(device)
        t1 = time.perf_counter()
        loss = dsm_loss(net, pairs, schedule, noise)[0].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        ema.update(net, step + 1)
        sync(device)
        t2 = time.perf_counter()
        if step >= 2:  # the first two steps allocate and warm up
            t_data += t1 - t0
            t_total += t2 - t0
    return t_total / steps, t_data / t_total, sum(p.numel() for p in net.parameters())


def load_pairs(path: Path, device: torch.device) -> PairData:
    if not path.is_file():
        raise SystemExit(f"{path}: no dataset; run `snakemake --cores 2 {path}` first")
    return PairData(path).to(device)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dataset", type=Path, default=Path("results/demo/dataset/dataset.h5"))
    ap.add_argument("--steps", type=int, default=10, help="timed steps per model (after 2 warm-up steps)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    device = pick_device(args.device)
    data = load_pairs(args.dataset, device)
    n_atoms = data.sample(1, torch.Generator().manual_seed(0)).r.shape[0]
    print(f"device {device}, minibatch {args.batch} x {n_atoms} atoms, {torch.get_num_threads()} CPU threads")
    print(f"{'model':30s} {'params':>9s} {'s/step':>8s} {'samples/s':>10s} {'data share':>11s}")
    for label, (width, blocks) in MODELS.items():
        per_step, share, n_params = train_throughput(data, width, blocks, args.batch, args.steps, device)
        print(f"{label:30s} {n_params:9,d} {per_step:8.3f} {args.batch / per_step:10.0f} {share:10.1%}")


if __name__ == "__main__":
    main()
