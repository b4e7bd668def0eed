"""Whether a model has learned the drift of a dihedral: E[dphi | phi] of single moves against MD's.

From MD production frames one model lag apart (1 ps in the demo), each model draws one SD
move per frame (the config's solver and the ``--fast`` coordinates), and the table gives, for the first dihedral of the
molecule (phi), the least-squares slope of the change over one move against its start
value, their correlation and the change's standard deviation:

- ``MD``: the production's own next frames (the target);
- ``<model> mean``: the model's mean move, its data prediction at tau_max
  (:meth:`~scoredyn.rollout.sampler.DisplacementSampler.mean_move`), which is what the
  network has learned of the drift at high noise;
- ``<model> sampled``: the moves the rollout draws. A model whose score were exact at every
  noise level would sample moves with its mean's slope; a gap between the two rows is drift
  lost between high and low noise.

A slope of 0 is a model that does not pull phi back into its basin at all; SD then wanders
into phi > 0, where MD rarely goes. ``within sd deg`` is the spread of the moves that stay
in their basin and ``crossing %`` the share that change phi by more than 60 degrees: a
kernel too wide in either flattens the free-energy profile and shortens the first passages.
``off-manifold A`` is how far the moves' end structures sit from their own bond lengths and
angles (MD's next frames: their thermal vibration). Run with ``--fast model`` it measures
the network's own output; noise left there is the extra width of a redrawn move's torsions.

    .venv/bin/python bench/drift.py LABEL=results/demo/model/model.pt ...
        [--run results/demo] [--config config.yaml] [--fast redraw]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from scoredyn.config import load_config
from scoredyn.layout import Layout
from scoredyn.rollout.system import RolloutSystem
from scoredyn.trajectory import read_trajectory


def wrapped(d: np.ndarray) -> np.ndarray:
    """Angle differences in degrees, wrapped onto [-180, 180)."""
    return (d + 180.0) % 360.0 - 180.0


#: a change of phi over one move beyond this (degrees) is a crossing into another basin
CROSSING_DEG = 60.0


def drift_row(label: str, start: np.ndarray, change: np.ndarray, off: float = np.nan) -> dict[str, object]:
    """Slope and correlation of change [M] against start [M] (degrees), the change's sd, its sd
    within a basin, the share of moves that cross into another, and ``off``, the moves' rms
    distance (A per atom) from their own fast-coordinate projection."""
    within = np.abs(change) < CROSSING_DEG
    return {"moves": label, "slope": float(np.polyfit(start, change, 1)[0]),
            "corr": float(np.corrcoef(start, change)[0, 1]), "sd deg": float(change.std()),
            "within sd deg": float(change[within].std()), "crossing %": 100 * float(np.mean(~within)),
            "off-manifold A": off}  # fmt: skip


def off_manifold(system: RolloutSystem, pos: torch.Tensor) -> float:
    """The rms atom distance (A) of structures pos [M, N, 3] from their projection onto the
    anchor's mean bond lengths and angles with their torsions held: how far the network's
    output sits from a molecule's geometry (with ``--fast model``), the noise that a redraw
    takes out of the bonds but keeps in each held torsion. NaN for a model without anchors."""
    anchor = system.sampler.anchor
    if anchor is None:
        return float("nan")
    x = pos.double()
    return float(((x - anchor.apply(x, hold=True)) ** 2).sum(-1).mean().sqrt())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("models", nargs="+", metavar="LABEL=PATH", help="trained model.pt files")
    ap.add_argument("--run", type=Path, default=Path("results/demo"), help="a run with the MD production")
    ap.add_argument("--config", type=Path, default=Path("config.yaml"), help="the config that made --run")
    ap.add_argument("--molecule", default="alanine-dipeptide")
    ap.add_argument("--fast", choices=["model", "redraw"], default="redraw", help="rollout.fast_coordinates")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    cfg = load_config(args.config).override(rollout={"device": "cpu", "compile": False, "fast_coordinates": args.fast})
    md = Layout(args.run).md(args.molecule)
    production = md / "production.h5"
    if not production.is_file():
        raise SystemExit(f"{production}: missing; run the workflow's MD first")
    reference = read_trajectory(production)
    rows, lag = [], None
    for spec in args.models:
        label, _, path = spec.partition("=")
        if not Path(path).is_file():
            raise SystemExit(f"{spec}: no such model file; write it as LABEL=PATH")
        system = RolloutSystem.load(cfg, args.molecule, Path(path), reference, production, md / "topology")
        sampler, mol = system.sampler, system.molecule
        stride = max(1, round(system.lag_ps / reference.timestep))
        r, nxt = reference.pos[:-stride:stride], reference.pos[stride::stride]
        phi = next(iter(mol.dihedral_atoms))
        start = mol.dihedral_values(r)[phi]
        if lag is None:
            lag = system.lag_ps
            off = off_manifold(system, torch.as_tensor(nxt))
            rows.append(drift_row("MD", start, wrapped(mol.dihedral_values(nxt)[phi] - start), off))
        rt = torch.as_tensor(r, dtype=sampler.dtype)
        gen = torch.Generator().manual_seed(args.seed)
        noise = torch.randn(len(r), sampler.n_atoms * sampler.noise_draws, 3, generator=gen, dtype=sampler.dtype)
        for what, move in (("mean", sampler.mean_move(rt)), ("sampled", sampler.sample(rt, noise))):
            pos = rt + move
            change = wrapped(mol.dihedral_values(pos.double().numpy())[phi] - start)
            rows.append(drift_row(f"{label} {what}", start, change, off_manifold(system, pos)))
    print(f"{phi} over one {lag:g} ps move from {len(start)} MD production frames ({args.fast} fast coordinates)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda x: f"{x:.3f}"))


if __name__ == "__main__":
    main()
