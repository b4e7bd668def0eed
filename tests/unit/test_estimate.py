"""The cost estimate: rates measured on a small run, scaled to a target config."""

import json

import pandas as pd
import pytest

from scoredyn.config import load_config
from scoredyn.errors import ScoredynError
from scoredyn.estimate import estimate, measure
from scoredyn.md.summary import MDSummary, PhaseSpeed


def small_run(tmp_path, rollout_summary):
    """Outputs of a finished small run with round numbers."""
    md, sd = tmp_path / "md" / "alanine-dipeptide", tmp_path / "sd" / "alanine-dipeptide"
    for d in (md, sd, tmp_path / "model", tmp_path / "dataset", tmp_path / "logs"):
        d.mkdir(parents=True)
    # 86.4 ns/day on 1 thread = 1 CPU-second per ps
    MDSummary("alanine-dipeptide", 1001, 0.1, 1, 3.0, 700, {"md": PhaseSpeed(100.0, 100.0, 86.4)}).write(
        md / "production.json"
    )
    (md / "production.h5").write_bytes(b"x" * 1000)
    pd.DataFrame({"step": [1, 2], "samples_per_s": [50.0, 100.0], "device": "cpu"}).to_csv(
        tmp_path / "model" / "metrics.csv"
    )
    rollout_summary(100.0, evaluations_per_step=10).write(sd / "production.json")  # 10 ps/s
    (tmp_path / "dataset" / "summary.json").write_text(json.dumps({"sources": [{"train": 90, "val": 10}]}))
    (tmp_path / "dataset" / "dataset.h5").write_bytes(b"x" * 100)
    return tmp_path


def cfg(**md):
    base = {"run": "t", "molecules": {"train": ["alanine-dipeptide"]}, "gromacs": {"threads": 1},
            "md": {"n_waters": 700, "cutoff_nm": 1.0, **md}, "train": {"width": 64, "n_blocks": 3}}  # fmt: skip
    return load_config(base)


def test_costs_scale_with_atoms_cutoff_cubed_and_network_size(tmp_path, rollout_summary):
    small = cfg()
    rates = measure(small, small_run(tmp_path, rollout_summary))
    assert rates.md_cpu_s_per_ps == pytest.approx(1.0) and rates.train_s_per_sample == pytest.approx(0.01)
    assert rates.sd_s_per_evaluation_step == pytest.approx(0.01) and rates.train_device == "cpu"
    same = estimate(small, small, rates).set_index("what").amount
    prod_ps = small.md.production_ns * 1000.0 + small.md.equilibrate_ps
    assert same["MD production"] == pytest.approx(prod_ps / 3600.0)
    big = estimate(cfg(n_waters=2800, cutoff_nm=1.4), small, rates).set_index("what").amount
    assert big["MD production"] / same["MD production"] == pytest.approx(4 * 1.4**3)
    t = small.training
    assert same["training"] == pytest.approx(t.steps * t.batch_size * 0.01 / 3600.0)
    assert "DFF production" not in same
    with_dff = small.override(dff={"enabled": True, "steps": t.steps // 2})
    dff = estimate(with_dff, small, rates).set_index("what").amount
    production_ps = small.rollout.production.time_ns * 1000.0
    assert dff["DFF production"] == pytest.approx(production_ps * 500 * 0.01 / 3600.0)  # 2 fs steps, 1 evaluation
    assert dff["DFF training"] == pytest.approx(same["training"] / 2)


def test_a_missing_small_run_is_named(tmp_path):
    with pytest.raises(ScoredynError, match="finish the small run"):
        measure(cfg(), tmp_path)
