"""Evaluation: observables, KDE, circular W1, metric rows and figures on inputs with known answers."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from scoredyn.analysis.divergence import wasserstein_1d, wasserstein_circular
from scoredyn.analysis.kde import kde_1d, kde_2d, scott_bandwidth
from scoredyn.analysis.observables import angle_classes, angle_triples, bond_classes, constrained_bond_classes
from scoredyn.errors import ConfigError, ScoredynError
from scoredyn.evaluation import figures
from scoredyn.evaluation.ensembles import EnsembleRun, ensemble_runs
from scoredyn.evaluation.metrics import (
    conditional_rows,
    equilibrium_rows,
    geometry_range,
    kinetics_rows,
    nested,
    outside,
)
from scoredyn.evaluation.observe import Observed, halves, observe, thinned
from scoredyn.evaluation.stage import evaluate_speed_stage, metrics_stage
from scoredyn.layout import Layout
from scoredyn.md.summary import MDSummary, PhaseSpeed
from scoredyn.trajectory import Trajectory, write_trajectory


def test_bond_and_angle_classes_cover_the_topology(ala2_resolved):
    mol, _ = ala2_resolved
    bonds = bond_classes(mol.top)
    assert set(bonds) == {"C-C", "C-N", "C-O", "C-H", "N-H"}
    assert sum(len(v) for v in bonds.values()) == len(mol.top.bonds) == 21
    assert list(bonds)[-2:] == ["C-H", "N-H"]  # classes with hydrogen last
    degree = np.bincount(mol.top.bonds.ravel(), minlength=mol.top.n_atoms)
    triples = angle_triples(mol.top.n_atoms, mol.top.bonds.tolist())
    assert len(triples) == int((degree * (degree - 1) // 2).sum())
    angles = angle_classes(mol.top)
    assert "H-C-H" in angles and "C-N-H" in angles and "H-N-C" not in angles
    assert sum(len(v) for v in angles.values()) == len(triples)


def test_kde_1d_matches_the_smoothed_gaussian(rng):
    x = rng.normal(0.0, 1.0, 200_000)
    h = 0.3
    centres, dens = kde_1d(x, h, (-6.0, 6.0), bins=600)
    expect = np.exp(-(centres**2) / (2 * (1 + h**2))) / np.sqrt(2 * np.pi * (1 + h**2))
    np.testing.assert_allclose(dens, expect, atol=0.01)
    assert dens.sum() * (centres[1] - centres[0]) == pytest.approx(1.0, abs=1e-3)
    assert scott_bandwidth(x) == pytest.approx(1.06 * 200_000**-0.2, rel=0.02)


def test_periodic_kde_wraps_across_the_seam(rng):
    x = 179.0 + rng.normal(0, 2.0, 50_000)
    centres, dens = kde_1d(x, 5.0, (-180.0, 180.0), bins=360, periodic=True)
    near = lambda v: dens[np.argmin(np.abs(centres - v))]  # noqa: E731
    assert near(-177.5) == pytest.approx(near(175.5), rel=0.1)  # symmetric about 179 through the seam
    grid, d2 = kde_2d(x, np.zeros_like(x), 5.0, bins=90)
    assert d2.sum() * (grid[1] - grid[0]) ** 2 == pytest.approx(1.0, rel=1e-6)
    assert d2[0].max() > 0.2 * d2.max()  # the -180 column holds mass from +179


def test_circular_wasserstein_of_a_shift_and_across_the_seam(rng):
    a = rng.vonmises(0.0, 4.0, 20_000) * 180 / np.pi
    b = rng.vonmises(0.0, 4.0, 20_000) * 180 / np.pi + 20.0
    assert wasserstein_circular(a, b) == pytest.approx(20.0, abs=1.0)
    assert wasserstein_circular(a, a) == pytest.approx(0.0, abs=1e-9)
    seam_a, seam_b = np.full(100, 175.0), np.full(100, -175.0)
    assert wasserstein_circular(seam_a, seam_b) == pytest.approx(10.0)
    assert wasserstein_1d(seam_a, seam_b) == pytest.approx(350.0)  # the line goes the long way round


def _observed(rng, n, shift=0.0, dt=1.0, assignment=None):
    """Synthetic observables: two dihedrals, a bond and an angle class, two states."""
    dih = {"phi": rng.normal(-80 + shift, 15, n), "psi": rng.normal(150, 15, n)}
    bonds = {"C-C": rng.normal(1.53 + shift / 100, 0.03, 2 * n)}
    angles = {"C-C-C": rng.normal(112, 4, 3 * n)}
    a = np.zeros(n, dtype=int) if assignment is None else assignment
    return Observed(dih, bonds, angles, a, ["alpha", "beta"], dt)


def test_halves_split_pooled_classes_by_frame(rng):
    obs = _observed(rng, 10)
    first, second = halves(obs)
    assert first.n_frames == second.n_frames == 5
    assert len(first.bonds["C-C"]) == 10 and len(second.angles["C-C-C"]) == 15
    np.testing.assert_array_equal(second.bonds["C-C"], obs.bonds["C-C"][10:20])


def test_equilibrium_rows_put_a_faithful_method_at_the_floor_and_a_shifted_one_far_above(rng):
    md, same, shifted = _observed(rng, 20_000), _observed(rng, 20_000), _observed(rng, 20_000, shift=40.0)
    good = equilibrium_rows("mol", {"MD": md, "SD": same}).set_index(["observable", "method", "statistic"]).value
    bad = equilibrium_rows("mol", {"MD": md, "SD": shifted}).set_index(["observable", "method", "statistic"]).value
    floor = good["phi/psi", "MD split-half", "jsd_nats"]
    assert good["phi/psi", "SD vs MD", "jsd_nats"] < 3 * floor
    assert bad["phi/psi", "SD vs MD", "jsd_nats"] > 20 * floor
    assert bad["phi", "SD vs MD", "w1_deg"] == pytest.approx(40.0, abs=1.5)
    assert bad["bond C-C", "SD vs MD", "w1_A"] == pytest.approx(0.4, abs=0.01)
    assert good["angle C-C-C", "SD vs MD", "w1_deg"] < 0.2


def test_a_faithful_method_with_sparser_frames_sits_at_the_floor_of_equal_halves(rng):
    """SD saves one frame per 1 ps step, MD ten: read alike and compared half against half, an exact
    method is at the floor (the whole 1000 SD frames against 12000 MD ones were 3.5x MD's 6000-frame halves)."""
    md = _observed(rng, 12_000, dt=0.1)
    rows = {}
    for name, shift in (("same", 0.0), ("bent", 2.0)):
        sd = _observed(rng, 1_000, shift=shift, dt=1.0)
        eq = equilibrium_rows("mol", {"MD": md, "SD": sd})
        rows[name] = eq.set_index(["observable", "method", "statistic"]).value
    for observable in ("bond C-C", "angle C-C-C", "phi"):
        floor = rows["same"][observable, "MD split-half", "jsd_nats"]
        assert 0.6 < rows["same"][observable, "SD vs MD", "half_jsd_nats"] / floor < 1.6
        assert rows["same"][observable, "SD vs MD", "jsd_nats"] < floor  # MD's halves are half as long
    floor = rows["bent"]["bond C-C", "MD split-half", "jsd_nats"]
    assert rows["bent"]["bond C-C", "SD vs MD", "half_jsd_nats"] > 3 * floor  # bonds 0.02 A (2/3 of a sd) long


def test_thinned_reads_every_kth_frame_of_pooled_classes(rng):
    obs = _observed(rng, 20, dt=0.1)
    coarse = thinned(obs, 0.5)
    assert coarse.n_frames == 4 and coarse.dt_ps == pytest.approx(0.5)
    np.testing.assert_array_equal(coarse.bonds["C-C"], obs.bonds["C-C"].reshape(20, 2)[::5].ravel())
    np.testing.assert_array_equal(coarse.dihedrals["phi"], obs.dihedrals["phi"][::5])
    assert thinned(obs, 0.1) is obs


def _two_state(n_cycles, dwell_a, dwell_b, dt):
    """A state sequence alternating dwell_a frames in state 0 and dwell_b in state 1."""
    return np.tile(np.r_[np.zeros(dwell_a, int), np.ones(dwell_b, int)], n_cycles)


def test_kinetics_rows_read_every_method_at_the_coarsest_step(rng):
    md = _observed(rng, 3000, assignment=_two_state(10, 100, 200, 0.1), dt=0.1)  # 10 ps in alpha, 20 in beta
    sd = _observed(rng, 150, assignment=_two_state(5, 5, 25, 1.0), dt=1.0)  # 5 ps in alpha, 25 in beta
    rows, passages, means = kinetics_rows("mol", {"MD": md, "SD": sd}, n_boot=200)
    v = rows.set_index(["observable", "method", "statistic"]).value
    assert v["fpt alpha->beta", "MD", "mean_ps"] == pytest.approx(10.0)
    assert v["fpt beta->alpha", "MD", "mean_ps"] == pytest.approx(20.0)
    assert v["fpt alpha->beta", "SD/MD", "mfpt_ratio"] == pytest.approx(0.5)
    assert v["fpt beta->alpha", "SD/MD", "mfpt_ratio"] == pytest.approx(1.25)
    assert v["population alpha", "MD", "fraction"] == pytest.approx(1 / 3)
    assert v["population alpha", "MD split-half", "abs_difference"] == pytest.approx(0.0)  # 5 cycles each half
    lopsided = _observed(rng, 400, assignment=np.r_[np.zeros(300, int), np.ones(100, int)], dt=0.1)
    w = kinetics_rows("mol", {"MD": lopsided}, n_boot=20)[0].set_index(["observable", "method", "statistic"]).value
    assert w["population beta", "MD split-half", "abs_difference"] == pytest.approx(0.5)  # halves 0 and 0.5
    assert v["fpt alpha->beta", "MD", "n"] == 9  # the first dwell starts the record, it is no passage
    assert means["SD"]["alpha", "beta"][0] == pytest.approx(5.0) and len(passages["SD"]["beta", "alpha"]) == 4


def test_conditional_rows_are_zero_for_one_ensemble_and_ln2_for_disjoint_ones(rng):
    phi = rng.normal(-80, 10, (40, 2))
    psi = rng.normal(-40, 10, (40, 2))
    same = conditional_rows("mol", "alpha", {"MD": {"phi": phi, "psi": psi}, "SD": {"phi": phi, "psi": psi}},
                            [1.0, 10.0], bins=18)  # fmt: skip
    v = same.set_index(["observable", "method", "statistic"]).value
    assert v["phi/psi | alpha, t = 10 ps", "SD vs MD", "jsd_nats"] == pytest.approx(0.0, abs=1e-12)
    assert v["phi/psi | alpha, t = 1 ps", "MD", "replicas"] == 40
    far = conditional_rows("mol", "alpha", {"MD": {"phi": phi, "psi": psi}, "SD": {"phi": phi + 180, "psi": psi}},
                           [1.0, 10.0], bins=18)  # fmt: skip
    v = far.set_index(["observable", "method", "statistic"]).value
    assert v["phi/psi | alpha, t = 1 ps", "SD vs MD", "jsd_nats"] == pytest.approx(np.log(2))


def test_observe_assigns_core_sets_of_real_structures(ala2_resolved):
    mol, pos = ala2_resolved
    obs = observe(mol, np.stack([pos, pos]), 1.0)
    assert obs.states == ["alpha", "beta"] and obs.n_frames == 2
    assert set(obs.bonds) == set(bond_classes(mol.top)) and len(obs.bonds["C-H"]) == 20
    inside = [mol.in_state(pos[None], s)[0] for s in obs.states]
    expect = inside.index(True) if any(inside) else -1
    assert (obs.assignment == expect).all()


def test_metrics_stage_nests_rows_and_writes_nan_as_null(tmp_path):
    a = pd.DataFrame([["m", "fpt a->b", "SD/MD", "mfpt_ratio", np.nan], ["m", "phi", "SD vs MD", "jsd_nats", 0.1]],
                     columns=["molecule", "observable", "method", "statistic", "value"])  # fmt: skip
    a.to_csv(tmp_path / "a.csv", index=False)
    out = {"json": tmp_path / "metrics.json", "csv": tmp_path / "metrics.csv"}
    metrics_stage([tmp_path / "a.csv"], out)
    data = json.loads(out["json"].read_text())  # strict JSON: no NaN
    assert data == {"m": {"fpt a->b": {"SD/MD": {"mfpt_ratio": None}}, "phi": {"SD vs MD": {"jsd_nats": 0.1}}}}
    assert nested(a) == data
    pd.DataFrame({"x": [1]}).to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(ScoredynError, match=r"bad\.csv"):
        metrics_stage([tmp_path / "bad.csv"], out)


def test_speed_stage_uses_each_runs_own_speed_and_keeps_the_job_as_secondary(tmp_path, rollout_summary):
    def bench(name, seconds):
        path = tmp_path / f"{name}.tsv"
        path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t10\n")
        return path

    def rollout(name, wall_s, **extra):
        path = tmp_path / f"{name}.json"
        rollout_summary(wall_s, **extra).write(path)
        return path

    md_json = tmp_path / "md.json"
    phases = {"eq": PhaseSpeed(10.0, 1.0, 50.0), "md": PhaseSpeed(90.0, 0.0, 100.0)}
    MDSummary("m", 901, 0.1, 1, 3.0, 700, phases).write(md_json)
    sd_json = rollout("sd", 86.4, rejections=3, violations=0, evaluations_per_step=60.0, checks={"bonds_ok": 1.0})
    dff_json = rollout("dff", 432.0, rejections=0, violations=50, evaluations_per_step=500.0,
                       checks={"bonds_ok": 0.9})  # fmt: skip
    sd_ens = tmp_path / "sd_ens.json"
    rollout_summary(4.32, replicas=10, steps=40).write(sd_ens)  # 400 ps in 4.32 s: 8000 ns/day
    md_ens = tmp_path / "md_ens.h5"
    write_trajectory(md_ens, Trajectory(np.zeros((2, 3, 1, 3)), ["C"], np.array([6]), 1.0,
                                        attrs={"ns_per_day_mean": 30.0}))  # fmt: skip
    ens = [EnsembleRun("m", "alpha", "SD", 10, 40.0, tmp_path / "sd_ens.h5", (bench("ens", 8.64),), sd_ens),
           EnsembleRun("m", "alpha", "MD", 2, 40.0, md_ens, (bench("md0", 4.32), bench("md1", 4.32)))]  # fmt: skip
    out = {"figure": tmp_path / "speed.png", "csv": tmp_path / "speed.csv"}
    threads = {"md_production": 2, "md_conditional_run": 1, "sd_production": 1, "sd_conditional": 2,
               "dff_production": 1, "dff_conditional": 2}  # fmt: skip
    learned = {"SD": {"json": [sd_json], "bench": [bench("sd", 172.8)]},
               "DFF": {"json": [dff_json], "bench": [bench("dff", 0.5)]}}  # fmt: skip
    md = {"json": [md_json], "bench": [bench("md", 172.8)]}
    df = evaluate_speed_stage(None, ["m"], md, learned, ens, threads, out)
    v = df.set_index(["observable", "method", "statistic"]).value
    assert v["throughput production", "MD", "ns_per_day"] == pytest.approx(100.0)  # mdrun's, of phase md
    assert v["throughput production", "MD", "job_ns_per_day"] == pytest.approx(50.0)  # 0.1 ns in 1/500 day
    assert v["throughput production", "SD", "ns_per_day"] == pytest.approx(1000.0)  # 1 ns in its own 86.4 s
    assert v["throughput production", "SD", "job_ns_per_day"] == pytest.approx(500.0)  # the job took 172.8 s
    assert v["throughput production", "SD/MD", "speedup"] == pytest.approx(10.0)
    assert v["throughput production", "DFF", "ns_per_day"] == pytest.approx(200.0)
    assert v["throughput production", "DFF", "job_ns_per_day"] == pytest.approx(200.0)  # resumed: its own 432 s
    assert v["throughput production", "DFF/MD", "speedup"] == pytest.approx(2.0)
    assert v["throughput production", "DFF", "evaluations_per_step"] == 500.0
    assert v["throughput ensemble alpha", "SD", "ns_per_day"] == pytest.approx(8000.0)
    assert v["throughput ensemble alpha", "SD", "job_ns_per_day"] == pytest.approx(4000.0)
    assert v["throughput ensemble alpha", "MD", "ns_per_day"] == pytest.approx(30.0)
    assert v["throughput ensemble alpha", "MD", "job_ns_per_day"] == pytest.approx(800.0)  # 80 ps in 8.64 s
    assert v["stability", "SD", "rejections_per_100k_steps"] == pytest.approx(300.0)
    assert v["stability", "DFF", "violations_per_100k_steps"] == pytest.approx(5000.0)
    assert v["stability", "DFF", "frames_bonds_ok"] == pytest.approx(0.9)
    assert out["figure"].stat().st_size > 10_000
    (tmp_path / "md.tsv").write_text("garbage")
    with pytest.raises(ScoredynError, match=r"md\.tsv"):
        evaluate_speed_stage(None, ["m"], md, {}, [], threads, out)
    MDSummary("m", 901, 0.1, 1, 3.0, 700, {"md": PhaseSpeed(90.0, 0.0, 0.0)}).write(md_json)
    with pytest.raises(ScoredynError, match=r"md\.json.*md_production"):
        evaluate_speed_stage(None, ["m"], md, {}, [], threads, out)


def test_figures_put_methods_side_by_side_on_one_scale(rng):
    a = rng.normal(0, 1, 2000).cumsum() % 300 - 150
    md = _observed(rng, 2000, assignment=_two_state(20, 50, 50, 1.0))
    sd = _observed(rng, 2000, shift=20.0, assignment=_two_state(40, 25, 25, 1.0))
    dff = _observed(rng, 2000, shift=-10.0, assignment=_two_state(10, 100, 100, 1.0))
    obs = {"MD": md, "SD": sd, "DFF": dff}
    fig = figures.ramachandran_figure(obs, {"alpha": (-80, -40), "beta": (-80, 150)}, 300.0, 8.0, 24.0)
    panels = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert [ax.get_title().split(":")[0] for ax in panels] == ["MD", "SD", "DFF"] * 2
    assert panels[3].get_xlim() == panels[5].get_xlim() == (-180.0, 180.0)
    plt.close(fig)
    rows, passages, means = kinetics_rows("mol", obs, n_boot=100)
    assert {"SD/MD", "DFF/MD"} <= set(rows[rows.statistic == "mfpt_ratio"].method)
    fig = figures.fpt_figure(passages, means, {"MD": 200.0, "SD": 200.0, "DFF": 200.0})
    assert [ax.get_title() for ax in fig.axes] == ["α → β", "β → α"]
    assert all(ax.axison and ax.get_ylim()[0] >= 0 for ax in fig.axes)
    plt.close(fig)
    # without a passage a panel says so, with the lengths, and draws no (negative) density axis
    empty = {m: {pair: np.zeros(0) for pair in p} for m, p in passages.items()}
    nan = {m: {pair: (np.nan, np.nan, np.nan) for pair in p} for m, p in means.items()}
    fig = figures.fpt_figure(empty, nan, {"MD": 4000.0, "SD": 20000.0, "DFF": 500.0})
    assert not any(ax.axison for ax in fig.axes)
    assert fig.axes[0].texts[0].get_text() == "no transition seen\nin MD 4 ns, SD 20 ns, DFF 500 ps"
    plt.close(fig)
    for kind in ("bonds", "angles"):
        fig = figures.geometry_figure(obs, kind, 300.0, 24.0)
        assert len(fig.axes[0].get_lines()) == 3
        plt.close(fig)
    ens = {m: {"phi": rng.normal(-80, 20, (30, 3)), "psi": rng.normal(a[:3], 20, (30, 3))} for m in obs}
    fig = figures.conditional_figure(ens, [1.0, 10.0, 20.0], "alpha", 15.0, 300.0, 24.0)
    assert sum(ax.get_title().startswith(("MD", "SD", "DFF")) for ax in fig.axes) == 9
    plt.close(fig)
    one = {m: {"cccc": v["phi"]} for m, v in ens.items()}
    fig = figures.conditional_figure(one, [1.0, 10.0, 20.0], "trans", 15.0, 300.0, 24.0)
    assert len(fig.axes[0].get_lines()) == 3
    plt.close(fig)


def _with_hydrogens(rng, n, ch_sd=0.003, broken=0):
    """Observables with a C-C and a C-H class (two C-H bonds per frame); ``broken`` C-C bonds at 14 A."""
    obs = _observed(rng, n)
    cc = obs.bonds["C-C"].copy()
    cc[rng.choice(len(cc), broken, replace=False)] = 14.0
    ch = np.round(rng.normal([1.09, 1.10], ch_sd, (n, 2)), 2).ravel()  # MD's XTC rounds to 0.01 A
    return Observed(obs.dihedrals, {"C-C": cc, "C-H": ch}, obs.angles, obs.assignment, obs.states, obs.dt_ps)


def test_constrained_bond_classes_follow_md_constraints():
    classes = ["C-C", "C-N", "C-H", "N-H"]
    assert constrained_bond_classes(classes, "h-bonds") == ["C-H", "N-H"]
    assert constrained_bond_classes(classes, "all-bonds") == classes
    assert constrained_bond_classes(classes, "none") == []
    with pytest.raises(ConfigError, match=r"md\.constraints"):
        constrained_bond_classes(classes, "h-angles")


def test_bonds_constrained_in_md_get_no_jsd_but_a_deviation_from_md(rng):
    md, sd = _with_hydrogens(rng, 5000), _with_hydrogens(rng, 5000, ch_sd=0.05)
    rows = equilibrium_rows("mol", {"MD": md, "SD": sd}, "h-bonds")
    ch = rows[rows.observable == "bond C-H"].set_index(["method", "statistic"]).value
    assert "jsd_nats" not in set(ch.index.get_level_values("statistic"))
    assert ch["MD", "constrained"] == 1.0
    assert ch["SD vs MD", "mean_abs_dev_A"] == pytest.approx(0.05 * np.sqrt(2 / np.pi), rel=0.1)
    assert ch["SD vs MD", "max_abs_dev_A"] > 0.15
    assert ch["SD vs MD", "fraction_outside_md_range"] > 0.3
    cc = rows[rows.observable == "bond C-C"]
    assert {"SD vs MD", "MD split-half"} <= set(cc[cc.statistic == "jsd_nats"].method)  # C-C stays compared
    free = equilibrium_rows("mol", {"MD": md, "SD": sd}, "none")
    assert {"SD vs MD", "MD split-half"} <= set(free[(free.observable == "bond C-H") &
                                                   (free.statistic == "jsd_nats")].method)  # fmt: skip
    assert "constrained" not in set(free.statistic)
    fixed = equilibrium_rows("mol", {"MD": md, "SD": sd}, "all-bonds")
    assert not fixed[fixed.observable.str.startswith("bond ") & (fixed.statistic == "jsd_nats")].size
    fig = figures.geometry_figure({"MD": md, "SD": sd}, "bonds", 300.0, 24.0, "h-bonds")
    titles = [ax.get_title() for ax in fig.axes if ax.get_visible()]
    assert titles == ["2 bonds C-C", "2 bonds C-H\nconstrained in MD (h-bonds)"]
    plt.close(fig)


def test_a_few_broken_bonds_raise_the_jsd_and_show_in_the_figure(rng):
    md, good, bad = (_with_hydrogens(rng, 20_000, broken=b) for b in (0, 0, 400))  # 1 % of SD's C-C at 14 A
    v = {k: equilibrium_rows("mol", {"MD": md, "SD": sd}).set_index(["observable", "method", "statistic"]).value
         for k, sd in (("good", good), ("bad", bad))}  # fmt: skip
    jsd = {k: x["bond C-C", "SD vs MD", "jsd_nats"] for k, x in v.items()}
    assert jsd["bad"] > 10 * jsd["good"] and jsd["bad"] == pytest.approx(0.01 * np.log(2) / 2, rel=0.1)  # edge bin
    assert v["bad"]["bond C-C", "SD vs MD", "fraction_outside_md_range"] == pytest.approx(0.01, abs=5e-4)
    md_lo, md_hi = geometry_range(md.bonds["C-C"])
    one = np.r_[good.bonds["C-C"][:-1], 14.0]
    panel = figures.geometry_panel({"MD": md.bonds["C-C"], "SD": one})
    assert (panel.lo, panel.hi) == (md_lo, md_hi) and panel.outside["SD"].high == 14.0  # one outlier widens nothing
    panel = figures.geometry_panel({"MD": md.bonds["C-C"], "SD": bad.bonds["C-C"]})
    reach = figures.GEOMETRY_REACH * max(md_hi - md_lo, 0.153)
    assert (panel.lo, panel.hi) == pytest.approx((md_lo, md_hi + reach))  # widened, capped: MD's peak keeps its width
    assert panel.outside["SD"].fraction == pytest.approx(0.01, abs=5e-4)
    assert panel.outside["SD"].high == 14.0 and panel.outside["MD"].fraction < 1e-3
    note = figures.outside_note("SD", panel.outside["SD"], panel.lo, panel.hi, "Å")
    assert note.startswith("SD: 1% off axis (") and note.endswith("-14 Å)")  # MD's range cuts SD's low tail too
    fig = figures.geometry_figure({"MD": md, "SD": bad}, "bonds", 300.0, 24.0)
    assert note in [t.get_text() for t in fig.axes[0].texts]
    # the legend sits outside the panels, where it covers no note
    assert fig.axes[0].get_legend() is None and [t.get_text() for t in fig.legends[0].get_texts()] == ["MD", "SD"]
    plt.close(fig)


def test_geometry_panel_widens_to_a_looser_method_but_not_to_its_broken_tail(rng):
    md = rng.normal(1.53, 0.03, 40_000)
    loose = rng.normal(1.53, 0.06, 40_000)
    md_lo, md_hi = geometry_range(md)
    panel = figures.geometry_panel({"MD": md, "SD": loose})
    assert (panel.lo, panel.hi) == pytest.approx(tuple(np.quantile(loose, [0.005, 0.995])))  # SD's bulk is shown
    assert panel.lo < md_lo and panel.outside["SD"].fraction == pytest.approx(0.01, abs=1e-3)
    broken = np.where(rng.random(40_000) < 0.05, 14.0, md)  # 5 %: past SD's own 99.5 % quantile
    panel = figures.geometry_panel({"MD": md, "SD": broken, "DFF": np.r_[np.full(39_999, 1.53), np.nan]})
    reach = figures.GEOMETRY_REACH * max(md_hi - md_lo, 0.153)
    assert panel.hi == pytest.approx(md_hi + reach) and panel.lo == md_lo
    assert panel.outside["SD"].fraction == pytest.approx(0.05, abs=0.005)
    assert panel.outside["DFF"].fraction == pytest.approx(1 / 40_000)  # a NaN bond is not dropped either
    note = figures.outside_note("DFF", panel.outside["DFF"], panel.lo, panel.hi, "A")
    assert note == "DFF: 0.0025% off axis (non-finite)"
    one = figures.outside_note("SD", outside(np.r_[np.full(99, 1.5), 14.0], (1.0, 2.0)), 1.0, 2.0, "Å")
    assert one == "SD: 1% off axis (max 14 Å)"


def test_a_molecule_without_states_gets_no_kinetics_and_a_figure_that_says_why(rng):
    from scoredyn.analysis.states import core_assignment

    assert (core_assignment(np.zeros((5, 0), dtype=bool)) == -1).all()  # ethane declares no states
    obs = {m: Observed({"hcch": rng.normal(60, 20, 50)}, {}, {}, np.full(50, -1), [], 1.0) for m in ("MD", "SD")}
    rows, passages, means = kinetics_rows("ethane", obs, n_boot=100)
    assert rows.empty and passages == {"MD": {}, "SD": {}}
    fig = figures.fpt_figure(passages, means, {"MD": 50.0, "SD": 50.0})
    assert fig.axes[0].texts[0].get_text() == "the molecule declares fewer than two states"
    plt.close(fig)


def test_an_md_summary_round_trips_and_a_broken_one_names_the_rule(tmp_path):
    path = tmp_path / "production.json"
    phases = {"eq": PhaseSpeed(10.0, 2.0, 50.0), "md": PhaseSpeed(90.0, 8.0, 100.0)}
    MDSummary("m", 901, 0.1, 7, 3.0, 700, phases, {"bonds_ok": 1.0}).write(path)
    back = MDSummary.from_json(path)
    assert back.production == PhaseSpeed(90.0, 8.0, 100.0) and back.ps == 100.0 and back.wall_s == 10.0
    assert json.loads(path.read_text())["phases"]["md"]["ns_per_day"] == 100.0  # the file keeps its keys
    path.write_text(json.dumps({"phases": {"eq": {"ps": 1.0}}}))
    with pytest.raises(ScoredynError, match=r"production\.json: not a readable MD production summary.*md_production"):
        MDSummary.from_json(path)


def test_ensemble_runs_name_each_methods_files_and_rule():
    runs = ensemble_runs(Layout(Path("r")), {"m": ["alpha", "beta"]}, ["sd", "dff"], 4, 2, 5.0)
    assert [(e.state, e.method) for e in runs] == [(s, x) for s in ("alpha", "beta") for x in ("SD", "DFF", "MD")]
    sd, dff, md = runs[:3]
    assert sd.output == Path("r/sd/m/conditional_alpha.h5") and sd.summary == Path("r/sd/m/conditional_alpha.json")
    assert sd.bench == (Path("r/benchmarks/sd/m/conditional_alpha.tsv"),) and (sd.runs, sd.ps) == (4, 5.0)
    assert dff.rule == "dff_conditional" and not dff.is_md and md.is_md and md.rule == "md_conditional_run"
    assert md.summary is None and md.runs == 2 and md.output == Path("r/md/m/conditional_alpha.h5")
    assert md.bench == tuple(Path(f"r/benchmarks/md/m/conditional_alpha/run_000{i}.tsv") for i in (0, 1))
    assert all(not e.is_md for e in ensemble_runs(Layout(Path("r")), {"m": ["alpha"]}, ["sd"], 4, 0, 5.0))


def test_a_long_suptitle_is_broken_into_lines_that_fit_a_one_panel_figure():
    from scoredyn.evaluation.figures import fitted_title

    title = "butane: SD against MD (held out: never seen in training); MD 1.5 ns, SD 1 ns"
    one_panel = fitted_title(title, 3.2)
    assert one_panel.replace("\n", " ") == title and max(map(len, one_panel.splitlines())) <= 3.2 * 13
    assert "\n" in one_panel and "\n" not in fitted_title(title, 9.6)
