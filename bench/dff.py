"""SD against the denoising force-field (DFF) baseline on this machine, in one run.

For the trained models of ``--run`` (SD's ``model/model.pt`` and the DFF's
``dff/model.pt``), one trajectory of ``--ns`` from the workflow's production start and
seed, on one CPU thread, with the config's rollout settings:

- SD with the config's solver;
- the DFF's Brownian dynamics with the config's timestep, at each friction of ``--zeta``
  (amu/ps; the config's own when not given). Friction sets the DFF's time scale, which
  its training does not fix, so the scan shows how its kinetics move with it.

For each: network evaluations per simulated ps, ns/day, the phi/psi JSD against the MD
production (the workflow's metric; MD's split-half floor printed below), the MFPT
ratio to MD of each transition with the number of passages, and moves violating the
checks per 100k steps.

    .venv/bin/python bench/dff.py [--run results/demo] [--config config.yaml] [--ns 0.25] [--zeta 2500 5000]

It needs a finished demo run (``make run``) with ``dff.enabled``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

from scoredyn.config import load_config
from scoredyn.evaluation.metrics import REFERENCE, equilibrium_rows, kinetics_rows
from scoredyn.evaluation.observe import observe
from scoredyn.layout import Layout
from scoredyn.rollout.system import RolloutSystem, run_rollout
from scoredyn.seeding import derive_seed
from scoredyn.trajectory import read_trajectory


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--run", type=Path, default=Path("results/demo"), help="a finished workflow run")
    ap.add_argument("--config", type=Path, default=Path("config.yaml"), help="the config that made --run")
    ap.add_argument("--molecule", default="alanine-dipeptide")
    ap.add_argument("--ns", type=float, default=0.25, help="ns of each trajectory")
    ap.add_argument("--zeta", type=float, nargs="*", help="DFF frictions to scan (amu/ps)")
    args = ap.parse_args()
    md_dir = Layout(args.run).md(args.molecule)
    production, topdir = md_dir / "production.h5", md_dir / "topology"
    models = {"sd": Layout(args.run).model("sd"), "dff": Layout(args.run).model("dff")}
    for need in (production, *models.values()):
        if not need.is_file():
            raise SystemExit(f"{need}: missing; run `make run` (or snakemake on {args.config}) with dff.enabled first")
    cfg = load_config(args.config).override(rollout={"device": "cpu"})
    reference = read_trajectory(production)
    start = reference.pos[cfg.rollout.production.start_frame][None]
    torch.set_num_threads(1)

    runs = [("sd", cfg, "SD " + cfg.rollout.solver.label())]
    for zeta in args.zeta or [cfg.dff.friction_amu_per_ps]:
        runs.append(("dff", cfg.override(dff={"friction_amu_per_ps": zeta}), f"DFF zeta={zeta:g}"))
    md_obs, rows = None, []
    for method, run_cfg, label in runs:
        if method == "dff":
            a = run_cfg.dff_stability()
            label += f" (D dt/s^2 {a:.2f})"
        system = RolloutSystem.load(run_cfg, args.molecule, models[method], reference, production, topdir, method)
        md_obs = md_obs or observe(system.molecule, reference.pos, reference.timestep)
        seed = derive_seed(run_cfg.rollout.seed, args.molecule, f"{method}_production")
        with tempfile.TemporaryDirectory() as tmp:
            result = run_rollout(system, run_cfg, start, 1000.0 * args.ns, seed, Path(tmp) / method, False)
        obs = {REFERENCE: md_obs, system.name: observe(system.molecule, result.pos[0], system.lag_ps)}
        eq = equilibrium_rows(args.molecule, obs).set_index(["observable", "method", "statistic"]).value
        kin = kinetics_rows(args.molecule, obs, n_boot=200)[0].set_index(["observable", "method", "statistic"]).value
        mfpt = [
            f"{obs_name[4:]} {kin[obs_name, f'{system.name}/{REFERENCE}', 'mfpt_ratio']:.2f} "
            f"({kin[obs_name, system.name, 'n']:.0f})"
            for obs_name in dict.fromkeys(o for o, m, s in kin.index if s == "mfpt_ratio")
        ]
        speed = result.speed(system.lag_ps)
        steps = max(result.pos.shape[1] - 1, 1)
        per_ps = result.evaluations / steps / system.lag_ps
        violations = 1e5 * float(result.violations.sum()) / steps
        jsd = eq["phi/psi", f"{system.name} vs {REFERENCE}", "jsd_nats"]
        rows.append((label, per_ps, speed["ns_per_day"], jsd, "; ".join(mfpt), violations))
    floor = equilibrium_rows(args.molecule, {REFERENCE: md_obs}).query("observable == 'phi/psi'")["value"].iloc[0]
    md_kin = kinetics_rows(args.molecule, {REFERENCE: md_obs}, n_boot=200)[0]
    md_n = md_kin[md_kin.statistic == "n"].set_index("observable").value
    print(f"# {args.ns:g} ns each from production frame, 1 thread, {args.run}")
    print(f"{'method':36s} {'evals/ps':>9s} {'ns/day':>8s} {'JSD phi/psi':>12s} {'viol/100k':>10s}  MFPT/MD (passages)")
    for label, per_ps, ns_day, jsd, mfpt, viol in rows:
        print(f"{label:36s} {per_ps:9.0f} {ns_day:8.0f} {jsd:12.3f} {viol:10.0f}  {mfpt}")
    md_passages = ", ".join(f"{k[4:]} {v:.0f}" for k, v in md_n.items())
    print(f"(MD: split-half phi/psi JSD floor {floor:.3f}; passages {md_passages} in {reference.n_frames - 1} frames)")


if __name__ == "__main__":
    main()
