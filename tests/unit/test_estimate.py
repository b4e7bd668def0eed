"""The cost estimate: rates measured on a small run, scaled to a target config."""

import pytest

from scoredyn.config import load_config
from scoredyn.data.summary import DatasetSummary, SourceSummary
from scoredyn.errors import ScoredynError
from scoredyn.estimate import estimate, measure
from scoredyn.md.summary import MDSummary, PhaseSpeed
from scoredyn.training_metrics import TrainingMetrics, TrainingPoint


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
    points = (TrainingPoint(1, 1.0, 50.0), TrainingPoint(2, 0.9, 100.0, {"val_loss": 0.95}))
    TrainingMetrics(points, "cpu").write(tmp_path / "model" / "metrics.csv")
    rollout_summary(100.0, evaluations_per_step=10).write(sd / "production.json")  # 10 ps/s
    DatasetSummary(["C", "H"], "elements", 0, [SourceSummary("md.h5", "alanine-dipeptide", 101, 90, 10, 100)],
                   90, 10, 100, 1.0).write(tmp_path / "dataset" / "summary.json")  # fmt: skip
    (tmp_path / "dataset" / "dataset.h5").write_bytes(b"x" * 100)
    bench = tmp_path / "benchmarks"
    for rel, rss in (("md/alanine-dipeptide/production.tsv", 400.0), ("train.tsv", 800.0),
                     ("sd/alanine-dipeptide/production.tsv", 500.0)):  # fmt: skip
        (bench / rel).parent.mkdir(parents=True, exist_ok=True)
        (bench / rel).write_text(f"s\tmax_rss\n1.0\t{rss}\n")
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
    same = estimate(small, rates).set_index("what").amount
    prod_ps = small.md.production_ns * 1000.0 + small.md.equilibrate_ps
    assert same["MD production"] == pytest.approx(prod_ps / 3600.0)
    big = estimate(cfg(n_waters=2800, cutoff_nm=1.4), rates).set_index("what").amount
    assert big["MD production"] / same["MD production"] == pytest.approx(4 * 1.4**3)
    t = small.training
    assert same["training"] == pytest.approx(t.steps * t.batch_size * 0.01 / 3600.0)
    assert "DFF production" not in same
    with_dff = small.override(dff={"enabled": True, "steps": t.steps // 2})
    dff = estimate(with_dff, rates).set_index("what").amount
    production_ps = small.rollout.production.time_ns * 1000.0
    assert dff["DFF production"] == pytest.approx(production_ps * 500 * 0.01 / 3600.0)  # 2 fs steps, 1 evaluation
    assert dff["DFF training"] == pytest.approx(same["training"] / 2)


def test_a_missing_small_run_is_named(tmp_path):
    with pytest.raises(ScoredynError, match="finish the small run"):
        measure(cfg(), tmp_path)


def test_rates_round_trip_and_requests_split_long_work(tmp_path, rollout_summary):
    from scoredyn.costs import Rates
    from scoredyn.requests import Requests

    small = cfg()
    rates = measure(small, small_run(tmp_path, rollout_summary))
    assert rates.md_rss_mb == 400.0 and rates.train_rss_mb == 800.0
    rates.write(tmp_path / "rates.json")
    assert Rates.read(tmp_path / "rates.json") == rates
    # 1 CPU-s per ps: 10 ns on 1 thread is 10^4 s, times 3, plus 5 min start-up
    req = Requests(small.override(md={"production_ns": 10.0, "equilibrate_ps": 0.0}, gromacs={"threads": 1}), rates)
    prod = req.md_production()
    assert prod.runtime == 505 and prod.mem_mb == 1200 and prod.submissions == 1 and prod.retries(1) is None
    # a held-out molecule's reference production asks for its own length; the rule's retries for the longest
    evaluate = {"evaluate": ["alanine-dipeptide", "butane"]}
    held = req.cfg.override(molecules=evaluate, md={"held_out_production_ns": 20.0})
    assert Requests(held, rates).md_production("butane").runtime == 1005
    assert Requests(held, rates).md_production("alanine-dipeptide") == prod
    assert Requests(held, rates).md_production() == Requests(held, rates).md_production("butane")
    amount = estimate(held, rates).set_index("what").amount
    assert amount["MD production"] == pytest.approx((10.0 + 20.0) * 1000.0 / 3600.0)
    capped = Requests(small.override(md={"production_ns": 1000.0}, requests={"max_runtime_min": 1440}), rates)
    long = capped.md_production()
    assert long.runtime == 1440 and long.submissions == 39 and long.retries(1) == 39
    with pytest.raises(ScoredynError, match="max_mem_mb"):
        Requests(small.override(requests={"max_mem_mb": 1000}), rates).train()
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ScoredynError, match="--write-rates"):
        Rates.read(tmp_path / "bad.json")
