"""The rollout engine on alanine dipeptide with a network whose moves are known to be physical."""

import numpy as np
import pytest
import torch

from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.errors import CheckError, ScoredynError
from scoredyn.geometry import adjacency, side_of_bond
from scoredyn.model.network import NetworkConfig, ScoreNetwork
from scoredyn.rollout.engine import Rollout, RolloutSettings
from scoredyn.rollout.sampler import DisplacementSampler

SCHEDULE = VPSchedule()


class GaussianPlusGraph(ScoreNetwork):
    """Exact noise of displacements N(0, std^2) plus a small real graph-network term.

    The Gaussian part sets the size of the moves; the graph part makes every move depend
    on the replica's own structure, so leaks between replicas would show.
    """

    def __init__(self, std: float, graph_weight: float = 0.01) -> None:
        super().__init__(NetworkConfig(n_types=4, width=16, n_blocks=2, cutoff=4.0))
        torch.manual_seed(0)
        self.reset_parameters()
        self.var = (SCHEDULE.data_scale * std) ** 2
        self.graph_weight = graph_weight

    def denoise(self, z, tau, cond):
        a, s = SCHEDULE.alpha(tau), SCHEDULE.sigma(tau)
        if tau.dim():
            a, s = a[cond.batch, None], s[cond.batch, None]
        exact = s * z / (a**2 * self.var + s**2)
        return exact + self.graph_weight * super().denoise(z, tau, cond)


def make_rollout(ala2_resolved, tmp_path, std=0.01, steps=6, replicas=1, name="run", **kw):
    mol, pos = ala2_resolved
    types = torch.tensor([hash(t) % 4 for t in mol.top.types])
    sampler = DisplacementSampler(GaussianPlusGraph(std), SCHEDULE, SolverConfig("dpm2", 4), types, dtype=torch.float64)
    settings = RolloutSettings(steps=steps, seed=5, checkpoint_every=kw.pop("checkpoint_every", 2), **kw)
    return Rollout(sampler, mol, settings, tmp_path / name), np.repeat(pos[None], replicas, axis=0)


def test_frames_moves_and_speed(ala2_resolved, tmp_path):
    roll, start = make_rollout(ala2_resolved, tmp_path, std=0.005, replicas=3)
    res = roll.run(start, progress=False)
    assert res.pos.shape == (3, 7, 22, 3)
    np.testing.assert_allclose(res.pos[:, 0], start, atol=1e-5)
    step = np.linalg.norm(np.diff(res.pos, axis=1), axis=-1)
    assert 0.003 < step.mean() < 0.03  # std 0.005 A per coordinate plus the graph term
    assert not np.allclose(res.pos[0], res.pos[1])  # replicas draw their own noise
    speed = res.speed(lag_ps=1.0)
    assert speed["evaluations_per_step"] == 8 and speed["rejections"] == 0 and speed["ps_per_s"] > 0


def test_replica_alone_equals_replica_in_a_batch_of_64(ala2_resolved, tmp_path):
    batch, start = make_rollout(ala2_resolved, tmp_path, replicas=64, steps=5, name="batch")
    rng = np.random.default_rng(0)
    start = start + rng.normal(0, 0.01, start.shape)  # distinct structures
    full = batch.run(start, progress=False).pos
    alone, _ = make_rollout(ala2_resolved, tmp_path, steps=5, name="alone", first_replica=41)
    single = alone.run(start[41:42], progress=False).pos
    np.testing.assert_allclose(single[0], full[41], atol=1e-6)
    assert not np.allclose(single[0], full[40], atol=1e-3)


def test_resume_after_a_crash_continues_the_same_trajectory(ala2_resolved, tmp_path, monkeypatch):
    whole, start = make_rollout(ala2_resolved, tmp_path, steps=7, replicas=2, name="whole")
    reference = whole.run(start, progress=False).pos

    crashing, _ = make_rollout(ala2_resolved, tmp_path, steps=7, replicas=2, name="crash", checkpoint_every=3)
    calls = {"n": 0}
    original = crashing.sampler.sample

    def sample_then_crash(r, noise):
        calls["n"] += 1
        if calls["n"] == 5:  # during step 5; steps 1-3 are checkpointed, step 4 is kept on the way out
            raise RuntimeError("simulated crash")
        return original(r, noise)

    monkeypatch.setattr(crashing.sampler, "sample", sample_then_crash)
    with pytest.raises(RuntimeError, match="simulated crash"):
        crashing.run(start, progress=False)
    monkeypatch.setattr(crashing.sampler, "sample", original)
    resumed, _ = make_rollout(ala2_resolved, tmp_path, steps=7, replicas=2, name="crash", checkpoint_every=3)
    result = resumed.run(start + 100.0, progress=False)  # the start is ignored when resuming
    assert calls["n"] == 5
    np.testing.assert_allclose(result.pos, reference, atol=1e-6)


def test_planted_stretched_bond_and_flipped_stereocentre_are_caught(ala2_resolved):
    mol, pos = ala2_resolved
    ca, cb = mol.top.select("ALA:CA"), mol.top.select("ALA:CB")
    stretched = pos.copy()
    stretched[cb] += 0.4 * (pos[cb] - pos[ca])  # C-alpha to C-beta from 1.53 A to about 2.1 A
    flipped = pos.copy()  # mirror the whole molecule: every bond is fine, the C-alpha is D
    flipped[:, 0] *= -1
    nbrs = adjacency(mol.top.n_atoms, mol.top.bonds)
    assert side_of_bond(nbrs, ca, cb).size  # CB's side exists, the structures are real
    rep = mol.check(np.stack([pos, stretched, flipped]), labels=["as built", "stretched", "mirrored"])
    assert rep.ok.tolist() == [True, False, False]
    assert rep.bonds_ok.tolist() == [True, False, True]
    assert rep.chirality_ok.tolist() == [True, True, False]
    assert "CA-CB" in rep.messages[0] and "stretched" in rep.messages[0]
    assert "mirrored" in rep.messages[1]


def test_rejected_replicas_alone_are_resampled(ala2_resolved, tmp_path):
    roll, start = make_rollout(ala2_resolved, tmp_path, std=0.025, steps=4, replicas=8)
    res = roll.run(start, progress=False)
    mol, _ = ala2_resolved
    assert mol.check(res.pos.reshape(-1, 22, 3)).ok.all()  # only accepted moves are kept
    assert res.rejections.sum() > 0
    speed = res.speed(1.0)
    assert speed["evaluations_per_step"] > 8  # resampling costs extra evaluations


def test_k_rejections_in_a_row_stop_with_a_clear_error_and_keep_frames(ala2_resolved, tmp_path):
    roll, start = make_rollout(ala2_resolved, tmp_path, std=0.5, steps=4, max_rejections=3)
    with pytest.raises(CheckError) as err:
        roll.run(start, progress=False)
    msg = str(err.value)
    assert "replica 0 at step 1" in msg and "3 proposals in a row" in msg and "bond" in msg
    assert (tmp_path / "run" / "chunk_000000000.npy").is_file()  # the start frame is kept


def test_a_start_that_fails_the_checks_is_refused(ala2_resolved, tmp_path):
    roll, start = make_rollout(ala2_resolved, tmp_path)
    start[0, :, 0] *= -1
    with pytest.raises(CheckError, match="start structure of replica 0"):
        roll.run(start, progress=False)


def test_without_resampling_failures_are_counted_and_kept(ala2_resolved, tmp_path):
    roll, start = make_rollout(ala2_resolved, tmp_path, std=0.5, steps=3, resample=False)
    res = roll.run(start, progress=False)
    assert res.rejections.sum() == 0 and res.violations.sum() == 3
    assert res.speed(1.0)["violations"] == 3


def test_h_bond_constraints_restore_lengths_and_leave_heavy_atoms(ala2_resolved):
    from scoredyn.geometry import bond_lengths
    from scoredyn.rollout.constraints import HBondConstraints

    mol, pos = ala2_resolved
    cons = HBondConstraints(mol.top, pos)
    assert len(cons) == 12  # every hydrogen of alanine dipeptide
    moved = pos[None] + np.random.default_rng(1).normal(0, 0.1, (3, 22, 3))
    fixed = cons.apply(torch.as_tensor(moved)).numpy()
    heavy = np.array(mol.top.elements) != "H"
    np.testing.assert_array_equal(fixed[:, heavy], moved[:, heavy])
    pairs = np.stack([cons.heavy.numpy(), cons.hydrogen.numpy()], axis=1)
    np.testing.assert_allclose(bond_lengths(fixed, pairs), np.broadcast_to(cons.length.numpy(), (3, 12)), atol=1e-9)
    # each hydrogen moved only along its own bond
    before = moved[:, pairs[:, 1]] - moved[:, pairs[:, 0]]
    after = fixed[:, pairs[:, 1]] - fixed[:, pairs[:, 0]]
    np.testing.assert_allclose(np.linalg.norm(np.cross(before, after), axis=-1), 0, atol=1e-9)


def test_sweep_solver_labels_round_trip_and_bad_ones_are_explained():
    from scoredyn.rollout.stage import parse_solver

    assert parse_solver("dpm3x20") == SolverConfig("dpm3", 20) and parse_solver("dpmpp2mx5").label() == "dpmpp2mx5"
    with pytest.raises(ScoredynError, match="dpm3x20"):
        parse_solver("euler10")


class Trap:
    """A sampler that cannot leave structures whose CA-CB bond is stretched past ``limit``:
    every move from one breaks a bond, the way a model fails on its own distorted output."""

    def __init__(self, inner: DisplacementSampler, ca: int, cb: int, limit: float) -> None:
        self.inner, self.ca, self.cb, self.limit = inner, ca, cb, limit

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def sample(self, r, noise):
        z = self.inner.sample(r, noise)
        trapped = (r[:, self.cb] - r[:, self.ca]).norm(dim=-1) > self.limit  # [R]
        z[trapped, self.cb] += 1.0
        return z


def trap_rollout(ala2_resolved, tmp_path, name, **kw):
    mol, pos = ala2_resolved
    roll, start = make_rollout(ala2_resolved, tmp_path, std=0.008, steps=kw.pop("steps", 30), name=name,
                               max_rejections=20, **kw)  # fmt: skip
    ca, cb = mol.top.select("ALA:CA"), mol.top.select("ALA:CB")
    roll.sampler = Trap(roll.sampler, ca, cb, float(np.linalg.norm(pos[cb] - pos[ca])) + 0.02)
    return roll, start


def test_a_stuck_replica_goes_back_and_redraws_its_last_frames(ala2_resolved, tmp_path):
    roll, start = trap_rollout(ala2_resolved, tmp_path, "stop", replicas=2, checkpoint_every=100)
    with pytest.raises(CheckError, match=r"20 proposals in a row were rejected \(.*rollout.rollback_frames"):
        roll.run(start, progress=False)
    roll, start = trap_rollout(ala2_resolved, tmp_path, "back", replicas=2, checkpoint_every=100, rollback=3)
    res = roll.run(start, progress=False)
    mol, _ = ala2_resolved
    assert res.pos.shape == (2, 31, 22, 3) and mol.check(res.pos.reshape(-1, 22, 3)).ok.all()
    assert res.rollbacks.sum() > 0 and res.rejections.sum() >= 3 * res.rollbacks.sum()
    speed = res.speed(1.0)
    assert speed["rollbacks"] == res.rollbacks.sum() and 0 < speed["rejected_fraction"] < 1
    # a replica's rollbacks do not touch the other replica, and a resumed run redraws the same frames
    again, _ = trap_rollout(ala2_resolved, tmp_path, "resumed", replicas=2, checkpoint_every=7, rollback=3, steps=15)
    again.run(start, progress=False)
    again, _ = trap_rollout(ala2_resolved, tmp_path, "resumed", replicas=2, checkpoint_every=7, rollback=3)
    resumed = again.run(start, progress=False)
    straight, _ = trap_rollout(ala2_resolved, tmp_path, "straight", replicas=2, checkpoint_every=7, rollback=3)
    np.testing.assert_allclose(resumed.pos, straight.run(start, progress=False).pos, atol=1e-5)
    alone, _ = trap_rollout(ala2_resolved, tmp_path, "alone", replicas=1, checkpoint_every=100, rollback=3)
    np.testing.assert_allclose(alone.run(start[:1], progress=False).pos[0], res.pos[0], atol=1e-5)


def test_a_rollout_summary_round_trips_flat_and_a_short_one_names_the_rule(tmp_path, rollout_summary):
    import json

    from scoredyn.errors import ScoredynError
    from scoredyn.rollout.summary import RolloutSummary

    summary = rollout_summary(how={"solver": "dpm3", "solver_steps": 20}, start_frame=0, rejections=3, violations=1)
    path = tmp_path / "production.json"
    summary.write(path)
    flat = json.loads(path.read_text())
    assert flat["solver"] == "dpm3" and "how" not in flat and "state" not in flat and flat["start_frame"] == 0
    back = RolloutSummary.from_json(path)
    assert back == summary and back.per_100k_steps == (300.0, 100.0)
    del flat["wall_s"]
    path.write_text(json.dumps(flat))
    with pytest.raises(ScoredynError, match=r"production\.json: a rollout summary without wall_s; rerun sd_production"):
        RolloutSummary.from_json(path, "sd_production")
