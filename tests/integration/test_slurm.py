"""The tiny config through the real Slurm profile, on a one-node Slurm started by the test.

The cluster (tests/integration/slurm_cluster.py) is Debian's Slurm on 127.0.0.1 with accounting
(slurmdbd on a private MariaDB), one node with the machine's cores and memory and one fake GPU,
in a ``cpu`` and a ``gpu`` partition. The run uses workflow/profiles/slurm with its three
placeholders filled in, so every non-local job goes through sbatch, and ``sacct`` then says
where each went.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from slurm_cluster import SlurmCluster, missing

from scoredyn.trajectory import read_trajectory

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "workflow" / "profiles" / "slurm" / "config.yaml"
PLACEHOLDERS = {"<your-account>": "root", "<cpu-partition>": "cpu", "<gpu-partition>": "gpu"}
# the GPU rules of the issue, with the DFF baseline and the training-size models enabled
GPU_RULES = {"train", "train_size", "train_dff", "sd_production", "sd_size", "sd_conditional", "sd_sweep",
             "dff_production", "dff_conditional"}  # fmt: skip
GROUP = "md_starts"  # the profile's group of md_start jobs
SACCT = ["JobIDRaw", "JobName", "Comment", "Partition", "State", "ExitCode", "Elapsed", "AllocTRES", "SubmitLine"]
RUN_TIMEOUT_S = 3600


@pytest.fixture
def slurm(tmp_path):
    """A started one-node cluster, stopped after the test; its daemons' logs are copied to
    tmp_path/slurm-logs."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    # a short base: the munge and MariaDB sockets must fit a Unix socket path
    base = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
    cluster = SlurmCluster(base)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.copytree(base / "log", tmp_path / "slurm-logs", dirs_exist_ok=True)
        shutil.rmtree(base, ignore_errors=True)


def run_killable(cmd: list[str], cwd: Path, env: dict[str, str], timeout: int) -> subprocess.CompletedProcess:
    """Run cmd in its own process group; on timeout kill the whole group (snakemake with a
    failing status command ignores SIGTERM) and fail with the end of its output."""
    with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as p:  # fmt: skip
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, err = p.communicate()
            pytest.fail(f"snakemake ran past {timeout} s and was killed:\n{err[-5000:]}")
    return subprocess.CompletedProcess(cmd, p.returncode, out, err)


def local_rules() -> set[str]:
    """The rules the Snakefile's localrules keep on the submit host (a dry run prints them as
    any other rule)."""
    block = re.search(r"^localrules:\n((?:[ \t]+\w+,?[ \t]*\n)+)", (REPO / "Snakefile").read_text(), re.M)
    assert block, "no localrules block in the Snakefile"
    return set(re.findall(r"\w+", block.group(1)))


def planned(text: str) -> list[dict]:
    """The jobs of a dry run: rule, whether in a group, and the gpu request."""
    jobs, job = [], None
    for line in text.splitlines():
        head = re.match(r"^(\s*)(?:local)?rule (\w+):$", line)
        if head:
            job = {"rule": head.group(2), "grouped": bool(head.group(1)), "gpu": 0}
            jobs.append(job)
        elif job and line.strip().startswith("resources:"):
            gpu = re.search(r"\bgpu=(\d+)", line)
            job["gpu"] = int(gpu.group(1)) if gpu else 0
            job = None
    return jobs


def rule_of(comment: str) -> str:
    """The rule (or group job) name from the plugin's comment: rule_<name>[_wildcards_<values>]."""
    assert comment.startswith("rule_"), comment
    return comment[len("rule_") :].split("_wildcards_")[0]


def target_jobs(submit_line: str) -> list[str]:
    """The rules of the jobs an sbatch --wrap line runs (its snakemake --target-jobs)."""
    found = re.search(r"--target-jobs (.*?) --", submit_line)
    return re.findall(r"(\w+):\S*", found.group(1)) if found else []


@pytest.mark.slurm
@pytest.mark.gromacs
@pytest.mark.workflow
def test_tiny_config_through_the_slurm_profile_on_a_one_node_cluster(slurm, tmp_path):
    text = PROFILE.read_text()
    for placeholder in PLACEHOLDERS:
        assert placeholder in text, f"{PROFILE} lost its placeholder {placeholder}"
        text = text.replace(placeholder, PLACEHOLDERS[placeholder])
    assert not re.search(r"<[\w-]+>", text), "a placeholder the test does not fill in"
    (tmp_path / "profile").mkdir()
    (tmp_path / "profile" / "config.yaml").write_text(text)
    (tmp_path / "config.yaml").symlink_to(REPO / "config.yaml")
    # as the local end-to-end test: the DFF baseline and a model on half the training pairs
    (tmp_path / "dff.yaml").write_text("dff: {enabled: true, steps: 10}\nevaluation: {training_sizes: [0.5, 1]}\n")
    # --cores replaces the profile's cores with this node's: it caps each rule's threads
    # (sd_conditional asks 4) and fits the md_starts group job to the node, which would
    # otherwise ask for one CPU per start and be refused by sbatch (EnforcePartLimits=ALL);
    # --resources keeps the jobs in flight within the node's memory
    args = ["--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path),
            "--workflow-profile", str(tmp_path / "profile"),
            "--configfile", str(REPO / "config" / "tiny.yaml"), str(tmp_path / "dff.yaml"),
            "--cores", str(slurm.cpus), "--resources", f"mem_mb={slurm.mem_mb}",
            "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1",
            "--slurm-keep-successful-logs"]  # fmt: skip
    snakemake = [sys.executable, "-m", "snakemake"]
    env = dict(slurm.env)
    env["PATH"] = f"{slurm.base / 'bin'}:{Path(sys.executable).parent}:{env['PATH']}"  # the srun wrapper first

    dry = run_killable([*snakemake, "-n", *args], cwd=tmp_path, env=env, timeout=600)
    assert dry.returncode == 0, dry.stderr[-5000:]
    jobs = planned(dry.stdout + dry.stderr)
    local = local_rules()
    assert {"all", "metrics", "md_starts_manifest"} <= local, local
    remote = Counter(j["rule"] for j in jobs if j["rule"] not in local and not j["grouped"])
    gpu_rules = {j["rule"] for j in jobs if j["gpu"]}
    starts = sum(j["rule"] == "md_start" for j in jobs)
    assert gpu_rules == GPU_RULES and starts == 4 and all(j["grouped"] for j in jobs if j["rule"] == "md_start")
    assert {"md_production", "dataset", "md_conditional_run"} <= set(remote), remote

    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(time.time() - 60))
    t0 = time.monotonic()
    res = run_killable([*snakemake, *args], cwd=tmp_path, env=env, timeout=RUN_TIMEOUT_S)
    wall = time.monotonic() - t0
    rows = slurm.sacct(since, SACCT)
    report = "\n".join("|".join(r[f] for f in SACCT[:-1]) for r in rows)
    print(f"\nSlurm started in {slurm.start_s:.1f} s; snakemake through Slurm: rc {res.returncode} in {wall:.0f} s")
    print(f"{len(rows)} Slurm jobs on one node of {slurm.cpus} CPUs and {slurm.mem_mb} MB:\n{'|'.join(SACCT[:-1])}")
    print(report)
    assert res.returncode == 0, res.stderr[-6000:] + "\n" + slurm.logs()

    # the outputs of the local run
    run = tmp_path / "results" / "tiny"
    for mol in ("alanine-dipeptide", "ethane"):
        assert read_trajectory(run / "md" / mol / "production.h5").n_frames == 41
        assert len(pd.read_csv(run / "md" / mol / "starts" / "manifest.csv")) == 2
    from scoredyn.model.checkpoint import load_model

    _, meta = load_model(run / "model" / "model.pt")
    assert meta.lag_ps == 1.0
    sd = read_trajectory(run / "sd" / "alanine-dipeptide" / "production.h5")
    assert sd.pos.shape == (21, 22, 3) and np.isfinite(sd.pos).all()
    assert read_trajectory(run / "sd" / "alanine-dipeptide" / "conditional_alpha.h5").pos.shape == (4, 6, 22, 3)
    assert read_trajectory(run / "dff" / "alanine-dipeptide" / "production.h5").pos.shape == (21, 22, 3)
    metrics = pd.read_csv(run / "evaluation" / "metrics.csv")
    assert list(metrics.columns) == ["molecule", "observable", "method", "statistic", "value"]
    methods = set(metrics[(metrics.observable == "phi/psi") & (metrics.statistic == "jsd_nats")].method)
    assert {"SD vs MD", "DFF vs MD", "SD[0.5] vs MD", "SD[1] vs MD"} <= methods
    assert "alanine-dipeptide" in json.loads((run / "evaluation" / "metrics.json").read_text())

    # every non-local job went through sbatch, once, and completed
    assert rows and all(r["State"] == "COMPLETED" and r["ExitCode"] == "0:0" for r in rows), report
    groups = [r for r in rows if rule_of(r["Comment"]).startswith(f"{GROUP}_")]  # group jobs: <group>_<rules>
    by_rule = Counter(rule_of(r["Comment"]) for r in rows if r not in groups)
    assert by_rule == remote, report

    # the GPU rules on the gpu partition with a GPU (sbatch --gpus=1), the others on cpu without
    for r in rows:
        rule = rule_of(r["Comment"])
        if rule in GPU_RULES:
            assert r["Partition"] == "gpu" and "gres/gpu=1" in r["AllocTRES"], r
            assert "--gpus=1" in r["SubmitLine"], r["SubmitLine"]
        else:
            assert r["Partition"] == "cpu" and "gres/gpu" not in r["AllocTRES"], r
            assert "--gpus" not in r["SubmitLine"].split("--wrap")[0], r["SubmitLine"]
    assert {rule_of(r["Comment"]) for r in rows if r["Partition"] == "gpu"} == GPU_RULES

    # the md_start jobs as group jobs: fewer Slurm jobs than starts, each running several
    assert "md_start" not in by_rule and groups, report
    members = [target_jobs(g["SubmitLine"]) for g in groups]
    assert sorted(rule for m in members for rule in m) == ["md_start"] * starts, members
    assert len(groups) < starts and all(len(m) > 1 for m in members), members
    for g in groups:  # fitted to the node by --cores
        cpus = re.search(r"--cpus-per-task=(\d+)", g["SubmitLine"])
        assert cpus and 1 <= int(cpus.group(1)) <= slurm.cpus, g["SubmitLine"]
