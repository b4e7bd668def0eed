from scoredyn.io import claim_workdir


def test_workdir_is_kept_for_same_inputs_and_emptied_for_new(tmp_path):
    work = tmp_path / "run"
    claim_workdir(work, {"md": {"production_ns": 1.0}, "seed": 1})
    (work / "md.cpt").write_text("checkpoint")
    claim_workdir(work, {"seed": 1, "md": {"production_ns": 1.0}})  # same inputs, other key order
    assert (work / "md.cpt").is_file()
    claim_workdir(work, {"md": {"production_ns": 2.0}, "seed": 1})
    assert not (work / "md.cpt").exists() and (work / "inputs.json").is_file()


def test_workdir_without_stamp_is_not_trusted(tmp_path):
    work = tmp_path / "run"
    work.mkdir()
    (work / "md.done").write_text("{}")
    claim_workdir(work, {"seed": 1})
    assert not (work / "md.done").exists()
