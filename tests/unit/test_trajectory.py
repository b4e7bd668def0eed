import h5py
import numpy as np
import pytest

from scoredyn.errors import TrajectoryError
from scoredyn.md.extract import unwrap
from scoredyn.trajectory import Trajectory, read_trajectory, write_trajectory


def test_round_trip_keeps_extras(tmp_path, rng):
    t = Trajectory(
        rng.normal(size=(5, 3, 3)),
        ["C1", "H1", "H2"],
        np.array([6, 1, 1]),
        0.1,
        types=["opls_135", "opls_140", "opls_140"],
        bonds=np.array([[0, 1], [0, 2]]),
        attrs={"resnames": ["X", "X", "X"], "temperature_K": 300.0},
    )
    write_trajectory(tmp_path / "t.h5", t)
    back = read_trajectory(tmp_path / "t.h5")
    np.testing.assert_allclose(back.pos, t.pos, atol=1e-6)
    assert back.symbols == t.symbols and back.types == t.types and back.timestep == 0.1
    assert back.attrs["resnames"] == ["X", "X", "X"] and back.attrs["temperature_K"] == 300.0
    np.testing.assert_array_equal(back.bonds, t.bonds)


def test_reference_format_with_only_three_attributes_loads(tmp_path):
    with h5py.File(tmp_path / "ref.h5", "w") as f:
        f["pos"] = np.zeros((2, 2, 3))
        f.attrs["symbols"] = ["C", "O"]
        f.attrs["numbers"] = [6, 8]
        f.attrs["timestep"] = 1.0
    t = read_trajectory(tmp_path / "ref.h5")
    assert t.n_frames == 2 and t.symbols == ["C", "O"] and t.types is None and t.bonds is None


def test_attributes_are_written_on_pos_and_read_from_pos_or_the_root(tmp_path):
    t = Trajectory(np.zeros((3, 2, 3)), ["C", "O"], np.array([6, 8]), 0.5, types=["a", "b"], attrs={"x": 1.0})
    write_trajectory(tmp_path / "t.h5", t)
    with h5py.File(tmp_path / "t.h5") as f:  # where the method authors' loader reads them
        assert [a.decode() if isinstance(a, bytes) else a for a in f["pos"].attrs["symbols"]] == ["C", "O"]
        assert f["pos"].attrs["timestep"] == 0.5 and f["pos"].attrs["x"] == 1.0
    with h5py.File(tmp_path / "authors.h5", "w") as f:  # their layout: byte strings on pos, a float64 pos
        d = f.create_dataset("pos", data=np.ones((4, 2, 3)))
        d.attrs["symbols"] = np.array([b"CH", b"O"])
        d.attrs["numbers"] = np.array([6, 8])
        d.attrs["timestep"] = np.float64(10.0)
    back = read_trajectory(tmp_path / "authors.h5")
    assert back.symbols == ["CH", "O"] and back.timestep == 10.0 and back.n_frames == 4


def test_atom_counts_and_timestep_are_checked(tmp_path):
    with h5py.File(tmp_path / "short.h5", "w") as f:
        d = f.create_dataset("pos", data=np.zeros((4, 2, 3)))
        d.attrs["symbols"] = ["C", "O", "H"]
        d.attrs["numbers"] = [6, 8, 1]
        d.attrs["timestep"] = 1.0
    with pytest.raises(TrajectoryError, match=r"short.h5: pos holds 2 atoms but attribute 'symbols' has 3"):
        read_trajectory(tmp_path / "short.h5")
    with h5py.File(tmp_path / "dt.h5", "w") as f:
        d = f.create_dataset("pos", data=np.zeros((4, 2, 3)))
        d.attrs["symbols"] = ["C", "O"]
        d.attrs["numbers"] = [6, 8]
        d.attrs["timestep"] = 0.0
    with pytest.raises(TrajectoryError, match=r"dt.h5: attribute 'timestep' is 0.0"):
        read_trajectory(tmp_path / "dt.h5")


def test_missing_attribute_is_named(tmp_path):
    with h5py.File(tmp_path / "bad.h5", "w") as f:
        f["pos"] = np.zeros((2, 2, 3))
        f.attrs["symbols"] = ["C", "O"]
    with pytest.raises(TrajectoryError, match=r"bad.h5: lacks attribute 'numbers', attribute 'timestep'"):
        read_trajectory(tmp_path / "bad.h5")
    (tmp_path / "junk.h5").write_text("not hdf5")
    with pytest.raises(TrajectoryError, match=r"junk.h5: not a readable HDF5 file"):
        read_trajectory(tmp_path / "junk.h5")


def test_unwrap_makes_molecule_whole_and_removes_box_jumps(rng):
    # a three-atom chain drifting across a 10 A box, stored wrapped
    box = np.full((50, 3), 10.0)
    base = np.array([[0.0, 0.0, 0.0], [1.5, 0.0, 0.0], [3.0, 0.5, 0.0]])
    drift = np.cumsum(rng.normal(scale=0.4, size=(50, 1, 3)), axis=0) + 8.5
    true = base[None] + drift
    wrapped = np.mod(true, 10.0)
    out = unwrap(wrapped, box, np.array([[0, 1], [1, 2]]))
    offset = out[0, 0] - true[0, 0]
    np.testing.assert_allclose(offset, np.round(offset / 10.0) * 10.0, atol=1e-9)  # a whole-box shift
    np.testing.assert_allclose(out - offset, true, atol=1e-9)


def test_unwrap_of_identical_frames_and_one_frame():
    pos = np.array([[[9.5, 0, 0], [0.5, 0, 0]]] * 3)
    out = unwrap(pos, np.full((3, 3), 10.0), np.array([[0, 1]]))
    assert np.allclose(np.linalg.norm(out[:, 1] - out[:, 0], axis=-1), 1.0)
    assert unwrap(pos[:1], np.full((1, 3), 10.0), np.array([[0, 1]])).shape == (1, 2, 3)


def test_ensemble_round_trip(tmp_path, rng):
    from scoredyn.trajectory import trajectory_info

    t = Trajectory(rng.normal(size=(4, 6, 3, 3)), ["C1", "H1", "H2"], np.array([6, 1, 1]), 1.0)
    assert (t.n_replicas, t.n_frames, t.n_atoms) == (4, 6, 3)
    write_trajectory(tmp_path / "e.h5", t)
    back = read_trajectory(tmp_path / "e.h5")
    assert back.pos.shape == (4, 6, 3, 3) and back.attrs["replicas"] == 4
    np.testing.assert_allclose(back.pos, t.pos, atol=1e-6)
    assert trajectory_info(tmp_path / "e.h5")[:2] == (6, 3)
    with pytest.raises(TrajectoryError, match=r"\[R, T, N, 3\]"):
        write_trajectory(tmp_path / "bad.h5", Trajectory(np.zeros((2, 2, 2, 4, 3)), ["A"], np.array([1]), 1.0))
