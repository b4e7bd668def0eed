"""``scoredyn <command>``: checks and inspection outside Snakemake.

Errors print one line naming the file or key and the fix, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from scoredyn.errors import ScoredynError
from scoredyn.layout import Layout


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
    table = estimate(target, small, measure(small, results))
    print(f"estimated cost of run {target.run!r}, from the measured run {small.run!r} in {results}:")
    for r in table.itertuples():
        print(f"  {r.what:<22} {r.amount:>12,.1f} {r.unit:<28} ({r._4})")


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
    e.set_defaults(func=_estimate)
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
