import h5py
import numpy as np
import pandas as pd
import pytest
import torch

from scoredyn.data.dataset import Source, pack_dataset
from scoredyn.data.loader import PairData
from scoredyn.diffusion.objective import DenoiserObjective
from scoredyn.errors import ScoredynError
from scoredyn.model.checkpoint import CheckpointError, load_model
from scoredyn.training import TrainConfig, learning_rate_at, train
from scoredyn.training_metrics import TrainingMetrics

SMALL = dict(batch_size=8, width=16, n_blocks=2, checkpoint_every=5, validate_every=5, val_pairs=16, seed=4)


@pytest.fixture
def dataset(tmp_path):
    """A reference-format file with only the three required attributes, packed."""
    rng = np.random.default_rng(0)
    with h5py.File(tmp_path / "ref.h5", "w") as f:
        f["pos"] = np.cumsum(rng.normal(scale=0.2, size=(200, 5, 3)), axis=0) + rng.normal(size=(1, 5, 3)) * 2
        f.attrs["symbols"] = ["C", "H", "H", "H", "O"]
        f.attrs["numbers"] = [6, 1, 1, 1, 8]
        f.attrs["timestep"] = 0.1
    pack_dataset([Source(tmp_path / "ref.h5", "x")], tmp_path / "d.h5", 1.0, 0.2, 5.0, "auto", 0)
    return tmp_path / "d.h5"


def run(dataset, work, steps, objective=None):
    cfg = TrainConfig(steps=steps, **SMALL)
    return train(cfg, PairData(dataset), PairData(dataset, "val"), work, work / "model.pt", work / "metrics.csv",
                 atom_types="elements", progress=False, objective=objective)  # fmt: skip


def test_reference_only_file_trains_and_model_reloads(dataset, tmp_path):
    df = run(dataset, tmp_path / "a", 10)
    assert list(df["step"]) == [5, 10] and np.isfinite(df["train_loss"]).all()
    assert {"val_loss", "val_loss_tau_0_0.05", "samples_per_s"} <= set(df.columns)
    net, meta = load_model(tmp_path / "a" / "model.pt")
    assert meta.vocabulary == ["C", "H", "O"] and meta.lag_ps == 1.0 and meta.kind == "sd"
    assert meta.schedule.data_scale == 2.0 and net.cfg.width == 16
    raw = torch.load(tmp_path / "a" / "model.pt", weights_only=True)  # a plain, safe file
    assert set(raw) >= {"state_dict", "network", "vocabulary", "lag_ps", "schedule"}


def test_resume_matches_straight_through(dataset, tmp_path):
    run(dataset, tmp_path / "once", 20)
    run(dataset, tmp_path / "twice", 10)
    df = run(dataset, tmp_path / "twice", 20)  # resumes from the step-10 checkpoint
    assert list(df["step"]) == [5, 10, 15, 20]
    a = torch.load(tmp_path / "once" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "twice" / "model.pt", weights_only=True)["state_dict"]
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_denoising_force_field_trains_in_the_same_loop_and_resumes(dataset, tmp_path):
    dff = DenoiserObjective((0.05, 0.2), duplicates=4)
    df = run(dataset, tmp_path / "once", 10, dff)
    assert list(df["step"]) == [5, 10] and np.isfinite(df["val_loss"]).all()
    assert not any(c.startswith("val_loss_tau") for c in df.columns)  # no diffusion-time buckets
    assert df["train_loss"].iloc[0] < 1.5  # a denoising loss: 1 for a zero prediction
    net, meta = load_model(tmp_path / "once" / "model.pt", kind="dff")
    assert meta.kind == "dff" and meta.objective["sigma_A"] == [0.05, 0.2]
    assert net.cfg.skip_var == 0.0  # the Gaussian skip belongs to SD's displacement model
    with pytest.raises(CheckpointError, match=r"holds a denoising force field .* score-dynamics model .* is needed"):
        load_model(tmp_path / "once" / "model.pt")
    run(dataset, tmp_path / "twice", 5, dff)
    run(dataset, tmp_path / "twice", 10, dff)
    a = torch.load(tmp_path / "once" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "twice" / "model.pt", weights_only=True)["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    run(dataset, tmp_path / "twice", 10)  # an SD objective does not resume a DFF checkpoint
    assert load_model(tmp_path / "twice" / "model.pt")[1].kind == "sd"


def test_unreadable_checkpoint_gives_one_clear_error(tmp_path):
    (tmp_path / "model.pt").write_bytes(b"\x00garbage")
    with pytest.raises(CheckpointError, match=r"model.pt: cannot be read as a scoredyn checkpoint"):
        load_model(tmp_path / "model.pt")
    with pytest.raises(CheckpointError, match=r"no such file"):
        load_model(tmp_path / "missing.pt")
    torch.save({"format": "other"}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=r"not a scoredyn model file"):
        load_model(tmp_path / "x.pt")


def test_checkpoint_of_other_data_is_not_resumed(dataset, tmp_path):
    run(dataset, tmp_path / "w", 10)
    other = tmp_path / "other.h5"
    pack_dataset([Source(tmp_path / "ref.h5", "x")], other, 1.0, 0.5, 5.0, "auto", 1)  # another split
    run(other, tmp_path / "w", 10)  # must start afresh, not return the old model
    run(other, tmp_path / "fresh", 10)
    a = torch.load(tmp_path / "w" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "fresh" / "model.pt", weights_only=True)["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_ema_warms_up_and_forgets_the_initial_weights():
    from scoredyn.training import EMA

    net = torch.nn.Linear(2, 2)
    ema = EMA(net, 0.999)
    assert ema.decay_at(1) == pytest.approx(2 / 11) and ema.decay_at(10**6) == 0.999
    with torch.no_grad():
        net.weight.fill_(1.0)
    for step in range(1, 2001):
        ema.update(net, step)
    # a constant 0.999 would leave 0.999^2000 = 14% of the initial weights; the warm-up leaves under 1%
    assert torch.allclose(ema.shadow["weight"], torch.ones(2, 2), atol=0.01)


def test_model_records_its_edge_convention_and_a_version_1_file_loads_as_trained(dataset, tmp_path):
    run(dataset, tmp_path / "new", 5)
    net, meta = load_model(tmp_path / "new" / "model.pt")
    assert meta.version == 3 and net.cfg.equivariant and net.cfg.position_scale == 2.0
    assert meta.anchor is None  # trained on the frames themselves
    # a model written before the convention was recorded: the paper's network, positions in Angstrom
    cfg = TrainConfig(steps=5, architecture="paper", position_scale=1.0, **SMALL)
    train(cfg, PairData(dataset), None, tmp_path / "old", tmp_path / "old" / "model.pt", tmp_path / "old" / "m.csv",
          atom_types="elements", progress=False)  # fmt: skip
    rec = torch.load(tmp_path / "old" / "model.pt", weights_only=True)
    rec["version"] = 1
    for key in ("position_scale", "equivariant"):
        del rec["network"][key]
    torch.save(rec, tmp_path / "v1.pt")
    old, _ = load_model(tmp_path / "old" / "model.pt")
    v1, meta = load_model(tmp_path / "v1.pt")
    assert meta.version == 1 and v1.cfg.position_scale == 1.0 and not v1.cfg.equivariant
    b = PairData(dataset, "val").batch(torch.arange(4))
    tau = torch.full((4,), 0.2)
    torch.testing.assert_close(v1(b.z, tau, b.r, b.types, b.batch), old(b.z, tau, b.r, b.types, b.batch))
    # a record that fits no network of this scoredyn gets one error, not a traceback
    rec["network"]["unknown_setting"] = 1
    torch.save(rec, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match=r"bad.pt: its network record does not fit"):
        load_model(tmp_path / "bad.pt")


def test_log_snr_training_reports_the_validation_loss_under_its_own_draw(dataset, tmp_path):
    cfg = TrainConfig(steps=5, tau_sampling="log_snr", **SMALL)
    df = train(cfg, PairData(dataset), PairData(dataset, "val"), tmp_path, tmp_path / "model.pt",
               tmp_path / "m.csv", atom_types="elements", progress=False)  # fmt: skip
    assert {"val_loss", "val_loss_train_draw", "val_loss_train_draw_tau_0_0.05"} <= set(df.columns)
    assert df["val_loss"].iloc[-1] != df["val_loss_train_draw"].iloc[-1]


def test_a_checkpoint_of_another_architecture_is_not_resumed(dataset, tmp_path):
    train(TrainConfig(steps=5, architecture="paper", **SMALL), PairData(dataset), None, tmp_path,
          tmp_path / "model.pt", tmp_path / "m.csv", atom_types="elements", progress=False)  # fmt: skip
    df = run(dataset, tmp_path, 10)  # equivariant: starts afresh instead of loading mismatched weights
    assert list(df["step"]) == [5, 10]
    assert load_model(tmp_path / "model.pt")[0].cfg.equivariant


def test_compiled_training_trains_the_same_model_and_resumes_a_plain_checkpoint(dataset, tmp_path):
    """torch.compile changes the speed, not the model: a plain run resumed compiled matches a plain run
    to float32 rounding, and the checkpoint is not thrown away when only ``compile`` changes."""
    plain = run(dataset, tmp_path / "plain", 10)
    run(dataset, tmp_path / "mixed", 5)
    cfg = TrainConfig(steps=10, compile=True, **SMALL)
    mixed = train(cfg, PairData(dataset), PairData(dataset, "val"), tmp_path / "mixed", tmp_path / "mixed" / "model.pt",
                  tmp_path / "mixed" / "metrics.csv", atom_types="elements", progress=False)  # fmt: skip
    assert list(mixed["step"]) == [5, 10]  # resumed at step 5
    a = torch.load(tmp_path / "plain" / "model.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "mixed" / "model.pt", weights_only=True)["state_dict"]
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(mixed["train_loss"], plain["train_loss"], rtol=1e-3)


def test_residual_weighting_scores_a_silent_network_one_at_every_noise_level():
    """On Gaussian displacements the skip alone is the exact noise prediction. Its plain noise
    loss is the posterior variance s_tau^2, which vanishes at high noise (so the network's
    output, the mean move there, is weighed by almost nothing); the residual weighting
    scores it 1 at every tau, like a network regressing its unit-scale target."""
    from scoredyn.diffusion.loss import dsm_loss, residual_scale2
    from scoredyn.diffusion.schedule import VPSchedule
    from scoredyn.graph import PairBatch
    from scoredyn.model.network import NetworkConfig, ScoreNetwork

    schedule, g, n, v = VPSchedule(), 600, 8, 0.3  # v: variance per coordinate of b z
    gen = torch.Generator().manual_seed(0)
    z = torch.randn(g * n, 3, generator=gen, dtype=torch.float64) * v**0.5 / schedule.data_scale
    r = torch.randn(g * n, 3, generator=gen, dtype=torch.float64) * 1.5
    batch = torch.arange(g).repeat_interleave(n)
    pairs = PairBatch(r, z, torch.zeros(g * n, dtype=torch.long), batch, g)
    # iid atoms: the centroid-free second moment is v (N - 1) / N, the centroid's v / N
    net = ScoreNetwork(NetworkConfig(1, 8, 1, skip_var=v * (n - 1) / n, skip_var_centroid=v / n,
                                     equivariant=True), schedule).double()  # fmt: skip
    for tau in (0.05, 0.3, 0.6, 0.9, 1.0):
        taus = torch.full((g,), tau, dtype=torch.float64)
        with torch.no_grad():
            plain, _ = dsm_loss(net, pairs, schedule, gen, tau=taus)
            even, _ = dsm_loss(net, pairs, schedule, gen, tau=taus, residual_var=v * (n - 1) / n)
        s2 = float(residual_scale2(schedule, taus, batch, g, v * (n - 1) / n)[0])
        assert abs(float(plain.mean()) / s2 - 1) < 0.05, tau
        assert abs(float(even.mean()) - 1) < 0.05, tau
    assert s2 < 1e-4  # tau = 1: the plain loss all but ignores the network there


def test_residual_weighting_and_input_scaling_train_validate_plainly_and_are_recorded(dataset, tmp_path):
    cfg = TrainConfig(steps=5, loss_weighting="residual", input_scaling=True, **SMALL)
    df = train(cfg, PairData(dataset), PairData(dataset, "val"), tmp_path, tmp_path / "model.pt",
               tmp_path / "m.csv", atom_types="elements", progress=False)  # fmt: skip
    assert np.isfinite(df["train_loss"]).all()
    assert df["val_loss"].iloc[-1] != df["val_loss_train_draw"].iloc[-1]  # plain loss, and the weighted one
    net, meta = load_model(tmp_path / "model.pt")
    assert meta.objective["loss_weighting"] == "residual" and net.cfg.input_scaling
    plain = run(dataset, tmp_path, 10)  # the noise weighting starts afresh instead of resuming
    assert list(plain["step"]) == [5, 10]
    with pytest.raises(ValueError, match="parametrisation: gaussian_skip"):
        train(TrainConfig(steps=5, input_scaling=True, gaussian_skip=False, **SMALL), PairData(dataset),
              None, tmp_path / "b", tmp_path / "b.pt", tmp_path / "b.csv", progress=False)  # fmt: skip
    with pytest.raises(ValueError, match="loss weighting"):
        train(TrainConfig(steps=5, loss_weighting="snr", **SMALL), PairData(dataset),
              None, tmp_path / "c", tmp_path / "c.pt", tmp_path / "c.csv", progress=False)  # fmt: skip


def test_cosine_schedule_falls_from_the_rate_to_zero_and_trains(dataset, tmp_path):
    cfg = TrainConfig(steps=100, lr=2e-3, lr_schedule="cosine")
    rates = [learning_rate_at(cfg, s) for s in range(100)]
    assert rates[0] == 2e-3 and rates[50] == pytest.approx(1e-3) and 0 < rates[-1] < 1e-5
    assert np.all(np.diff(rates) < 0)
    assert learning_rate_at(TrainConfig(steps=100, lr=2e-3), 99) == 2e-3
    cos = TrainConfig(steps=10, lr_schedule="cosine", **SMALL)
    train(cos, PairData(dataset), None, tmp_path / "c", tmp_path / "c.pt", tmp_path / "c.csv", progress=False)
    run(dataset, tmp_path / "k", 10)
    a = torch.load(tmp_path / "c.pt", weights_only=True)["state_dict"]
    b = torch.load(tmp_path / "k" / "model.pt", weights_only=True)["state_dict"]
    assert any(not torch.equal(a[k], b[k]) for k in a if a[k].is_floating_point())
    with pytest.raises(ValueError, match="learning-rate schedule"):
        train(TrainConfig(steps=2, lr_schedule="step", **SMALL), PairData(dataset), None, tmp_path / "x",
              tmp_path / "x.pt", tmp_path / "x.csv", progress=False)  # fmt: skip


def test_training_metrics_round_trip_and_name_a_bad_file(dataset, tmp_path):
    df = train(TrainConfig(steps=10, **SMALL), PairData(dataset), PairData(dataset, "val"), tmp_path,
               tmp_path / "model.pt", tmp_path / "metrics.csv", progress=False)  # fmt: skip
    metrics = TrainingMetrics.from_csv(tmp_path / "metrics.csv")
    pd.testing.assert_frame_equal(metrics.frame(), df)
    assert metrics.steps == 10 and metrics.device == "cpu" and metrics.samples_per_s == df["samples_per_s"].iloc[-1]
    assert metrics.val_loss == pytest.approx(df["val_loss"].iloc[-1])
    assert set(metrics.points[0].val) == {c for c in df.columns if c.startswith("val_loss")}
    (tmp_path / "bad.csv").write_text("step,loss\n1,2\n")
    with pytest.raises(ScoredynError, match=r"bad\.csv: not a readable training metrics table"):
        TrainingMetrics.from_csv(tmp_path / "bad.csv")
    with pytest.raises(ScoredynError, match=r"gone\.csv: missing"):
        TrainingMetrics.from_csv(tmp_path / "gone.csv")
