"""``scoredyn <command>``: checks and inspection outside Snakemake.

Errors print one line naming the file or key and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from scoredyn.errors import ScoredynError
from scoredyn.layout import Layout

if TYPE_CHECKING:
    from scoredyn.config import Config


def _check_config(args: argparse.Namespace) -> None:
    from scoredyn.config import load_config, merge_configs

    alone = args.alone or args.config.resolve() == args.base.resolve()
    files = [args.config] if alone else [args.base, args.config]
    where = " + ".join(map(str, files))
    cfg = load_config(merge_configs(files), where=where)
    print(f"{where}: valid; run {cfg.run!r}, molecules {', '.join(cfg.molecules)}")


def _check_molecule(args: argparse.Namespace) -> None:
    from scoredyn.molecules import load_molecule

    mol = load_molecule(args.name, args.root)
    states = ", ".join(mol.states) or "none"
    print(f"{mol.path}: valid; topology {mol.topology['method']}, starts {mol.start_method}, states {states}")


def _info(args: argparse.Namespace) -> None:
    from scoredyn.trajectory import trajectory_info

    n_frames, n_atoms, attrs = trajectory_info(args.h5)
    dt = attrs.pop("timestep")
    span = max(n_frames - 1, 0) * dt
    print(f"{args.h5}: {n_frames} frames x {n_atoms} atoms, {dt:g} ps apart, spanning {span:g} ps")
    for k, v in sorted(attrs.items()):
        print(f"  {k}: {v}")


def _estimate(args: argparse.Namespace) -> None:
    from scoredyn.config import load_config, merge_configs
    from scoredyn.estimate import estimate, measure

    small = load_config(merge_configs([args.base, *args.small]))
    target = load_config(merge_configs([args.base, *args.config]))
    results = args.results or Layout.of_run(small.run).root
    rates = measure(small, results)
    if args.write_rates:
        rates.write(args.write_rates)
        print(f"{args.write_rates}: the rates of run {small.run!r} in {results}; give it as requests.rates")
    table = estimate(target, rates)
    print(f"estimated cost of run {target.run!r}, from the measured run {small.run!r} in {results}:")
    for r in table.itertuples():
        print(f"  {r.what:<22} {r.amount:>12,.1f} {r.unit:<28} ({r._4})")


def _config(args: argparse.Namespace) -> Config:
    """The rollout and evaluation settings: --config over --base; the molecules of a relative
    ``molecules.root`` missing here come from the source tree, as the workflow reads them."""
    from scoredyn.config import load_config, merge_configs, with_molecule_root
    from scoredyn.molecules import molecules_root

    raw = with_molecule_root(merge_configs([args.base, *args.config]), molecules_root().parents[1])
    return load_config(raw, check_molecules=False)


def _rollout(args: argparse.Namespace) -> None:
    from scoredyn.commands import rollout_files
    from scoredyn.logs import setup_logging

    setup_logging()
    out = rollout_files(_config(args), args.model, args.structure, args.topology, args.out, args.ns, args.replicas,
                        args.solver, args.molecule, args.threads)  # fmt: skip
    print(f"wrote {out} (and its .json summary) in {args.out}")


def _evaluate(args: argparse.Namespace) -> None:
    from scoredyn.commands import evaluate_files
    from scoredyn.logs import setup_logging

    setup_logging()
    learned = {"SD": args.sd} | ({"DFF": args.dff} if args.dff else {})
    table = evaluate_files(_config(args), args.md, learned, args.molecule, args.out, args.topology)
    print(f"wrote the figures and {table} in {args.out}")


def _config_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", type=Path, nargs="*", default=[],
                   help="config file(s) over --base for the rollout and evaluation settings")  # fmt: skip
    p.add_argument("--base", type=Path, default=Path("config.yaml"), help="the workflow's default config")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="scoredyn", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check-config", help="validate a workflow config, overlaid on --base as Snakemake does")
    c.add_argument("config", type=Path, nargs="?", default=Path("config.yaml"))
    c.add_argument("--base", type=Path, default=Path("config.yaml"), help="the workflow's default config")
    c.add_argument("--alone", action="store_true", help="validate the file by itself, not over --base")
    c.set_defaults(func=_check_config)
    m = sub.add_parser("check-molecule", help="validate resources/molecules/<name>/molecule.yaml")
    m.add_argument("name")
    m.add_argument("--root", type=Path, default=None, help="folder of molecule folders (default: resources/molecules)")
    m.set_defaults(func=_check_molecule)
    i = sub.add_parser("info", help="summarise an HDF5 trajectory")
    i.add_argument("h5", type=Path)
    i.set_defaults(func=_info)
    e = sub.add_parser("estimate", help="estimate the cost of a config from a small run that finished here")
    e.add_argument("config", type=Path, nargs="+", help="the run's config file(s), overlaid on --base")
    e.add_argument("--base", type=Path, default=Path("config.yaml"), help="the workflow's default config")
    e.add_argument("--small", type=Path, nargs="*", default=[],
                   help="the measured run's config file(s) over --base (default: none, i.e. the demo)")  # fmt: skip
    e.add_argument("--results", type=Path, default=None, help="its results folder (default: results/<run>)")
    e.add_argument("--write-rates", type=Path, default=None, metavar="FILE",
                   help="also write the measured rates to FILE, for requests.rates (the cluster requests)")  # fmt: skip
    e.set_defaults(func=_estimate)
    r = sub.add_parser("rollout", help="simulate a molecule with a trained model, outside Snakemake")
    r.add_argument("model", type=Path, help="model.pt of the train rule")
    r.add_argument("structure", type=Path, help="start structure, .gro or .pdb")
    top_help = "the molecule's GROMACS .top (its local .itp files beside it); the checks come from it"
    r.add_argument("--topology", type=Path, required=True, help=top_help)
    r.add_argument("--ns", type=float, required=True, help="simulated time per replica (ns)")
    r.add_argument("--replicas", type=int, default=1, help="1: a production trajectory; more: an ensemble")
    r.add_argument("--solver", default=None, help="e.g. dpm3x20 (default: rollout.solver)")
    r.add_argument("--molecule", default=None, help="a molecule the config knows (its states and checks)")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--out", type=Path, default=Path("rollout"), help="output folder")
    _config_options(r)
    r.set_defaults(func=_rollout)
    v = sub.add_parser("evaluate", help="compare SD (and DFF) trajectories with MD, outside Snakemake")
    v.add_argument("md", type=Path, help="MD trajectory (.h5)")
    v.add_argument("sd", type=Path, help="SD trajectory (.h5)")
    v.add_argument("--dff", type=Path, default=None, help="a DFF trajectory (.h5) too")
    v.add_argument("--molecule", required=True, help="the molecule's name in the config")
    topdir_help = "folder of topol.top and solute.gro (default: results/<run>/md/<molecule>/topology)"
    v.add_argument("--topology", type=Path, default=None, help=topdir_help)
    v.add_argument("--out", type=Path, default=Path("evaluation"), help="output folder")
    _config_options(v)
    v.set_defaults(func=_evaluate)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.func(args)
    except ScoredynError as exc:
        print(f"scoredyn: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
