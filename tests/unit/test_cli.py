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
