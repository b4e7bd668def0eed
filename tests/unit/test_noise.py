import numpy as np
import torch
from scipy import stats

from scoredyn.rollout.noise import counter_normal, mix64, replica_keys


def test_mix64_is_a_bijection_on_a_sample():
    x = torch.arange(-50_000, 50_000, dtype=torch.int64) * 7919
    assert torch.unique(mix64(x)).numel() == x.numel()


def test_rows_depend_only_on_their_own_counter():
    keys = replica_keys(3, range(64))
    attempts = torch.zeros(64, dtype=torch.int64)
    full = counter_normal(keys, 5, attempts, 66)
    alone = counter_normal(keys[17:18], 5, attempts[17:18], 66)
    torch.testing.assert_close(alone[0], full[17], rtol=0, atol=0)
    again = attempts.clone()
    again[3] = 1
    other = counter_normal(keys, 5, again, 66)
    assert not torch.equal(other[3], full[3])
    torch.testing.assert_close(other[4], full[4], rtol=0, atol=0)
    assert not torch.equal(counter_normal(keys, 6, attempts, 66), full)
    assert not torch.equal(counter_normal(replica_keys(4, range(64)), 5, attempts, 66), full)


def test_normals_are_standard_and_uncorrelated():
    keys = replica_keys(11, range(1000))
    z = counter_normal(keys, 0, torch.zeros(1000, dtype=torch.int64), 200, torch.float64).numpy()
    flat = z.ravel()
    assert stats.kstest(flat, "norm").pvalue > 1e-3
    assert abs(flat.mean()) < 0.01 and abs(flat.std() - 1) < 0.01
    # neighbouring replicas, elements and steps are uncorrelated
    assert abs(np.corrcoef(z[:-1].ravel(), z[1:].ravel())[0, 1]) < 0.01
    assert abs(np.corrcoef(z[:, :-1].ravel(), z[:, 1:].ravel())[0, 1]) < 0.01
    z2 = counter_normal(keys, 1, torch.zeros(1000, dtype=torch.int64), 200, torch.float64).numpy()
    assert abs(np.corrcoef(flat, z2.ravel())[0, 1]) < 0.01
