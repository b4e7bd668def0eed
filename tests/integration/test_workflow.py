"""The workflow itself: dry runs of every shipped config, lint, and the tiny config end to end."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from snakemake.resources import GroupResources, Resources

from scoredyn.config import load_config, merge_configs
from scoredyn.data.summary import DatasetSummary
from scoredyn.md.summary import MDSummary
from scoredyn.requests import Requests
from scoredyn.training_metrics import TrainingMetrics
from scoredyn.trajectory import read_trajectory

REPO = Path(__file__).resolve().parents[2]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
PAPER = sorted(str(p.relative_to(REPO)) for p in (REPO / "config").glob("paper-*.yaml"))
SMALL = [None, *sorted(str(p.relative_to(REPO)) for p in (REPO / "config").glob("*.yaml") if "paper-" not in p.name)]
GPU_RULES = {"train", "train_dff", "sd_production", "sd_conditional", "sd_sweep", "dff_production", "dff_conditional"}


def snakemake(*args: str, cwd: Path = REPO, timeout: int = 900) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run([*SNAKEMAKE, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.workflow
@pytest.mark.parametrize("configfile", SMALL, ids=lambda c: c or "config.yaml")
def test_dry_run_plans_every_small_config(configfile):
    args = ["-n", "--forceall", "--quiet", "rules"] + (["--configfile", configfile] if configfile else [])
    res = snakemake(*args)
    assert res.returncode == 0, res.stderr[-3000:]
    assert "md_production" in res.stdout + res.stderr


def planned_jobs(text: str) -> tuple[dict[str, int], dict[str, set[tuple[str | None, str | None]]]]:
    """Job counts per rule, and the (gpu, slurm_partition) requests of each rule, from a dry run."""
    counts, requests = {}, {}
    for job in job_blocks(text):
        rule, resources = str(job["rule"]), job["resources"]
        counts[rule] = counts.get(rule, 0) + 1
        if resources is not None:
            gpu, part = re.search(r"gpu=(\d+)", resources), re.search(r"slurm_partition=([^,]+)", resources)
            requests.setdefault(rule, set()).add((gpu and gpu.group(1), part and part.group(1)))
    return counts, requests


@pytest.mark.workflow
@pytest.mark.parametrize("configfile", PAPER)
def test_slurm_profile_plans_every_paper_config_with_gpus_for_training_and_rollouts_only(configfile, tmp_path):
    # the DFF baseline and a solver sweep too, so that every GPU rule is planned
    sweep = "evaluation: {sweep: {solvers: [{name: dpm3, steps: 10}], time_ns: 10}}\n"
    (tmp_path / "dff.yaml").write_text("dff: {enabled: true}\n" + sweep)
    res = snakemake("-n", "--workflow-profile", "workflow/profiles/slurm", "--configfile", configfile,
                    str(tmp_path / "dff.yaml"))  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    counts, requests = planned_jobs(res.stdout + res.stderr)
    assert GPU_RULES <= set(requests) and {"md_production", "md_start", "dataset"} <= set(requests)
    for rule, asked in requests.items():
        if rule in GPU_RULES:
            assert asked == {("1", "<gpu-partition>")}, rule
        elif rule != "all":
            assert asked == {("0", "<cpu-partition>")}, (rule, asked)
    starts = {"config/paper-alkanes.yaml": 3 * 4000}.get(configfile, 6000)
    assert counts["md_start"] == starts and counts["train"] == 1 and counts["train_dff"] == 1
    assert counts["md_conditional_run"] == 2 * 1000  # two states, 1000 runs each
    # no request over the config's caps (requests.max_runtime_min, requests.max_mem_mb)
    out, caps = res.stdout + res.stderr, load_config(merge_configs([REPO / "config.yaml", REPO / configfile])).requests
    for key, cap in (("runtime", caps.max_runtime_min), ("mem_mb", caps.max_mem_mb)):
        asked = [int(v) for v in re.findall(rf"\b{key}=(\d+)", out)]
        assert asked and max(asked) <= cap, (key, max(asked))
        print(configfile, "largest", key, max(asked))


# the rules whose jobs run MD, training or rollouts: every paper config's header gives their counts
COSTLY = GPU_RULES | {"md_vacuum_hot", "md_production", "md_start", "md_conditional_run", "train_size", "sd_size"}


def header_plan(configfile: str) -> dict[str, int]:
    """The job counts of the header's "# Plans" block (parenthesised remarks left out)."""
    header = []
    for line in (REPO / configfile).read_text().splitlines():
        if not line.startswith("#"):
            break
        if header or line.startswith("# Plans"):
            header.append(line.lstrip("# "))
    text = re.sub(r"\([^)]*\)", "", " ".join(header))
    return {rule: int(n) for rule, n in re.findall(r"\b([a-z_]+) (\d+)\b", text)}


@pytest.mark.workflow
@pytest.mark.parametrize("configfile", PAPER)
def test_each_paper_config_plans_only_what_its_header_says(configfile):
    plan = header_plan(configfile)
    smk = "".join(p.read_text() for p in (REPO / "workflow/rules").glob("*.smk"))
    rules = set(re.findall(r"^rule (\w+):", smk, re.M))
    assert plan and set(plan) <= rules, set(plan) - rules  # every name in the header is a rule
    assert COSTLY <= rules
    res = snakemake("-n", "--quiet", "rules", "--configfile", configfile)
    assert res.returncode == 0, res.stderr[-3000:]
    stats = dict(re.findall(r"^(\w+)\s+(\d+)$", res.stdout + res.stderr, re.M))
    planned = {rule: int(stats.get(rule, 0)) for rule in COSTLY | set(plan)}
    assert planned == {rule: plan.get(rule, 0) for rule in planned}


@pytest.mark.workflow
@pytest.mark.parametrize("configfile", PAPER)
def test_slurm_start_groups_ask_for_one_node_at_most(configfile):
    """Snakemake's own layering of a group of starts, under the profile's cores, stays within
    one node's memory (requests.max_mem_mb) and the runtime cap."""

    class Start:
        def __init__(self, resources):
            self.resources, self.pipe_group = resources, None

    profile = yaml.safe_load((REPO / "workflow/profiles/slurm/config.yaml").read_text())
    cores, size = profile["cores"], profile["group-components"][profile["groups"]["md_start"]]
    cfg = load_config(merge_configs([REPO / "config.yaml", REPO / configfile]))
    for method in {cfg.molecule(m).start_method for m in cfg.train}:
        req = Requests(cfg).md_start(method)
        starts = [Start({"_cores": 1, "mem_mb": req.mem_mb, "runtime": req.runtime, "gpu": 0}) for _ in range(size)]
        group = GroupResources.basic_layered(
            toposorted_jobs=[set(starts)], constraints=Resources.from_mapping({"_cores": cores}), run_local=False
        )
        assert group["_cores"] == cores and group["mem_mb"] == cores * req.mem_mb
        assert group["runtime"] == -(-size // cores) * req.runtime  # the layers one after another
        assert group["mem_mb"] <= cfg.requests.max_mem_mb and group["runtime"] <= cfg.requests.max_runtime_min
        print(configfile, method, group)


@pytest.mark.workflow
def test_lint_is_clean():
    res = snakemake("--lint")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]


@pytest.mark.workflow
def test_bad_config_fails_before_any_job_with_the_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("md:\n  n_watres: 800\n")
    res = snakemake("-n", "--configfile", str(bad))
    assert res.returncode != 0
    out = res.stdout + res.stderr
    assert "unknown key 'n_watres'" in out and "did you mean 'n_waters'" in out and str(bad) in out
    assert "Traceback" not in out


TINY_OVERLAY = "dff: {enabled: true, steps: 10}\nevaluation: {training_sizes: [0.5, 1]}\n"


def run_tiny(where: Path) -> Path:
    """The tiny config with the DFF baseline beside SD and paper Fig. 4a on half the training pairs,
    run from empty in ``where``; returns ``where``."""
    where.mkdir(parents=True, exist_ok=True)
    (where / "config.yaml").symlink_to(REPO / "config.yaml")
    (where / "dff.yaml").write_text(TINY_OVERLAY)
    res = snakemake("--cores", "2", "--snakefile", str(REPO / "Snakefile"), "--directory", str(where),
                    "--configfile", str(REPO / "config" / "tiny.yaml"), str(where / "dff.yaml"), cwd=where)  # fmt: skip
    assert res.returncode == 0, res.stderr[-5000:]
    return where


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory) -> Path:
    return run_tiny(tmp_path_factory.mktemp("tiny"))


#: the statistics of metrics.csv that time a run rather than describe its trajectories
TIMINGS = {"ns_per_day", "job_ns_per_day", "speedup"}


@pytest.mark.gromacs
@pytest.mark.workflow
def test_a_seeded_run_repeats_every_number_but_its_speeds(tiny_run, tmp_path):
    # GROMACS, the dataset split, training, rollouts and bootstraps all draw from the run's seed
    again = run_tiny(tmp_path / "again")
    first, second = (pd.read_csv(d / "results" / "tiny" / "evaluation" / "metrics.csv") for d in (tiny_run, again))
    assert list(first.columns) == list(second.columns) and len(first) == len(second) > 100
    seeded = ~first.statistic.isin(TIMINGS)
    pd.testing.assert_frame_equal(first[seeded], second[seeded], check_exact=True)
    assert set(first[~seeded].statistic) == TIMINGS  # the speeds are in the table, and only they are left out


@pytest.mark.gromacs
@pytest.mark.workflow
def test_tiny_config_end_to_end(tiny_run):
    tmp_path = tiny_run
    md = tmp_path / "results" / "tiny" / "md"
    for mol in ("alanine-dipeptide", "ethane"):
        traj = read_trajectory(md / mol / "production.h5")
        assert traj.n_frames == 41 and traj.timestep == pytest.approx(0.1)
        assert traj.types is not None and traj.bonds is not None
        md_summary = MDSummary.from_json(md / mol / "production.json")
        assert md_summary.checks["bonds_ok"] == 1.0 and md_summary.checks["chirality_ok"] == 1.0
        assert md_summary.production.ns_per_day > 0 and md_summary.frames == 41
        heavy = np.array(traj.numbers) > 1
        assert np.linalg.norm(np.diff(traj.pos[:, heavy], axis=0), axis=-1).max() < 2.0  # whole, no box jumps
        # saved at full precision: bond lengths, not the 0.01 A grid of GROMACS' default XTC precision
        steps = np.diff(np.unique(np.round(np.diff(traj.pos, axis=0).ravel(), 4)))  # float32 noise rounded off
        assert steps.min() < 0.005
        manifest = pd.read_csv(md / mol / "starts" / "manifest.csv")
        assert len(manifest) == 2 and manifest["accepted"].all() and (manifest["frames"] > 1).all()
    hot = read_trajectory(md / "ethane" / "vacuum_hot.h5")
    assert hot.n_frames == 2 and hot.attrs["temperature_K"] == 10000
    ala = read_trajectory(md / "alanine-dipeptide" / "starts" / "start_0000.h5")
    assert ala.attrs["accepted"] and "start_phi" in ala.attrs
    for rule in ("topology", "box", "production"):
        assert (tmp_path / "results" / "tiny" / "benchmarks" / "md" / "alanine-dipeptide" / f"{rule}.tsv").is_file()
    # training: a dataset of both molecules, a model that reloads alone, metrics and the loss curve
    from scoredyn.model.checkpoint import load_model

    summary = DatasetSummary.from_json(tmp_path / "results" / "tiny" / "dataset" / "summary.json")
    assert summary.train_pairs > 0 and summary.val_pairs > 0 and summary.atom_types == "types"
    assert summary.possible_pairs >= summary.pairs > 0
    assert summary.molecules() == {"alanine-dipeptide", "ethane"}
    net, meta = load_model(tmp_path / "results" / "tiny" / "model" / "model.pt")
    assert meta.lag_ps == 1.0 and meta.vocabulary == summary.vocabulary and net.cfg.width == 16
    metrics = TrainingMetrics.from_csv(tmp_path / "results" / "tiny" / "model" / "metrics.csv")
    assert [p.step for p in metrics.points] == [10, 20] and all(np.isfinite(p.val["val_loss"]) for p in metrics.points)
    assert metrics.device == "cpu" and metrics.samples_per_s > 0
    assert drawn(tmp_path / "results" / "tiny" / "model" / "loss.png")
    # the XTC and PDB for people open in MDAnalysis
    import MDAnalysis as mda

    u = mda.Universe(str(md / "alanine-dipeptide" / "production.pdb"), str(md / "alanine-dipeptide" / "production.xtc"))
    assert len(u.atoms) == 22 and len(u.trajectory) == 41 and len(u.bonds) == 21

    # rollouts: a long SD trajectory from production frame 0, ensembles from each state's start
    sd = tmp_path / "results" / "tiny" / "sd" / "alanine-dipeptide"
    prod = read_trajectory(sd / "production.h5")
    assert prod.pos.shape == (21, 22, 3) and prod.timestep == 1.0 and prod.types is not None
    md_prod = read_trajectory(md / "alanine-dipeptide" / "production.h5")
    np.testing.assert_allclose(prod.pos[0], md_prod.pos[0], atol=1e-4)
    assert np.isfinite(prod.pos).all() and np.abs(np.diff(prod.pos, axis=0)).max() > 0
    speed = json.loads((sd / "production.json").read_text())
    assert speed["evaluations_per_step"] == 60 and speed["ps_per_s"] > 0 and "violations" in speed
    u = mda.Universe(str(sd / "production.pdb"), str(sd / "production.xtc"))
    assert len(u.trajectory) == 21
    for state in ("alpha", "beta"):
        start = read_trajectory(md / "alanine-dipeptide" / f"state_{state}.h5")
        assert start.n_frames == 1 and start.attrs["state"] == state
        ens = read_trajectory(sd / f"conditional_{state}.h5")
        assert ens.pos.shape == (4, 6, 22, 3) and ens.attrs["replicas"] == 4
        np.testing.assert_allclose(ens.pos[:, 0], np.repeat(start.pos, 4, axis=0), atol=1e-4)
        assert not np.allclose(ens.pos[0, 1:], ens.pos[1, 1:])  # replicas draw their own noise
        assert (
            tmp_path / "results" / "tiny" / "benchmarks" / "sd" / "alanine-dipeptide" / f"conditional_{state}.tsv"
        ).is_file()
        # the MD reference: 2 runs with new velocities from the shared start, frames every SD step
        md_ens = read_trajectory(md / "alanine-dipeptide" / f"conditional_{state}.h5")
        assert md_ens.pos.shape == (2, 6, 22, 3) and md_ens.timestep == 1.0
        first = md_ens.pos[:, 0]
        dist = np.linalg.norm(first[:, :, None] - first[:, None], axis=-1)
        ref = np.linalg.norm(start.pos[0][:, None] - start.pos[0][None], axis=-1)
        assert np.abs(dist - ref).max() < 1.0  # the minimised shared start
        assert np.abs(md_ens.pos[0, -1] - md_ens.pos[1, -1]).max() > 0.1  # new velocities per run

    # evaluation: every figure, the metric rows of every rule, and a nested metrics.json
    ev = tmp_path / "results" / "tiny" / "evaluation"
    for fig in ("dihedrals", "dihedral_profiles", "bond_lengths", "bond_angles", "first_passage",
                "conditional_alpha", "conditional_beta"):  # fmt: skip
        assert drawn(ev / "alanine-dipeptide" / f"{fig}.png"), fig
    assert drawn(ev / "speed.png")
    rows = pd.read_csv(ev / "metrics.csv")
    assert list(rows.columns) == ["molecule", "observable", "method", "statistic", "value"]
    jsd = rows[(rows.observable == "phi/psi") & (rows.statistic == "jsd_nats")].set_index("method").value
    assert set(jsd.index) == {"SD vs MD", "MD split-half", "SD split-half", "DFF vs MD", "DFF split-half",
                              "SD[dpm3x20] vs MD", "SD[dpm3x20] split-half", "SD[dpmpp2mx5] vs MD",
                              "SD[dpmpp2mx5] split-half", "SD[0.5] vs MD", "SD[0.5] split-half", "SD[1] vs MD",
                              "SD[1] split-half"}  # fmt: skip
    assert jsd.between(0, np.log(2)).all() and (ev / "alanine-dipeptide" / "sweep_solver.png").is_file()
    # Fig. 4a: size 1 is the main model and its production; 0.5 a model of its own on half the pairs
    pairs = rows[rows.statistic == "train_pairs"].set_index("method").value
    assert pairs["SD[1]"] == summary.train_pairs and 0.4 < pairs["SD[0.5]"] / pairs["SD[1]"] < 0.7
    assert jsd["SD[1] vs MD"] == jsd["SD vs MD"]
    # a 20-step model may keep every frame in the start's bin, so the two JSDs can tie: compare the runs
    half = read_trajectory(tmp_path / "results" / "tiny" / "sizes" / "0.5" / "sd" / sd.name / "production.h5")
    assert half.pos.shape == prod.pos.shape and not np.allclose(half.pos[1:], prod.pos[1:])
    assert drawn(ev / "alanine-dipeptide" / "training_size.png")
    log = (tmp_path / "results" / "tiny" / "logs" / "sizes" / "0.5" / "train.log").read_text()
    assert f"training on {pairs['SD[0.5]']:.0f} of the {summary.train_pairs} training pairs" in log
    assert not (tmp_path / "results" / "tiny" / "sizes" / "1").exists()
    cond = rows[rows.observable.str.startswith("phi/psi | alpha, t = ")]
    assert set(cond.observable) == {"phi/psi | alpha, t = 1 ps", "phi/psi | alpha, t = 5 ps"}
    assert set(cond[cond.statistic == "jsd_nats"].method) >= {"SD vs MD", "DFF vs MD"}
    nested = json.loads((ev / "metrics.json").read_text())
    mol = nested["alanine-dipeptide"]
    for method, folder in (("SD", "sd"), ("DFF", "dff")):
        assert mol["throughput production"][f"{method}/MD"]["speedup"] > 0
        run = json.loads((tmp_path / "results" / "tiny" / folder / "alanine-dipeptide" / "production.json").read_text())
        per100k = 1e5 * run["violations"] / (run["steps"] * run["replicas"])
        assert mol["stability"][method]["violations_per_100k_steps"] == pytest.approx(per100k)
        assert mol["throughput ensemble alpha"][method]["ns_per_day"] > 0
        fpt, ratio = mol["fpt alpha->beta"], mol["fpt alpha->beta"][f"{method}/MD"]["mfpt_ratio"]
        if fpt[method]["n"] and fpt["MD"]["n"]:
            assert ratio == pytest.approx(fpt[method]["mean_ps"] / fpt["MD"]["mean_ps"])
        else:  # no passage in a few ps: no ratio
            assert ratio is None

    # the DFF baseline: a denoiser, Brownian-dynamics frames as far apart as SD's, the same outputs
    _, dff_meta = load_model(tmp_path / "results" / "tiny" / "dff" / "model.pt", kind="dff")
    assert dff_meta.objective == {"kind": "dff", "sigma_A": [0.02, 0.05], "duplicates": 4}
    dff = tmp_path / "results" / "tiny" / "dff" / "alanine-dipeptide"
    prod = read_trajectory(dff / "production.h5")
    assert prod.pos.shape == (21, 22, 3) and prod.timestep == 1.0 and np.isfinite(prod.pos).all()
    np.testing.assert_allclose(prod.pos[0], md_prod.pos[0], atol=1e-4)
    info = json.loads((dff / "production.json").read_text())
    assert info["method"] == "DFF" and info["evaluations_per_step"] == 500 and info["timestep_fs"] == 2.0
    assert len(mda.Universe(str(dff / "production.pdb"), str(dff / "production.xtc")).trajectory) == 21
    for state in ("alpha", "beta"):
        ens = read_trajectory(dff / f"conditional_{state}.h5")
        assert ens.pos.shape == (4, 6, 22, 3) and not np.allclose(ens.pos[0, 1:], ens.pos[1, 1:])
    check_stage_commands(tmp_path)


def scoredyn_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scoredyn.cli", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600)  # fmt: skip


def check_stage_commands(tmp_path: Path) -> None:
    """``scoredyn rollout`` and ``scoredyn evaluate`` on the tiny run's model and trajectories write
    what the rules sd_production and evaluate_equilibrium write."""
    run = tmp_path / "results" / "tiny"
    configs = ["--config", str(REPO / "config" / "tiny.yaml"), str(tmp_path / "dff.yaml")]
    data = REPO / "tests" / "data" / "alanine-dipeptide"
    out = tmp_path / "cli"
    res = scoredyn_cli("rollout", str(run / "model" / "model.pt"), str(data / "solute.gro"), "--topology",
                       str(data / "topol.top"), "--ns", "0.02", "--molecule", "alanine-dipeptide", "--out", str(out),
                       *configs, cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    rule_out = run / "sd" / "alanine-dipeptide"
    for ext in ("h5", "pdb", "xtc", "json"):
        assert (out / f"production.{ext}").is_file(), ext
    mine, theirs = read_trajectory(out / "production.h5"), read_trajectory(rule_out / "production.h5")
    assert mine.pos.shape == theirs.pos.shape and mine.types == theirs.types and mine.timestep == theirs.timestep
    np.testing.assert_allclose(mine.pos[0], 10.0 * read_gro_nm(data / "solute.gro"), atol=1e-4)
    summary, rule_summary = (json.loads((d / "production.json").read_text()) for d in (out, rule_out))
    assert set(summary) == set(rule_summary) and set(summary["checks"]) == set(rule_summary["checks"])
    assert (summary["steps"], summary["solver"], summary["evaluations_per_step"]) == (20, "dpm3", 60)
    # an unknown name: the molecule is described by its files, its checks derived from the topology
    res = scoredyn_cli("rollout", str(run / "model" / "model.pt"), str(data / "solute.gro"), "--topology",
                       str(data / "topol.top"), "--ns", "0.005", "--replicas", "3", "--out", str(tmp_path / "ens"),
                       *configs, cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    assert read_trajectory(tmp_path / "ens" / "ensemble.h5").pos.shape == (3, 6, 22, 3)
    bad = ["rollout", str(run / "model" / "model.pt"), str(data / "topol.top"), "--topology", str(data / "topol.top")]
    res = scoredyn_cli(*bad, "--ns", "0.005", "--out", str(tmp_path / "bad"), cwd=tmp_path)
    assert res.returncode == 2 and "must be .gro or .pdb" in res.stderr and "Traceback" not in res.stderr
    # the evaluation of the rule's own trajectories gives the rule's own table
    md = run / "md" / "alanine-dipeptide"
    res = scoredyn_cli("evaluate", str(md / "production.h5"), str(rule_out / "production.h5"), "--dff",
                       str(run / "dff" / "alanine-dipeptide" / "production.h5"), "--molecule", "alanine-dipeptide",
                       "--topology", str(md / "topology"), "--out", str(tmp_path / "cli_eval"), *configs,
                       cwd=tmp_path)  # fmt: skip
    assert res.returncode == 0, res.stderr[-3000:]
    rule_eval = run / "evaluation" / "alanine-dipeptide"
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "cli_eval" / "equilibrium.csv"),
                                  pd.read_csv(rule_eval / "equilibrium.csv"))  # fmt: skip
    for fig in ("dihedrals", "dihedral_profiles", "bond_lengths", "bond_angles", "first_passage"):
        assert drawn(tmp_path / "cli_eval" / f"{fig}.png"), fig


def drawn(path: Path) -> bool:
    """Whether the PNG at ``path`` is not blank: more than 1 % of its pixels are not white."""
    from PIL import Image

    return bool((np.asarray(Image.open(path).convert("L")) < 250).mean() > 0.01)


def read_gro_nm(path: Path) -> np.ndarray:
    from scoredyn.md.topology import read_gro_positions

    return read_gro_positions(path)[0]


GLYCINE = {
    "description": "Glycine dipeptide (ACE-GLY-NAC), described in the config alone",
    "topology": {"method": "pdb2gmx", "structure": "gly.pdb", "termini": ["None", "None"]},
    "starts": {"method": "dihedrals", "dihedrals": ["phi", "psi"]},
    "dihedrals": {"phi": ["ACE:C", "GLY:N", "GLY:CA", "GLY:C"], "psi": ["GLY:N", "GLY:CA", "GLY:C", "NAC:N"]},
    "states": {
        "alpha": {"ranges": {"phi": [-120, -40], "psi": [-80, 0]}, "centre": {"phi": -80, "psi": -40}},
        "beta": {"ranges": {"phi": [-170, -50], "psi": [110, 190]}, "centre": {"phi": -80, "psi": 150}},
    },
    "checks": {"peptide_bonds": [["ACE:CH3", "ACE:C", "GLY:N", "GLY:CA"], ["GLY:CA", "GLY:C", "NAC:N", "NAC:CH3"]]},
}


def glycine_pdb(path: Path) -> Path:
    """Glycine dipeptide's heavy atoms: alanine dipeptide's without the CB."""
    lines = (REPO / "resources" / "molecules" / "alanine-dipeptide" / "structure.pdb").read_text().splitlines()
    path.write_text("\n".join(ln.replace("ALA", "GLY") for ln in lines if " CB " not in ln) + "\n")
    return path


@pytest.mark.gromacs
@pytest.mark.workflow
def test_adding_a_sweep_point_or_dropping_fig4a_reruns_no_other_evaluation(tiny_run):
    # the evaluation rules take the analysis settings as params, so that changing a bin width
    # redoes them; the keys that only add runs must not
    overlay = tiny_run / "more.yaml"
    overlay.write_text(
        "dff: {enabled: true, steps: 10}\n"
        "evaluation: {training_sizes: [], sweep: {solvers: [{name: dpmpp2m, steps: 5}, {name: dpm3m, steps: 5}]}}\n"
    )
    res = snakemake("-n", "--cores", "2", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tiny_run),
                    "--configfile", str(REPO / "config" / "tiny.yaml"), str(overlay), cwd=tiny_run)  # fmt: skip
    assert res.returncode == 0, res.stderr[-5000:]
    counts, _ = planned_jobs(res.stdout + res.stderr)
    assert counts.get("sd_sweep") == 1, counts  # the new point alone, not the one already run
    assert {"evaluate_sweep", "metrics"} <= set(counts)
    assert not {"evaluate_equilibrium", "evaluate_conditional", "train", "sd_production"} & set(counts), counts


@pytest.mark.gromacs
@pytest.mark.workflow
def test_a_molecule_described_in_the_config_alone_runs_through_the_tiny_pipeline(tmp_path):
    import yaml

    (tmp_path / "config.yaml").symlink_to(REPO / "config.yaml")
    glycine_pdb(tmp_path / "gly.pdb")
    name = "glycine-dipeptide"
    mine = {"run": "newmol", "molecules": {"train": [name], "evaluate": [name], "define": {name: GLYCINE}}}
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(mine))
    args = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path), "--configfile",
            str(REPO / "config" / "tiny.yaml"), str(tmp_path / "mine.yaml")]  # fmt: skip
    broken = dict(mine, molecules=dict(mine["molecules"], define={name: dict(GLYCINE, topology={
        "method": "files", "structure": "gly.gro", "topology": "gly.top"})}))  # fmt: skip
    (tmp_path / "broken.yaml").write_text(yaml.safe_dump(broken))
    res = snakemake("-n", *args[:-1], str(tmp_path / "broken.yaml"), cwd=tmp_path)
    out = res.stdout + res.stderr
    assert res.returncode != 0 and "topology.structure 'gly.gro' is not a file" in out and "Traceback" not in out
    res = snakemake("--cores", "2", *args, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-5000:]
    results = tmp_path / "results" / "newmol"
    prod = json.loads((results / "md" / name / "production.json").read_text())
    assert prod["checks"]["bonds_ok"] == 1.0 and prod["checks"]["trans_ok"] == 1.0  # derived bond ranges hold
    assert read_trajectory(results / "sd" / name / "production.h5").n_atoms == 19  # 22 - CB - 3 HB + HA2
    metrics = json.loads((results / "evaluation" / "metrics.json").read_text())
    assert "phi/psi" in metrics[name] and (results / "evaluation" / name / "dihedrals.png").is_file()


@pytest.mark.workflow
def test_no_frame_of_the_held_out_butane_reaches_the_dataset():
    res = snakemake("-n", "--forceall", "--configfile", "config/alkanes.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    text = res.stdout + res.stderr
    block = text[text.index("rule dataset:") :]
    inputs = re.search(r"input: (.*)", block).group(1).split(", ")
    sources = {re.match(r"results/alkanes/md/([^/]+)/", p).group(1) for p in inputs}
    assert sources == {"ethane", "propane", "pentane"}
    assert any("md/butane/production.h5" in line for line in text.splitlines() if "input:" in line)  # MD still runs


def job_blocks(text: str) -> list[dict[str, object]]:
    """Each planned job of a dry run: its rule, molecule, priority (0 when not printed), runtime and resources line."""
    jobs: list[dict[str, object]] = []
    for line in text.splitlines():
        line = line.strip()
        if head := re.match(r"^(?:local)?rule (\w+):$", line):
            jobs.append({"rule": head.group(1), "molecule": None, "priority": 0, "runtime": None, "resources": None})
        elif jobs and (m := re.match(r"wildcards: .*molecule=([\w.-]+)", line)):
            jobs[-1]["molecule"] = m.group(1)
        elif jobs and (m := re.match(r"priority: (-?\d+)$", line)):
            jobs[-1]["priority"] = int(m.group(1))
        elif jobs and line.startswith("resources:"):
            jobs[-1]["resources"] = line
            if m := re.search(r"runtime=(\d+)", line):
                jobs[-1]["runtime"] = int(m.group(1))
    return jobs


@pytest.mark.workflow
def test_the_held_out_reference_runs_longer_and_only_once_the_training_data_is_simulated():
    cfg = load_config(merge_configs([REPO / "config.yaml", REPO / "config/alkanes.yaml"]), check_molecules=False)
    assert cfg.production_ns("butane") > cfg.production_ns("pentane")
    res = snakemake("-n", "--forceall", "--configfile", "config/alkanes.yaml")
    assert res.returncode == 0, res.stderr[-3000:]
    jobs = job_blocks(res.stdout + res.stderr)
    md = [j for j in jobs if str(j["rule"]).startswith("md_") and j["rule"] != "md_state_start"]
    (held,) = [j for j in md if j["rule"] == "md_production" and j["molecule"] == "butane"]
    training_path = [j for j in md if j is not held]
    assert {j["rule"] for j in training_path} >= {"md_topology", "md_box", "md_vacuum_hot", "md_start", "md_production"}
    # the scheduler gives a free core to any ready training-data job before the held-out production
    assert all(j["priority"] > held["priority"] for j in training_path), [(j["rule"], j["molecule"]) for j in md]
    trained = [j["runtime"] for j in training_path if j["rule"] == "md_production"]
    assert len(trained) == 3 and held["runtime"] > max(trained)
