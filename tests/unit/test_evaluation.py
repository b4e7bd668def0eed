"""Evaluation: observables, KDE, circular W1, metric rows and figures on inputs with known answers."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from scoredyn.analysis.divergence import wasserstein_1d, wasserstein_circular
from scoredyn.analysis.kde import kde_1d, kde_2d, scott_bandwidth
from scoredyn.analysis.observables import angle_classes, angle_triples, bond_classes
from scoredyn.errors import ScoredynError
from scoredyn.evaluation import figures
from scoredyn.evaluation.metrics import conditional_rows, equilibrium_rows, kinetics_rows, nested
from scoredyn.evaluation.observe import Observed, halves, observe
from scoredyn.evaluation.stage import evaluate_speed_stage, metrics_stage


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


def test_speed_stage_computes_ns_per_day_from_benchmark_seconds(tmp_path):
    def bench(name, seconds):
        path = tmp_path / f"{name}.tsv"
        path.write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t10\n")
        return path

    md_json = tmp_path / "md.json"
    phases = {"eq": {"ps": 10.0, "ns_per_day": 50.0}, "md": {"ps": 90.0, "ns_per_day": 60.0}}
    md_json.write_text(json.dumps({"phases": phases}))
    sd_json = tmp_path / "sd.json"
    sd_json.write_text(json.dumps({"simulated_ps_per_replica": 1000.0, "replicas": 1, "steps": 1000, "rejections": 3,
                                   "violations": 0, "threads": 1, "device": "cpu", "evaluations_per_step": 60.0,
                                   "wall_s": 86.4, "checks": {"bonds_ok": 1.0}}))  # fmt: skip
    dff_json = tmp_path / "dff.json"
    dff_json.write_text(json.dumps({"simulated_ps_per_replica": 1000.0, "replicas": 1, "steps": 1000, "rejections": 0,
                                    "violations": 50, "threads": 1, "device": "cpu", "evaluations_per_step": 500.0,
                                    "wall_s": 432.0, "checks": {"bonds_ok": 0.9}}))  # fmt: skip
    ens = [{"molecule": "m", "state": "alpha", "method": "SD", "runs": 10, "ps": 40.0, "bench": [bench("ens", 8.64)]},
           {"molecule": "m", "state": "alpha", "method": "DFF", "runs": 10, "ps": 40.0,
            "bench": [bench("dens", 17.28)]}]  # fmt: skip
    out = {"figure": tmp_path / "speed.png", "csv": tmp_path / "speed.csv"}
    threads = {"md_production": 2, "md_conditional_run": 1, "sd_production": 1, "sd_conditional": 2,
               "dff_production": 1, "dff_conditional": 2}  # fmt: skip
    learned = {"SD": {"json": [sd_json], "bench": [bench("sd", 0.5)]},
               "DFF": {"json": [dff_json], "bench": [bench("dff", 432.0)]}}  # fmt: skip
    df = evaluate_speed_stage(None, ["m"], {"json": [md_json], "bench": [bench("md", 86.4)]}, learned, ens, threads,
                              out)  # fmt: skip
    v = df.set_index(["observable", "method", "statistic"]).value
    assert v["throughput production", "MD", "ns_per_day"] == pytest.approx(100.0)  # 0.1 ns in 1/1000 day
    assert v["throughput production", "SD", "ns_per_day"] == pytest.approx(1000.0)  # its own 86.4 s, not 0.5 s
    assert v["throughput production", "SD/MD", "speedup"] == pytest.approx(10.0)
    assert v["throughput ensemble alpha", "SD", "ns_per_day"] == pytest.approx(4000.0)
    assert v["stability", "SD", "rejections_per_100k_steps"] == pytest.approx(300.0)
    assert v["throughput production", "DFF", "ns_per_day"] == pytest.approx(200.0)
    assert v["throughput production", "DFF/MD", "speedup"] == pytest.approx(2.0)
    assert v["throughput production", "DFF", "evaluations_per_step"] == 500.0
    assert v["throughput ensemble alpha", "DFF", "ns_per_day"] == pytest.approx(2000.0)
    assert v["stability", "DFF", "violations_per_100k_steps"] == pytest.approx(5000.0)
    assert v["stability", "DFF", "frames_bonds_ok"] == pytest.approx(0.9)
    assert out["figure"].stat().st_size > 10_000
    (tmp_path / "md.tsv").write_text("garbage")
    with pytest.raises(ScoredynError, match=r"md\.tsv"):
        evaluate_speed_stage(None, ["m"], {"json": [md_json], "bench": [tmp_path / "md.tsv"]},
                             {"SD": {"json": [sd_json], "bench": [tmp_path / "sd.tsv"]}}, [], {"md_production": 1},
                             out)  # fmt: skip


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
    fig = figures.fpt_figure(passages, means)
    assert [ax.get_title() for ax in fig.axes] == ["α → β", "β → α"]
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
