from pathlib import Path

import pytest
import yaml

from scoredyn.config import dff_stability, load_config, merge_configs, validate_config
from scoredyn.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
SHIPPED = [REPO / "config.yaml", *sorted((REPO / "config").glob("*.yaml"))]


def base() -> dict:
    return {"run": "t", "molecules": {"train": ["alanine-dipeptide"]}}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_configs_are_valid(path, monkeypatch):
    # as Snakemake reads them: a --configfile overlays the workflow's config.yaml
    monkeypatch.chdir(REPO)
    cfg = load_config(merge_configs(list(dict.fromkeys([REPO / "config.yaml", path]))))
    assert cfg.molecules


def test_defaults_are_filled_and_evaluate_defaults_to_train():
    cfg = validate_config(base())
    assert cfg["md"]["temperature_K"] == 300
    assert cfg["md"]["starts"]["vacuum_hot"]["temperature_K"] == 10000
    assert cfg["molecules"]["evaluate"] == ["alanine-dipeptide"]


def test_misspelled_key_is_named_with_a_suggestion():
    raw = base() | {"md": {"temprature_K": 310}}
    with pytest.raises(ConfigError) as err:
        validate_config(raw, "my.yaml")
    msg = str(err.value)
    assert "my.yaml" in msg and "'temprature_K'" in msg and "'md'" in msg
    assert "did you mean 'temperature_K'" in msg


def test_unknown_top_level_key_lists_allowed_keys():
    with pytest.raises(
        ConfigError, match=r"unknown key 'trainning' \(did you mean 'train'\?\).*allowed keys: dataset, dff, diffusion"
    ):
        validate_config(base() | {"trainning": {}})


def test_value_out_of_range_names_the_path_and_bound():
    with pytest.raises(ConfigError, match=r"md\.starts\.dihedrals\.count = -1 is out of range; it must be >= 0"):
        validate_config(base() | {"md": {"starts": {"dihedrals": {"count": -1}}}})


def test_wrong_type_and_enum():
    with pytest.raises(ConfigError, match=r"md\.n_waters = 'many' has the wrong type"):
        validate_config(base() | {"md": {"n_waters": "many"}})
    with pytest.raises(ConfigError, match=r"md\.constraints = 'some' is not allowed; choose one of"):
        validate_config(base() | {"md": {"constraints": "some"}})


def test_cutoff_must_fit_the_box():
    with pytest.raises(ConfigError, match=r"md\.cutoff_nm = 1\.4 does not fit .* md\.n_waters = 700"):
        validate_config(base() | {"md": {"n_waters": 700, "cutoff_nm": 1.4}})
    validate_config(base() | {"md": {"n_waters": 3000, "cutoff_nm": 1.4}})


def test_dff_settings_are_cross_checked():
    with pytest.raises(ConfigError, match=r"dff\.sigma_A = \[0\.1, 0\.02\] must be \[lowest, highest\]"):
        validate_config(base() | {"dff": {"sigma_A": [0.1, 0.02]}})
    with pytest.raises(ConfigError, match=r"dataset\.lag_ps = 1\.0 is not a whole number of dff\.timestep_fs = 3"):
        validate_config(base() | {"dataset": {"lag_ps": 1.0}, "dff": {"timestep_fs": 3}})
    with pytest.raises(ConfigError, match=r"dff\.sigma_A"):
        validate_config(base() | {"dff": {"sigma_A": [0.02]}})
    with pytest.raises(ConfigError, match=r"D dt / sigma\^2 = 1\.00 > 0\.5.*raise the friction by 2\.0x"):
        validate_config(base() | {"dff": {"friction_amu_per_ps": 1247.2, "timestep_fs": 2}})
    cfg = validate_config(base() | {"dff": {"enabled": True}})
    assert cfg["dff"]["sigma_A"] == [0.02, 0.05] and cfg["dff"]["timestep_fs"] == 2.0
    assert 0.2 < dff_stability(cfg["dff"], 300.0) < 0.3


def test_unknown_molecule_is_reported(tmp_path):
    raw = {"run": "t", "molecules": {"train": ["unobtainium"], "root": str(REPO / "resources" / "molecules")}}
    with pytest.raises(Exception, match=r"unobtainium.*known molecules.*alanine-dipeptide"):
        load_config(raw)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ConfigError, match=r"no such config file"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("run: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: not valid YAML"):
        load_config(bad)
    bad.write_text(yaml.safe_dump(["a", "list"]))
    with pytest.raises(ConfigError, match=r"must be a mapping"):
        load_config(bad)


def test_conditional_times_must_be_whole_lags_within_the_ensembles():
    with pytest.raises(ConfigError, match=r"evaluation\.conditional_times_ps has \[1\.5\]"):
        validate_config(base() | {"evaluation": {"conditional_times_ps": [1, 1.5]}})
    with pytest.raises(ConfigError, match=r"beyond rollout\.conditional\.time_ps = 5"):
        validate_config(base() | {"evaluation": {"conditional_times_ps": [10]},
                                  "rollout": {"conditional": {"time_ps": 5}}})  # fmt: skip
    cfg = validate_config(base() | {"evaluation": {"sweep": {"solvers": [{"name": "dpm3", "steps": 5}]}}})
    assert cfg["evaluation"]["conditional_times_ps"] == [1, 10, 20, 40]
    ten = validate_config(base() | {"dataset": {"lag_ps": 10}, "rollout": {"conditional": {"time_ps": 30}}})
    assert ten["evaluation"]["conditional_times_ps"] == [10, 20]
    with pytest.raises(ConfigError, match="steps"):
        validate_config(base() | {"evaluation": {"sweep": {"solvers": [{"name": "dpm3"}]}}})


def test_a_held_out_molecule_cannot_come_back_through_extra_training_files():
    mols = {"train": ["ethane", "pentane"], "evaluate": ["butane", "ethane"]}
    leak = {"extra": [{"path": "md/butane.h5", "molecule": "butane"}]}
    with pytest.raises(ConfigError, match=r"dataset\.extra trains on md/butane\.h5, .* holds out of training"):
        validate_config(base() | {"molecules": mols, "dataset": leak})
    validate_config(base() | {"molecules": mols, "dataset": {"extra": [{"path": "a.h5", "molecule": "ethane"}]}})


def test_a_held_out_molecule_runs_its_own_production_length_and_the_trained_ones_do_not():
    mols = {"train": ["ethane", "pentane"], "evaluate": ["butane", "ethane"]}
    cfg = load_config(base() | {"molecules": mols, "md": {"production_ns": 0.3, "held_out_production_ns": 1.2}})
    assert cfg.held_out == ["butane"] and cfg.molecules == ["ethane", "pentane", "butane"]
    assert [cfg.production_ns(m) for m in cfg.molecules] == [0.3, 0.3, 1.2]
    same = load_config(base() | {"molecules": mols, "md": {"production_ns": 0.3}})
    assert [same.production_ns(m) for m in same.molecules] == [0.3, 0.3, 0.3]
    # the trained molecules' MD (starts included) is stamped without the held-out length
    assert cfg.md.run_settings() == same.md.run_settings()
    with pytest.raises(ConfigError, match="held_out_production_ns"):
        validate_config(base() | {"md": {"held_out_production_ns": 0}})


def test_training_sizes_are_fractions_or_whole_pair_counts():
    assert validate_config(base() | {"evaluation": {"training_sizes": [0.1, 0.5, 1, 3000]}})
    with pytest.raises(ConfigError, match=r"evaluation\.training_sizes has \[2\.5\]: .* must be whole"):
        validate_config(base() | {"evaluation": {"training_sizes": [0.5, 2.5]}})


@pytest.mark.parametrize("section", ["gromacs", "dataset", "diffusion", "train", "dff", "rollout", "evaluation"])
def test_each_typed_section_has_exactly_the_schemas_keys(section):
    from scoredyn.config import SECTIONS, config_schema, section_fields

    keys = set(config_schema()["properties"][section]["properties"])
    assert set(section_fields(SECTIONS[section])) == keys


def test_the_dff_training_keys_are_dff_keys():
    from scoredyn.config import DFF_TRAINING_KEYS, DFFConfig, section_fields

    assert set(DFF_TRAINING_KEYS) < set(section_fields(DFFConfig)) and "friction_amu_per_ps" not in DFF_TRAINING_KEYS


def test_the_typed_sections_carry_the_validated_values():
    from scoredyn.diffusion.settings import SolverConfig

    raw = base() | {"rollout": {"solver": {"name": "dpm3m", "steps": 15}, "conditional": {"states": ["alpha"]}},
                    "evaluation": {"sweep": {"solvers": [{"name": "dpm3", "steps": 10}]}},
                    "dataset": {"extra": []}, "train": {"steps": 7}}  # fmt: skip
    cfg = load_config(raw, check_molecules=False)
    assert cfg.rollout.solver == SolverConfig("dpm3m", 15) and cfg.rollout.solver.evaluations == 15
    assert cfg.rollout.conditional.states == ("alpha",) and cfg.rollout.chunk is None
    assert cfg.evaluation.sweep.solvers == (SolverConfig("dpm3", 10),) and cfg.evaluation.sweep.time_ns is None
    assert cfg.training.steps == 7 and cfg.training.seed == cfg.seed
    assert cfg.dff.steps is None and cfg.dff_temperature_K() == cfg.md.temperature_K == 300
    assert cfg.diffusion.schedule_keys() == {"beta0": 0.1, "beta1": 20.0, "tau_min": 0.001, "tau_max": 1.0,
                                             "data_scale": 2.0}  # fmt: skip
    assert 0.2 < cfg.dff_stability() < 0.3


def test_an_override_is_validated_again_and_leaves_the_original_alone():
    from scoredyn.diffusion.settings import SolverConfig

    cfg = load_config(base(), check_molecules=False)
    fast = cfg.with_solver(SolverConfig("dpmpp2m", 10), time_ns=0.5)
    assert fast.rollout.solver.label() == "dpmpp2mx10" and fast.rollout.production.time_ns == 0.5
    assert fast.rollout.production.start_frame == cfg.rollout.production.start_frame
    assert cfg.rollout.solver.label() == "dpm3x20" and cfg.rollout.production.time_ns == 2.0
    with pytest.raises(ConfigError, match=r"D dt / sigma\^2"):  # the cross-key checks run again
        cfg.override(dff={"friction_amu_per_ps": 1000.0})
    with pytest.raises(ConfigError, match=r"rollout\.precision"):
        cfg.override(rollout={"precision": "float16"})


def test_solver_labels_round_trip_and_a_bad_one_says_how_to_write_it():
    from scoredyn.diffusion.settings import SolverConfig

    assert SolverConfig.parse("dpm3mx15") == SolverConfig("dpm3m", 15)
    assert SolverConfig.parse(SolverConfig("dpmpp2m", 5).label()) == SolverConfig("dpmpp2m", 5)
    with pytest.raises(ValueError, match=r"write it as <solver>x<steps>"):
        SolverConfig.parse("euler10")
