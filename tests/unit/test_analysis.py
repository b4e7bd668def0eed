"""Analysis functions on inputs whose answer is known."""

import numpy as np
import pytest

from scoredyn.analysis.divergence import jsd, split_half_floor, wasserstein_1d
from scoredyn.analysis.free_energy import (
    KB_KJ_PER_MOL_K,
    dihedral_histogram_2d,
    free_energy,
    free_energy_1d,
)
from scoredyn.analysis.states import (
    bootstrap_mean,
    core_assignment,
    first_passage_times,
    populations,
)


def test_jsd_of_identical_is_zero_and_of_disjoint_is_ln2(rng):
    p = rng.random(50)
    assert jsd(p, p) == pytest.approx(0.0, abs=1e-12)
    assert jsd(p, 3 * p) == pytest.approx(0.0, abs=1e-12)  # normalised first
    a, b = np.zeros(10), np.zeros(10)
    a[:5], b[5:] = 1.0, 1.0
    assert jsd(a, b) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="shape"):
        jsd(np.ones(3), np.ones(4))


def test_jsd_of_samples_of_one_distribution_sits_at_the_split_half_floor(rng):
    x = rng.normal(size=(40_000, 2)) * 40.0

    def hist(s):
        return dihedral_histogram_2d(s[:, 0], s[:, 1])

    floor = split_half_floor(x, hist)
    same = jsd(hist(x[:20_000]), hist(rng.normal(size=(20_000, 2)) * 40.0))
    shifted = jsd(hist(x[:20_000]), hist(rng.normal(size=(20_000, 2)) * 40.0 + 30.0))
    assert 0 < floor < 0.02 and same < 3 * floor and shifted > 10 * floor


def test_free_energy_of_a_boltzmann_histogram_recovers_the_energies():
    energies = np.array([0.0, 1.0, 2.5, 4.0])  # kJ/mol
    temperature = 300.0
    p = np.exp(-energies / (KB_KJ_PER_MOL_K * temperature))
    np.testing.assert_allclose(free_energy(p, temperature), energies, atol=1e-12)
    f = free_energy(np.array([0.5, 0.0, 0.5]), temperature)
    assert f[0] == 0 and np.isinf(f[1])


def test_free_energy_1d_of_a_harmonic_well(rng):
    kT = KB_KJ_PER_MOL_K * 300.0
    x = rng.normal(0, 0.1, 1_000_000)  # F = x^2 / (2 * 0.01) kT
    centres, f = free_energy_1d(x, 41, (-0.205, 0.205), 300.0)
    expect = centres**2 / (2 * 0.01) * kT
    inner = np.abs(centres) < 0.15
    np.testing.assert_allclose(f[inner], expect[inner] - expect[inner].min(), atol=0.1)


def test_dihedral_histogram_wraps_angles():
    h = dihedral_histogram_2d(np.array([179.0, -181.0]), np.array([0.0, 0.0]))
    assert h[-1].sum() == 1.0  # -181 wraps to 179


def test_core_assignment_ignores_a_planted_recrossing():
    # A core, leave towards B, come back to A without reaching B's core, then really go to B
    in_a = np.array([0, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0], dtype=bool)
    in_b = np.array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0], dtype=bool)
    s = core_assignment(np.stack([in_a, in_b], axis=1))
    assert s.tolist() == [-1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1]
    assert first_passage_times(s, 0, 1, dt=2.0).tolist() == [14.0]  # entered A at frame 1, B at 8
    np.testing.assert_allclose(populations(s, 2), [0.7, 0.3])
    with pytest.raises(ValueError, match="overlap"):
        core_assignment(np.ones((3, 2), dtype=bool))


def test_two_state_markov_chain_mean_first_passage_times_match_theory():
    """A two-state Markov chain with per-step exit probabilities p_ab, p_ba stays in each state
    for geometric residence times; its mean first-passage times are 1/p_ab and 1/p_ba steps."""
    rng = np.random.default_rng(7)
    p_ab, p_ba, visits = 0.01, 0.025, 20_000
    lengths = np.column_stack([rng.geometric(p_ab, visits), rng.geometric(p_ba, visits)]).ravel()
    chain = np.repeat(np.tile([0, 1], visits), lengths)
    s = core_assignment(np.stack([chain == 0, chain == 1], axis=1))
    a_to_b = bootstrap_mean(first_passage_times(s, 0, 1, dt=1.0))
    b_to_a = bootstrap_mean(first_passage_times(s, 1, 0, dt=1.0))
    assert a_to_b.mean == pytest.approx(1 / p_ab, rel=0.05) and a_to_b.low < 1 / p_ab < a_to_b.high
    assert b_to_a.mean == pytest.approx(1 / p_ba, rel=0.05) and b_to_a.n == visits - 1
    np.testing.assert_allclose(populations(s, 2), [p_ba / (p_ab + p_ba), p_ab / (p_ab + p_ba)], atol=0.01)
    assert np.isnan(bootstrap_mean(np.array([])).mean)


def test_wasserstein_of_a_shift_is_the_shift(rng):
    x = rng.normal(size=100_000)
    assert wasserstein_1d(x, x + 0.3) == pytest.approx(0.3, abs=1e-9)


def test_dihedrals_match_mdanalysis(ala2_resolved, rng):
    import MDAnalysis as mda
    from MDAnalysis.analysis.dihedrals import Dihedral

    mol, pos = ala2_resolved
    frames = pos[None] + rng.normal(0, 0.3, (50, len(pos), 3))  # Angstrom, varied dihedrals
    u = mda.Universe.empty(len(pos), trajectory=True)
    u.load_new(frames.astype(np.float64), order="fac")
    groups = [u.atoms[list(q)] for q in mol.dihedral_atoms.values()]
    reference = Dihedral(groups).run().results.angles  # [T, 2] degrees
    ours = np.stack(list(mol.dihedral_values(frames).values()), axis=1)
    diff = np.mod(ours - reference + 180.0, 360.0) - 180.0
    assert np.abs(diff).max() < 1e-4
