from pathlib import Path

from scoredyn.cli import main

REPO = Path(__file__).resolve().parents[2]


def test_check_config_accepts_shipped_and_reports_bad_in_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert main(["check-config", "config/tiny.yaml"]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: x\nmolecules: {train: [alanine-dipeptide]}\ngromacs: {thread: 4}\n")
    assert main(["check-config", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "'thread'" in err and "did you mean 'threads'" in err


def test_check_molecule(capsys):
    assert main(["check-molecule", "butane", "--root", str(REPO / "resources" / "molecules")]) == 0
    assert "states trans, gauche" in capsys.readouterr().out
    assert main(["check-molecule", "octane", "--root", str(REPO / "resources" / "molecules")]) == 2


def test_info_on_unreadable_file(tmp_path, capsys):
    (tmp_path / "x.h5").write_text("nope")
    assert main(["info", str(tmp_path / "x.h5")]) == 2
    assert "not a readable HDF5 file" in capsys.readouterr().err


def test_check_config_overlays_config_yaml_and_names_yaml_errors(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    over = tmp_path / "over.yaml"
    over.write_text("run: over\ntrain: {steps: 10}\n")  # alone it lacks nothing, over config.yaml it is the demo
    assert main(["check-config", str(over)]) == 0
    assert "config.yaml + " in capsys.readouterr().out
    # a key that only the overlay makes wrong: the demo's 500 waters cannot hold a 1.4 nm cut-off
    (tmp_path / "cut.yaml").write_text("md: {cutoff_nm: 1.4}\n")
    assert main(["check-config", str(tmp_path / "cut.yaml")]) == 2
    assert "md.cutoff_nm" in capsys.readouterr().err
    assert main(["check-config", "--alone", str(tmp_path / "cut.yaml")]) == 2  # no run name alone
    assert "'run'" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text("run: x\ntrain:\n  steps: [1, 2\n")
    assert main(["check-config", str(broken)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "broken.yaml: not valid YAML at line 4, column 1" in err


def test_check_config_opens_the_extra_files(tmp_path, capsys, monkeypatch):
    import h5py
    import numpy as np

    monkeypatch.chdir(REPO)
    short = tmp_path / "short.h5"
    with h5py.File(short, "w") as f:  # pos has fewer atoms than its attributes
        d = f.create_dataset("pos", data=np.zeros((50, 2, 3)))
        d.attrs["symbols"], d.attrs["numbers"], d.attrs["timestep"] = ["C", "H", "H"], [6, 1, 1], 0.1
    cases = {
        str(tmp_path / "absent.h5"): "is not a file",
        str(short): "pos holds 2 atoms but attribute 'symbols' has 3",
    }
    for path, message in cases.items():
        (tmp_path / "x.yaml").write_text(f"dataset: {{extra: [{{path: {path}}}]}}\n")
        assert main(["check-config", str(tmp_path / "x.yaml")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "dataset.extra[0].path" in err and message in err
    with h5py.File(tmp_path / "coarse.h5", "w") as f:  # frames 0.3 ps apart against a 1 ps lag
        d = f.create_dataset("pos", data=np.zeros((50, 2, 3)))
        d.attrs["symbols"], d.attrs["numbers"], d.attrs["timestep"] = ["C", "H"], [6, 1], 0.3
    (tmp_path / "x.yaml").write_text(f"dataset: {{extra: [{{path: {tmp_path / 'coarse.h5'}}}]}}\n")
    assert main(["check-config", str(tmp_path / "x.yaml")]) == 2
    assert "0.3 ps apart" in capsys.readouterr().err
