"""A typed view of the validated workflow config.

The schema ``schemas/config.schema.yaml`` (also reachable as
``workflow/schemas/config.schema.yaml``) is the single source of truth for keys,
ranges and defaults; :func:`validate_config` applies it, then checks the rules that
span several keys. The workflow's ``common.smk`` and the ``scoredyn`` command line
call the same function.

:func:`load_config` builds one frozen dataclass per section from the validated dict, each
field named as its key (a test holds the fields to the schema's keys). A subsystem takes its
own section; :meth:`Config.override` makes a changed copy, validated again.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, fields
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from scoredyn.diffusion.settings import SolverConfig
from scoredyn.errors import ConfigError
from scoredyn.schema import coerce_scalars, validate
from scoredyn.units import KB_KJ_PER_MOL_K, KJ_PER_G_IN_A2_PER_PS2

if TYPE_CHECKING:
    from scoredyn.molecules import Molecule

#: Number density of liquid water (molecules per nm^3) used to estimate the box edge.
WATER_PER_NM3 = 33.4


@cache
def config_schema(path: str | None = None) -> dict:
    """The config schema: the package's copy, or the file at ``path`` (the workflow's)."""
    if path is None:
        text = resources.files("scoredyn.schemas").joinpath("config.schema.yaml").read_text()
    else:
        text = Path(path).read_text()
    return yaml.safe_load(text)


def solver_names() -> list[str]:
    """The solvers a config may name (the schema's list; :data:`scoredyn.diffusion.solver.SOLVERS`
    implements each, which a test checks), without importing torch."""
    solver = config_schema()["properties"]["rollout"]["properties"]["solver"]
    return list(solver["properties"]["name"]["enum"])


def box_edge_estimate_nm(n_waters: int) -> float:
    """Edge of a cubic box holding ``n_waters`` at liquid density (nm)."""
    return (n_waters / WATER_PER_NM3) ** (1.0 / 3.0)


@dataclass(frozen=True)
class DihedralStarts:
    count: int
    run_ps: float
    min_clearance_A: float


@dataclass(frozen=True)
class VacuumHotStarts:
    count: int
    run_ps: float
    temperature_K: float
    timestep_fs: float
    save_every: int
    box_nm: float
    cutoff_nm: float


@dataclass(frozen=True)
class GromacsConfig:
    command: str
    threads: int
    checkpoint_minutes: float
    reproducible: bool


@dataclass(frozen=True)
class MDConfig:
    forcefield: str
    water_model: str
    n_waters: int
    temperature_K: float
    timestep_fs: float
    tau_t_ps: float
    constraints: str
    cutoff_nm: float
    frame_interval_ps: float
    minimize_steps: int
    minimize_emtol: float
    equilibrate_ps: float
    production_ns: float
    dihedral_starts: DihedralStarts
    vacuum_hot: VacuumHotStarts

    conditional_replicas: int  # md.conditional.replicas: MD runs from each state's start
    held_out_production_ns: float | None = None  # a held-out molecule's production; production_ns when None

    def steps(self, ps: float, timestep_fs: float | None = None) -> int:
        """Number of MD steps that cover ``ps`` picoseconds."""
        return round(ps * 1000.0 / (timestep_fs or self.timestep_fs))

    @property
    def frame_every_steps(self) -> int:
        return self.steps(self.frame_interval_ps)

    def run_settings(self) -> dict[str, object]:
        """The settings every MD run of a molecule depends on (not the starts' or the
        conditional ensembles'): what a working directory is stamped with."""
        skip = ("dihedral_starts", "vacuum_hot", "conditional_replicas", "held_out_production_ns")
        return {k: v for k, v in asdict(self).items() if k not in skip}


@dataclass(frozen=True)
class ExtraSource:
    """One ``dataset.extra`` entry: a trajectory packed beside the run's own MD."""

    path: Path
    molecule: str  # the label its pairs carry: ``molecule``, else the file's stem


@dataclass(frozen=True)
class DatasetConfig:
    lag_ps: float
    val_fraction: float
    block_ps: float
    atom_types: str
    include_starts: bool
    extra: tuple[ExtraSource, ...]


@dataclass(frozen=True)
class DiffusionConfig:
    beta0: float
    beta1: float
    tau_min: float
    tau_max: float
    data_scale: float
    parametrisation: str

    def schedule_keys(self) -> dict[str, float]:
        """The keywords of :class:`~scoredyn.diffusion.schedule.VPSchedule`."""
        return {k: v for k, v in asdict(self).items() if k != "parametrisation"}


@dataclass(frozen=True)
class TrainSection:
    """The ``train`` section (:func:`scoredyn.training.train_config` turns it into the trainer's settings)."""

    steps: int
    batch_size: int
    lr: float
    lr_schedule: str
    ema_decay: float
    width: int
    n_blocks: int
    cutoff_A: float
    checkpoint_every: int
    validate_every: int
    val_pairs: int
    device: str
    compile: bool
    threads: int
    seed: int
    input_noise_A: float
    tau_sampling: str
    architecture: str
    anchor: str
    torsion_features: bool
    torsion_head: bool
    whole_turn: bool
    slow_targets: bool
    loss_weighting: str
    input_scaling: bool
    mean_head: bool


@dataclass(frozen=True)
class DFFConfig:
    enabled: bool
    sigma_A: tuple[float, float]  # the denoiser's noise levels, lowest first
    duplicates: int
    steps: int | None  # None: train.steps
    temperature_K: float | None  # None: md.temperature_K
    friction_amu_per_ps: float
    timestep_fs: float


@dataclass(frozen=True)
class ProductionRollout:
    time_ns: float
    start_frame: int


@dataclass(frozen=True)
class ConditionalRollout:
    replicas: int
    time_ps: float
    states: tuple[str, ...] | None  # None: every state of each molecule


@dataclass(frozen=True)
class RolloutConfig:
    solver: SolverConfig
    device: str
    precision: str
    compile: bool
    chunk: int | None
    constraints: str
    fast_coordinates: str
    resample: bool
    max_rejections: int
    rollback_frames: int
    checkpoint_every: int
    peptide_bonds: bool
    seed: int
    production: ProductionRollout
    conditional: ConditionalRollout


@dataclass(frozen=True)
class Sweep:
    solvers: tuple[SolverConfig, ...]
    time_ns: float | None  # None: rollout.production.time_ns


@dataclass(frozen=True)
class EvaluationConfig:
    conditional_times_ps: tuple[float, ...]
    conditional_bins: int
    kde_bandwidth_deg: float
    conditional_kde_bandwidth_deg: float
    free_energy_max_kJ_mol: float
    bootstrap_samples: int
    training_sizes: tuple[float, ...]
    sweep: Sweep


@dataclass(frozen=True)
class RequestsConfig:
    rates: Path | None  # None: the package's rates (scoredyn.costs.default_rates_path)
    safety_factor: float
    min_runtime_min: int
    max_runtime_min: int
    max_mem_mb: int


@dataclass(frozen=True)
class Config:
    """The whole validated config, one typed section per key; ``raw`` keeps the validated dict
    (defaults filled in) for :meth:`override` and for writing the config out."""

    run: str
    seed: int
    train: list[str]
    evaluate: list[str]
    molecule_root: Path
    gromacs: GromacsConfig
    md: MDConfig
    dataset: DatasetConfig
    diffusion: DiffusionConfig
    training: TrainSection  # the ``train`` key (``train`` is the list of training molecules)
    dff: DFFConfig
    rollout: RolloutConfig
    evaluation: EvaluationConfig
    requests: RequestsConfig
    raw: dict[str, Any]

    def molecule(self, name: str) -> Molecule:
        """The description of molecule ``name``: from ``molecules.define``, else from ``molecules.root``."""
        from scoredyn.molecules import load_molecule

        return load_molecule(name, self.molecule_root, self.raw["molecules"].get("define"))

    def override(self, **sections: dict[str, Any]) -> Config:
        """A copy with keys of these sections replaced, nested dicts merged (``override(rollout=
        {"solver": {"name": "dpm3m"}})``), validated again with the cross-key checks.

        Raises
        ------
        ConfigError
            When the changed config is not valid, naming the key.
        """
        raw = merge_configs_dicts(copy.deepcopy(self.raw), copy.deepcopy(sections))
        return build_config(validate_config(raw, "config override"))

    def with_solver(self, solver: SolverConfig, time_ns: float | None = None) -> Config:
        """A copy whose rollouts use ``solver`` (and whose production runs ``time_ns`` when given)."""
        roll: dict[str, Any] = {"solver": {"name": solver.name, "steps": solver.steps}}
        if time_ns is not None:
            roll["production"] = {"time_ns": time_ns}
        return self.override(rollout=roll)

    def sweep_time_ns(self) -> float:
        """Simulated time of each solver-sweep production: ``evaluation.sweep.time_ns``, else the production's."""
        sweep = self.evaluation.sweep
        return sweep.time_ns if sweep.time_ns is not None else self.rollout.production.time_ns

    def dff_temperature_K(self) -> float:
        """Temperature of the DFF's dynamics (:func:`dff_temperature_K`)."""
        return dff_temperature_K(self.raw["dff"], self.md.temperature_K)

    def dff_stability(self) -> float:
        """D dt / sigma_low^2 of the DFF's Brownian dynamics (:func:`dff_stability`)."""
        return dff_stability(self.raw["dff"], self.md.temperature_K)

    @property
    def molecules(self) -> list[str]:
        """Every molecule the run simulates, training molecules first."""
        return self.train + self.held_out

    @property
    def held_out(self) -> list[str]:
        """The molecules evaluated but never trained on: their MD is the reference alone."""
        return [m for m in self.evaluate if m not in self.train]

    def production_ns(self, name: str) -> float:
        """Length of molecule ``name``'s MD production: ``md.held_out_production_ns`` for a
        molecule held out of training (when set), else ``md.production_ns``."""
        held_out = self.md.held_out_production_ns
        return held_out if held_out is not None and name in self.held_out else self.md.production_ns


def is_multiple(value: float, step: float) -> bool:
    """Whether ``value`` is a whole number of ``step`` (to 1e-6 of a step)."""
    return abs(value / step - round(value / step)) <= 1e-6


def _cross_checks(cfg: dict[str, Any], where: str) -> None:
    md = cfg["md"]
    edge = box_edge_estimate_nm(md["n_waters"])
    if md["cutoff_nm"] + 0.1 >= edge / 2.0:
        need = int(WATER_PER_NM3 * (2.0 * (md["cutoff_nm"] + 0.15)) ** 3) + 1
        raise ConfigError(
            f"{where}: md.cutoff_nm = {md['cutoff_nm']} does not fit a box of md.n_waters = "
            f"{md['n_waters']} (edge about {edge:.2f} nm, so the cut-off plus buffer must stay below "
            f"{edge / 2 - 0.1:.2f} nm); raise md.n_waters to at least {need} or lower md.cutoff_nm"
        )
    hot = md["starts"]["vacuum_hot"]
    if hot["cutoff_nm"] >= hot["box_nm"] / 2.0:
        raise ConfigError(
            f"{where}: md.starts.vacuum_hot.cutoff_nm = {hot['cutoff_nm']} must be below half of "
            f"md.starts.vacuum_hot.box_nm = {hot['box_nm']}; enlarge the box or shorten the cut-off"
        )
    if cfg["train"]["width"] % 2:
        raise ConfigError(
            f"{where}: train.width = {cfg['train']['width']} must be even (it holds sin and cos features)"
        )
    if not is_multiple(cfg["dataset"]["lag_ps"], md["frame_interval_ps"]):
        raise ConfigError(
            f"{where}: dataset.lag_ps = {cfg['dataset']['lag_ps']} is not a multiple of md.frame_interval_ps = "
            f"{md['frame_interval_ps']}; choose a lag that is a whole number of saved frames"
        )
    lag, roll = cfg["dataset"]["lag_ps"], cfg["rollout"]
    for key, ps in (("production.time_ns", 1000.0 * roll["production"]["time_ns"]),
                    ("conditional.time_ps", roll["conditional"]["time_ps"])):  # fmt: skip
        if ps / lag < 1 - 1e-9 or not is_multiple(ps, lag):
            raise ConfigError(
                f"{where}: rollout.{key} is not a whole number (at least one) of SD steps of "
                f"dataset.lag_ps = {lag} ps; make it a multiple of the lag"
            )
    times = cfg["evaluation"]["conditional_times_ps"]
    off = [t for t in times if not is_multiple(t, lag)]
    if off:
        raise ConfigError(
            f"{where}: evaluation.conditional_times_ps has {off}, which are not multiples of dataset.lag_ps = {lag} ps"
        )
    if min(times) > roll["conditional"]["time_ps"] + 1e-9:
        raise ConfigError(
            f"{where}: every time in evaluation.conditional_times_ps is beyond rollout.conditional.time_ps = "
            f"{roll['conditional']['time_ps']}; add a shorter time or lengthen the ensembles"
        )
    dff = cfg["dff"]
    low, high = dff["sigma_A"]
    if low > high:
        raise ConfigError(f"{where}: dff.sigma_A = {dff['sigma_A']} must be [lowest, highest]; swap the two levels")
    if not is_multiple(lag * 1000.0, dff["timestep_fs"]) or dff["timestep_fs"] > lag * 1000.0:
        raise ConfigError(
            f"{where}: dataset.lag_ps = {lag} is not a whole number of dff.timestep_fs = {dff['timestep_fs']} "
            "(DFF frames are saved as far apart as SD's); choose a timestep that divides the lag"
        )
    a = dff_stability(dff, md["temperature_K"])
    if a > MAX_DFF_STABILITY:
        raise ConfigError(
            f"{where}: dff.timestep_fs = {dff['timestep_fs']} with dff.friction_amu_per_ps = "
            f"{dff['friction_amu_per_ps']} moves an atom too far per step for forces learned at dff.sigma_A[0] = "
            f"{low} A (D dt / sigma^2 = {a:.2f} > {MAX_DFF_STABILITY}; Euler-Maruyama diverges at 2); "
            f"shorten the timestep or raise the friction by {a / MAX_DFF_STABILITY:.1f}x"
        )
    odd = [x for x in cfg["evaluation"]["training_sizes"] if x > 1 and x != int(x)]
    if odd:
        raise ConfigError(
            f"{where}: evaluation.training_sizes has {odd}: a size above 1 is a number of training pairs and must be "
            "whole; give a fraction up to 1 or a whole number of pairs"
        )
    mols = cfg["molecules"]
    held_out = set(mols.get("evaluate", [])) - set(mols["train"])
    leaks = [e["path"] for e in cfg["dataset"]["extra"] if e.get("molecule") in held_out]
    if leaks:
        raise ConfigError(
            f"{where}: dataset.extra trains on {', '.join(leaks)}, labelled as a molecule that molecules.evaluate "
            "holds out of training; drop it, or list the molecule under molecules.train"
        )
    for key in ("frame_interval_ps", "equilibrate_ps"):
        if not is_multiple(md[key] * 1000.0, md["timestep_fs"]):
            raise ConfigError(
                f"{where}: md.{key} = {md[key]} is not a whole number of md.timestep_fs = {md['timestep_fs']}"
            )


#: Display names of the methods by their key in rule inputs and result folders, in the
#: order figures show them: the MD reference, SD, and the DFF baseline.
METHOD_NAMES = {"md": "MD", "sd": "SD", "dff": "DFF"}

#: The ``dff`` keys that change the trained denoiser; the others change only its dynamics, so
#: the rules retrain on these alone.
DFF_TRAINING_KEYS = ("sigma_A", "duplicates", "steps")
#: The ``evaluation`` keys that add runs (the solver sweep's productions, Fig. 4a's models)
#: instead of changing how runs are analysed: turning them on reruns no other evaluation.
EVALUATION_RUN_KEYS = ("sweep", "training_sizes")

#: Largest D dt / sigma^2 of the DFF's Brownian dynamics (see :func:`dff_stability`).
MAX_DFF_STABILITY = 0.5


def dff_temperature_K(dff: dict[str, Any], md_temperature_K: float) -> float:
    """Temperature of the DFF's dynamics: ``dff.temperature_K``, else the MD's."""
    return dff.get("temperature_K", md_temperature_K)


def dff_stability(dff: dict[str, Any], md_temperature_K: float) -> float:
    """D dt / sigma_low^2 of the DFF's Brownian dynamics, with D = kT / zeta.

    A denoiser trained at noise level sigma sees constrained and stiff modes at least
    sigma wide, so its force constants reach kT / sigma^2, and Euler-Maruyama's
    stability number dt D k / kT for them is this ratio (stable below 2, variance
    inflated by 1 / (1 - a/2)).
    """
    kT = KB_KJ_PER_MOL_K * dff_temperature_K(dff, md_temperature_K)
    diffusion = kT * KJ_PER_G_IN_A2_PER_PS2 / dff["friction_amu_per_ps"]  # A^2/ps
    return diffusion * dff["timestep_fs"] / 1000.0 / dff["sigma_A"][0] ** 2


#: The paper's times for P(X_t | X_0) (Fig. 3).
PAPER_CONDITIONAL_TIMES_PS = (1.0, 10.0, 20.0, 40.0)


def default_conditional_times(cfg: dict[str, Any]) -> list[float]:
    """The paper's times that are whole SD steps within the ensembles, else the ensembles' end."""
    lag, end = cfg["dataset"]["lag_ps"], cfg["rollout"]["conditional"]["time_ps"]
    times = [t for t in PAPER_CONDITIONAL_TIMES_PS if t <= end + 1e-9 and is_multiple(t, lag)]
    return times or [float(end)]


def validate_config(raw: dict[str, Any], where: str = "config", schema_path: str | None = None) -> dict[str, Any]:
    """Validate ``raw`` against the schema and the cross-key rules; fill defaults.

    Returns a new dict (``raw`` is not modified).

    Raises
    ------
    ConfigError
        Naming the key, the bad value and what is allowed.
    """
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: the config must be a mapping of keys to values, got {type(raw).__name__}")
    schema = config_schema(schema_path)
    cfg = validate(coerce_scalars(copy.deepcopy(raw), schema), schema, where, ConfigError)
    cfg["molecules"].setdefault("evaluate", list(cfg["molecules"]["train"]))
    cfg["train"].setdefault("seed", cfg["seed"])
    cfg["rollout"].setdefault("seed", cfg["seed"])
    cfg["evaluation"].setdefault("conditional_times_ps", default_conditional_times(cfg))
    _cross_checks(cfg, where)
    return cfg


def read_config_file(path: Path) -> Any:
    """The YAML content of a config file.

    Raises
    ------
    ConfigError
        For a missing file, or a YAML error, naming its line and column.
    """
    if not path.is_file():
        raise ConfigError(f"{path}: no such config file; pass an existing YAML file")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(f"{path}: not valid YAML{at}: {exc.problem or exc.context}; fix the syntax there") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None


def with_molecule_root(raw: dict[str, Any], base: Path | str) -> dict[str, Any]:
    """``raw`` whose relative ``molecules.root`` that does not exist under the working directory is
    read from ``base`` instead (the workflow's folder, or the source tree), as a copy."""
    raw = copy.deepcopy(raw)
    root = Path(raw.get("molecules", {}).get("root", "resources/molecules"))
    if not root.is_absolute() and not root.exists():
        raw.setdefault("molecules", {})["root"] = str(Path(base) / root)
    return raw


def merge_configs_dicts(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """``b`` overlaid on ``a``: nested mappings merged, any other value of ``b`` replacing ``a``'s."""
    out = dict(a)
    for k, v in b.items():
        out[k] = merge_configs_dicts(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def merge_configs(files: list[Path]) -> dict[str, Any]:
    """Config files overlaid in order, as Snakemake overlays each --configfile on the last."""
    raw: dict[str, Any] = {}
    for f in files:
        content = read_config_file(f) or {}
        if not isinstance(content, dict):
            raise ConfigError(f"{f}: a config must be a mapping of keys to values, got {type(content).__name__}")
        raw = merge_configs_dicts(raw, content)
    return raw


def load_config(
    source: str | Path | dict[str, Any],
    check_molecules: bool = True,
    schema_path: str | None = None,
    where: str = "config",
) -> Config:
    """Read, validate and type a config from a YAML file or a dict.

    With ``check_molecules`` every named molecule must have a valid description.
    ``schema_path`` overrides the package's schema (the workflow passes its own path);
    ``where`` names a dict's origin in error messages.
    """
    if isinstance(source, dict):
        raw = source
    else:
        where = str(source)
        raw = read_config_file(Path(source))
    cfg = validate_config(raw, where, schema_path)
    config = build_config(cfg)
    if check_molecules:
        for name in config.molecules:
            config.molecule(name)
        check_extra_files(cfg, where)
    return config


def _solver(d: dict[str, Any]) -> SolverConfig:
    return SolverConfig(d["name"], d["steps"])


def build_config(cfg: dict[str, Any]) -> Config:
    """The typed sections of a validated config dict (:func:`validate_config`'s output)."""
    md, g, ds, roll, ev, dff = cfg["md"], cfg["gromacs"], cfg["dataset"], cfg["rollout"], cfg["evaluation"], cfg["dff"]
    req = cfg["requests"]
    scalar = {k: v for k, v in roll.items() if k not in ("solver", "production", "conditional")}
    cond = roll["conditional"]
    states = tuple(cond["states"]) if "states" in cond else None
    dff_keys = {"sigma_A": tuple(dff["sigma_A"]), "steps": dff.get("steps"), "temperature_K": dff.get("temperature_K")}
    return Config(
        run=cfg["run"],
        seed=cfg["seed"],
        train=list(cfg["molecules"]["train"]),
        evaluate=list(cfg["molecules"]["evaluate"]),
        molecule_root=Path(cfg["molecules"]["root"]),
        gromacs=GromacsConfig(**g),
        md=MDConfig(
            **{k: v for k, v in md.items() if k not in ("starts", "conditional")},
            dihedral_starts=DihedralStarts(**md["starts"]["dihedrals"]),
            vacuum_hot=VacuumHotStarts(**md["starts"]["vacuum_hot"]),
            conditional_replicas=md["conditional"]["replicas"],
        ),
        dataset=DatasetConfig(
            **{k: v for k, v in ds.items() if k != "extra"},
            extra=tuple(ExtraSource(Path(e["path"]), e.get("molecule", Path(e["path"]).stem)) for e in ds["extra"]),
        ),
        diffusion=DiffusionConfig(**cfg["diffusion"]),
        training=TrainSection(**cfg["train"]),
        dff=DFFConfig(**(dff | dff_keys)),
        rollout=RolloutConfig(
            **(scalar | {"chunk": roll.get("chunk")}),
            solver=_solver(roll["solver"]),
            production=ProductionRollout(**roll["production"]),
            conditional=ConditionalRollout(cond["replicas"], cond["time_ps"], states),
        ),
        evaluation=EvaluationConfig(
            **{k: v for k, v in ev.items() if k not in ("sweep", "conditional_times_ps", "training_sizes")},
            conditional_times_ps=tuple(float(t) for t in ev["conditional_times_ps"]),
            training_sizes=tuple(ev["training_sizes"]),
            sweep=Sweep(tuple(_solver(x) for x in ev["sweep"]["solvers"]), ev["sweep"].get("time_ns")),
        ),
        requests=RequestsConfig(**(req | {"rates": Path(req["rates"]) if req["rates"] else None})),
        raw=cfg,
    )


#: config section -> the dataclass of its keys, for the test that holds the fields to the schema
SECTIONS = {
    "gromacs": GromacsConfig,
    "dataset": DatasetConfig,
    "diffusion": DiffusionConfig,
    "train": TrainSection,
    "dff": DFFConfig,
    "rollout": RolloutConfig,
    "evaluation": EvaluationConfig,
    "requests": RequestsConfig,
}


def section_fields(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def check_extra_files(cfg: dict[str, Any], where: str) -> None:
    """Each ``dataset.extra`` file is a readable trajectory (one entry per atom in its attributes)
    whose frames are a whole number of them apart at the lag ``dataset.lag_ps``.

    Raises
    ------
    ConfigError
        Naming the entry, the file and the fix.
    """
    from scoredyn.errors import TrajectoryError
    from scoredyn.trajectory import trajectory_info

    lag = cfg["dataset"]["lag_ps"]
    for k, entry in enumerate(cfg["dataset"]["extra"]):
        key, path = f"dataset.extra[{k}].path", Path(entry["path"])
        if not path.is_file():
            raise ConfigError(f"{where}: {key} = {str(path)!r} is not a file (from {Path.cwd()}); fix the path")
        try:
            n_frames, _, attrs = trajectory_info(path)
        except TrajectoryError as exc:
            raise ConfigError(f"{where}: {key}: {exc}") from None
        dt = attrs["timestep"]
        if not is_multiple(lag, dt):
            raise ConfigError(
                f"{where}: {key}: frames of {path} are {dt:g} ps apart, so dataset.lag_ps = {lag:g} is not a whole "
                "number of them; choose a lag that is a multiple of the file's timestep"
            )
        if (n_frames - 1) * dt < lag - 1e-9:
            raise ConfigError(
                f"{where}: {key}: {path} spans {(n_frames - 1) * dt:g} ps, shorter than dataset.lag_ps = {lag:g}; "
                "it holds no pair: drop it or give a longer trajectory"
            )
