import h5py
import numpy as np
import pytest
import torch

from scoredyn.data.dataset import Source, choose_validation_blocks, pack_dataset, pair_segments, subset_pairs
from scoredyn.data.loader import PairData
from scoredyn.data.summary import DatasetSummary
from scoredyn.errors import TrajectoryError
from scoredyn.trajectory import Trajectory, write_trajectory


def test_pairs_stay_inside_one_set_and_whole_blocks_are_held_out():
    is_val = np.zeros(10, dtype=bool)
    is_val[[3, 4, 8]] = True  # two validation segments: blocks 3-4 and block 8
    starts, val = pair_segments(1000, lag=10, is_val=is_val, frames_per_block=100)
    label = is_val[np.arange(1000) // 100]
    assert np.all(label[starts] == val) and np.all(label[starts + 10] == val)
    # only the pairs that straddle one of the four train/validation boundaries are lost
    assert len(starts) == 990 - 4 * 10 and int(val.sum()) == (200 - 10) + (100 - 10)
    # blocks of one set join: no pair is lost inside a run of train blocks
    starts, val = pair_segments(1000, lag=10, is_val=np.zeros(10, dtype=bool), frames_per_block=100)
    assert len(starts) == 990 and not val.any()
    masks = choose_validation_blocks([10, 3, 1, 0], 0.3, np.random.default_rng(0))
    assert [len(m) for m in masks] == [10, 3, 1, 0]
    assert sum(int(m.sum()) for m in masks) == 4  # round(0.3 x 14)
    # a tiny fraction still holds out one block, and never all of them
    assert sum(int(m.sum()) for m in choose_validation_blocks([5], 0.01, np.random.default_rng(1))) == 1
    assert not any(m.any() for m in choose_validation_blocks([5], 0.0, np.random.default_rng(1)))


def write(path, n_frames, n_atoms, dt=0.1, types=True, seed=0):
    rng = np.random.default_rng(seed)
    pos = np.cumsum(rng.normal(scale=0.1, size=(n_frames, n_atoms, 3)), axis=0)
    t = Trajectory(pos, [f"A{i}" for i in range(n_atoms)], np.array([6] + [1] * (n_atoms - 1)), dt,
                   types=(["opls_135"] + ["opls_140"] * (n_atoms - 1)) if types else None)  # fmt: skip
    write_trajectory(path, t)
    return pos


def test_pack_and_load_mixed_molecules(tmp_path):
    a = write(tmp_path / "a.h5", 300, 5, seed=1)
    b = write(tmp_path / "b.h5", 50, 8, seed=2)
    summary = pack_dataset([Source(tmp_path / "a.h5", "a"), Source(tmp_path / "b.h5", "b")], tmp_path / "d.h5",
                           lag_ps=1.0, val_fraction=0.2, block_ps=5.0, atom_types="auto", seed=3)  # fmt: skip
    assert summary.vocabulary == ["opls_135", "opls_140"] and summary.atom_types == "types"
    data = PairData(tmp_path / "d.h5", "train")
    assert len(data) == summary.train_pairs and data.n_types == 2
    batch = data.batch(torch.arange(len(data)))
    assert batch.n_graphs == len(data)
    # every displacement is the frame 10 steps later minus the conditioning frame
    with h5py.File(tmp_path / "d.h5") as f:
        rows = np.asarray(f["train"])
    sizes = {0: 5, 1: 8}
    r = batch.r.numpy()
    z = batch.z.numpy()
    first = np.concatenate([[0], np.cumsum(np.bincount(batch.batch.numpy()))])
    src = {0: a, 1: b}
    order = sorted(range(len(rows)), key=lambda i: (sizes[rows[i][0]], i))  # groups come out by atom count
    for g, i in enumerate(order):
        k, t = rows[i]
        np.testing.assert_allclose(r[first[g] : first[g + 1]], src[k][t], atol=1e-5)
        np.testing.assert_allclose(z[first[g] : first[g + 1]], src[k][t + 10] - src[k][t], atol=1e-5)


def test_reference_only_file_packs_with_element_types(tmp_path):
    with h5py.File(tmp_path / "ref.h5", "w") as f:
        f["pos"] = np.random.default_rng(0).normal(size=(40, 3, 3))
        f.attrs["symbols"] = ["O", "H", "H"]
        f.attrs["numbers"] = [8, 1, 1]
        f.attrs["timestep"] = 0.5
    summary = pack_dataset([Source(tmp_path / "ref.h5", "water")], tmp_path / "d.h5", 1.0, 0.0, 10.0, "auto", 0)
    assert summary.vocabulary == ["H", "O"] and summary.train_pairs == 38  # every pair of 40 frames, lag 2
    assert summary.possible_pairs == 38 and summary.kept_fraction == 1.0
    batch = PairData(tmp_path / "d.h5").sample(4, torch.Generator().manual_seed(0))
    assert batch.r.shape == (12, 3) and batch.types.tolist()[:3] == [1, 0, 0]


def test_lag_must_be_a_whole_number_of_frames(tmp_path):
    write(tmp_path / "a.h5", 30, 3, dt=0.3)
    with pytest.raises(TrajectoryError, match=r"not a whole number of frames"):
        pack_dataset([Source(tmp_path / "a.h5", "a")], tmp_path / "d.h5", 1.0, 0.1, 10.0, "auto", 0)


def test_corrupt_and_truncated_files_give_clear_errors(tmp_path):
    write(tmp_path / "a.h5", 100, 3)
    pack_dataset([Source(tmp_path / "a.h5", "a")], tmp_path / "d.h5", 1.0, 0.1, 10.0, "auto", 0)
    data = (tmp_path / "d.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 2])
    with pytest.raises(TrajectoryError, match=r"cut.h5: (not a readable|damaged)"):
        PairData(tmp_path / "cut.h5")
    raw = (tmp_path / "a.h5").read_bytes()
    (tmp_path / "bad.h5").write_bytes(raw[: len(raw) // 3])
    with pytest.raises(TrajectoryError, match=r"bad.h5"):
        pack_dataset([Source(tmp_path / "bad.h5", "a")], tmp_path / "e.h5", 1.0, 0.1, 10.0, "auto", 0)


def test_ten_ps_lag_and_extra_files_through_the_config(tmp_path):
    from scoredyn.config import load_config
    from scoredyn.data.stage import dataset_stage

    write(tmp_path / "md.h5", 400, 4, seed=5)
    with h5py.File(tmp_path / "other_tool.h5", "w") as f:  # only the three reference attributes
        f["pos"] = np.random.default_rng(1).normal(size=(300, 4, 3))
        f.attrs["symbols"] = ["C", "H", "H", "H"]
        f.attrs["numbers"] = [6, 1, 1, 1]
        f.attrs["timestep"] = 0.1
    cfg = load_config(
        {
            "run": "t",
            "molecules": {"train": ["butane"]},
            "dataset": {
                "lag_ps": 10.0,
                "block_ps": 20.0,
                "val_fraction": 0.2,
                "extra": [{"path": str(tmp_path / "other_tool.h5")}],
            },
        }
    )
    summary = dataset_stage(cfg, {"butane": [tmp_path / "md.h5"]}, tmp_path / "d.h5", tmp_path / "d.json")
    assert summary.atom_types == "elements"  # one source has no force-field types
    assert [s.molecule for s in summary.sources] == ["butane", "other_tool"]
    assert DatasetSummary.from_json(tmp_path / "d.json") == summary
    data = PairData(tmp_path / "d.h5")
    assert data.lag_ps == 10.0
    b = data.batch(torch.arange(len(data)))
    assert b.n_graphs == summary.train_pairs
    with h5py.File(tmp_path / "d.h5") as f:
        k, t = np.asarray(f["train"])[0]
        pos = np.asarray(f[f"trajectories/{k:05d}/pos"])
    np.testing.assert_allclose(b.z[:4].numpy(), pos[t + 100] - pos[t], atol=1e-5)  # 10 ps = 100 frames


def test_rejected_starts_are_left_out(tmp_path):
    write(tmp_path / "ok.h5", 50, 3, seed=1)
    t = Trajectory(np.zeros((50, 3, 3)), ["A", "B", "C"], np.array([6, 1, 1]), 0.1, types=["x", "y", "y"],
                   attrs={"accepted": False, "reason": "a peptide bond is cis"})  # fmt: skip
    write_trajectory(tmp_path / "bad.h5", t)
    summary = pack_dataset([Source(tmp_path / "ok.h5", "m"), Source(tmp_path / "bad.h5", "m")], tmp_path / "d.h5",
                           1.0, 0.0, 10.0, "auto", 0)  # fmt: skip
    assert summary.skipped == 1 and len(summary.sources) == 1


def test_prefix_keeps_the_first_part_of_every_trajectory(tmp_path):
    write(tmp_path / "a.h5", 300, 5, seed=1)
    write(tmp_path / "b.h5", 120, 5, seed=2)
    pack_dataset([Source(tmp_path / "a.h5", "a"), Source(tmp_path / "b.h5", "b")], tmp_path / "d.h5",
                 lag_ps=1.0, val_fraction=0.0, block_ps=5.0, atom_types="auto", seed=3)  # fmt: skip
    data = PairData(tmp_path / "d.h5", "train")
    half = data.prefix(0.5)
    with h5py.File(tmp_path / "d.h5") as f:
        rows = np.asarray(f["train"])
    per_traj = {k: np.sort(rows[rows[:, 0] == k, 1]) for k in np.unique(rows[:, 0])}
    want = sum(int(np.ceil(0.5 * len(t))) for t in per_traj.values())
    assert len(half) == want and half.fingerprint != data.fingerprint
    # the kept pairs are each trajectory's earliest ones
    first = {k: int(np.ceil(0.5 * len(t))) for k, t in per_traj.items()}
    kept = set(half.pair_frame.tolist())
    offset = {0: 0, 1: 300}
    for k, t in per_traj.items():
        assert {offset[int(k)] + int(x) for x in t[: first[k]]} <= kept
        assert not {offset[int(k)] + int(x) for x in t[first[k] :]} & kept
    with pytest.raises(ValueError, match="fraction"):
        data.prefix(0.0)
    # a training size: a fraction or a number of pairs, counted alike from the file alone (the evaluation)
    sizes = [0.3, 1, 100, len(data)]
    assert subset_pairs(tmp_path / "d.h5", sizes) == [len(data.subset(size)) for size in sizes]
    assert len(data.subset(1)) == len(data) and abs(len(data.subset(100)) - 100) <= 2
    with pytest.raises(ValueError, match=r"evaluation\.training_sizes: 5000 pairs are more than the \d+ training"):
        data.subset(5000)


def authors_file(path, n_frames=60, dt=10.0):
    """A trajectory in the method authors' layout (LLNL/graphite's data/*.hdf5): attributes on pos, the
    atom names a byte-string array, the timestep a float, positions float64, nothing on the root."""
    with h5py.File(path, "w") as f:
        d = f.create_dataset("pos", data=np.random.default_rng(0).normal(size=(n_frames, 4, 3)))
        d.attrs["symbols"] = np.array([b"CH", b"HH", b"HH", b"HH"])
        d.attrs["numbers"] = np.array([6, 1, 1, 1], dtype=np.int64)
        d.attrs["timestep"] = np.float64(dt)
    return path


@pytest.mark.parametrize("atom_types, vocabulary", [("auto", ["C", "H"]), ("names", ["CH", "HH"])])
def test_the_authors_layout_packs(tmp_path, atom_types, vocabulary):
    src = authors_file(tmp_path / "authors.hdf5")
    summary = pack_dataset([Source(src, "methane")], tmp_path / "d.h5", 10.0, 0.0, 100.0, atom_types, 0)
    assert summary.vocabulary == vocabulary and summary.train_pairs == 59
    batch = PairData(tmp_path / "d.h5").batch(torch.arange(2))
    with h5py.File(src) as f:
        pos = np.asarray(f["pos"])
    np.testing.assert_allclose(batch.z[:4].numpy(), pos[1] - pos[0], atol=1e-5)


def test_a_ten_ps_lag_at_tenth_ps_frames_keeps_nine_tenths_of_its_pairs(tmp_path):
    """config/paper-ala2-10ps.yaml's split: 0.1 ps frames, a 10 ps lag, a 10% validation split, on a
    production and on 40 ps starts (its own block_ps and md.starts.dihedrals.run_ps)."""
    import yaml

    cfg = yaml.safe_load(open("config/paper-ala2-10ps.yaml"))
    ds, run_ps = cfg["dataset"], cfg["md"]["starts"]["dihedrals"]["run_ps"]
    sources = [Source(tmp_path / "production.h5", "m")]
    write(sources[0].path, 20001, 3, dt=0.1)  # 2 ns
    for i in range(20):
        sources.append(Source(tmp_path / f"start_{i}.h5", "m"))
        write(sources[-1].path, round(run_ps / 0.1) + 1, 3, dt=0.1, seed=i + 1)
    summary = pack_dataset(sources, tmp_path / "d.h5", ds["lag_ps"], ds.get("val_fraction", 0.1), ds["block_ps"],
                           "auto", 0)  # fmt: skip
    assert summary.possible_pairs == 20001 - 100 + 20 * (round(run_ps / 0.1) + 1 - 100)
    assert summary.kept_fraction >= 0.9 and summary.val_pairs > 0
    for s in summary.sources:
        assert s.train + s.val <= s.possible
