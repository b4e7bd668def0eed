# Config validation, paths and named input functions shared by every rule.
import re
from pathlib import Path

from scoredyn.config import (
    DFF_TRAINING_KEYS,
    EVALUATION_RUN_KEYS,
    load_config,
    solver_names,
    with_molecule_root,
)
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.errors import ScoredynError
from scoredyn.evaluation.ensembles import ensemble_runs
from scoredyn.layout import Layout
from scoredyn.requests import Requests


def _validated_config():
    # a relative molecules.root that is not under the working directory is read from the workflow
    raw = with_molecule_root(dict(config), workflow.basedir)
    try:
        cfg = load_config(
            raw,
            schema_path=workflow.source_path("../schemas/config.schema.yaml"),
            where="config from " + " + ".join(map(str, workflow.configfiles)),
        )
    except ScoredynError as exc:
        raise WorkflowError(f"invalid configuration: {exc}") from None
    config.clear()
    config.update(cfg.raw)
    return cfg


CFG = _validated_config()
LAYOUT = Layout.of_run(CFG.run)
RESULTS = str(LAYOUT.root)
MD = str(LAYOUT.md("{molecule}"))
SD = str(LAYOUT.rollouts("sd", "{molecule}"))
DFF = str(LAYOUT.rollouts("dff", "{molecule}"))
LOGS = str(LAYOUT.logs)
BENCH = str(LAYOUT.benchmarks)
MDP_DIR = str(Path(workflow.basedir) / "resources" / "mdp")
MOLECULES = {name: CFG.molecule(name) for name in CFG.molecules}


def _requests():
    try:
        return Requests(CFG)
    except ScoredynError as exc:
        raise WorkflowError(f"cluster requests: {exc}") from None


# every job's runtime and mem_mb, from measured rates (scoredyn.requests)
REQUESTS = _requests()
# the workflow's --retries (the profile's), which a rule's own retries replace: None in a dry run
RETRIES = getattr(workflow.execution_settings, "retries", 0) or 0


def conditional_states(molecule):
    """The named states whose fixed starts seed conditional ensembles of ``molecule``."""
    declared = list(MOLECULES[molecule].states)
    wanted = CFG.rollout.conditional.states
    if wanted is None:
        return declared
    unknown = [s for s in wanted if s not in declared]
    if unknown:
        raise WorkflowError(
            f"rollout.conditional.states names {', '.join(unknown)}, which {molecule} does not "
            f"declare (it has {', '.join(declared) or 'no states'}); fix the list or the molecule.yaml"
        )
    return wanted


STATES = sorted({s for m in MOLECULES.values() for s in m.states})


wildcard_constraints:
    molecule="|".join(MOLECULES),
    index=r"\d+",
    state="|".join(STATES) or "no-state",
    solver=rf"({'|'.join(solver_names())})x\d+",
    size="|".join(re.escape(f"{x:g}") for x in CFG.evaluation.training_sizes if x != 1)
    or "no-size",


def molecule_files(wildcards):
    """The structure and topology files that a molecule's description names, so that fixing
    one rebuilds what depends on it."""
    mol = MOLECULES[wildcards.molecule]
    return [
        str(mol.folder / mol.topology[k])
        for k in ("structure", "topology")
        if k in mol.topology
    ]


def start_method(molecule):
    return MOLECULES[molecule].start_method


def start_count(molecule):
    """Number of diverse starts of a training molecule, from its method's config."""
    if start_method(molecule) == "vacuum_hot":
        return CFG.md.vacuum_hot.count
    return CFG.md.dihedral_starts.count


def start_files(wildcards):
    return [
        f"{RESULTS}/md/{wildcards.molecule}/starts/start_{i:04d}.h5"
        for i in range(start_count(wildcards.molecule))
    ]


def start_inputs(wildcards):
    """The topology and box of the molecule, and for alkanes the vacuum frames."""
    md = f"{RESULTS}/md/{wildcards.molecule}"
    inputs = {"top": f"{md}/topology/topol.top", "box": f"{md}/box.json"}
    if start_method(wildcards.molecule) == "vacuum_hot":
        inputs["hot"] = f"{md}/vacuum_hot.h5"
    return inputs


def molecule_request(request, attribute):
    """Named resource function: the attribute of request(molecule), a Request of the job's molecule."""

    def value(wildcards):
        return getattr(request(wildcards.molecule), attribute)

    return value


def start_request(attribute):
    """The request of one diverse start of the molecule's method."""
    return molecule_request(lambda m: REQUESTS.md_start(start_method(m)), attribute)


def production_request(attribute):
    """The request of the molecule's production (a held-out molecule's may be longer)."""
    return molecule_request(REQUESTS.md_production, attribute)


# The training data's MD (topologies, boxes, starts, the trained molecules' productions) goes
# before the productions of held-out molecules, which nothing needs until the SD rollouts: those
# take the cores that the training path leaves free, beside the dataset and training.
TRAINING_PATH = 1


def production_priority(wildcards):
    return 0 if wildcards.molecule in CFG.held_out else TRAINING_PATH


def start_retries():
    """Retries of md_start: the most that a start of any training molecule needs."""
    methods = {start_method(m) for m in CFG.train} or {"dihedrals"}
    return max_retries(REQUESTS.md_start(m) for m in methods)


def max_retries(requests):
    """The rule's Snakemake retries for the largest of these requests."""
    retries = [r.retries(RETRIES) for r in requests]
    return max(retries, key=lambda n: -1 if n is None else n, default=None)


def sweep_request(attribute):
    """Named resource function: the request of one sweep production with its own solver."""

    def value(wildcards):
        return getattr(REQUESTS.sweep(SolverConfig.parse(wildcards.solver)), attribute)

    return value


def sweep_retries():
    return max_retries(REQUESTS.sweep(s) for s in CFG.evaluation.sweep.solvers)


def dataset_inputs(wildcards):
    """Trajectories of each training molecule (as mol0, mol1, ...) and any extra files."""
    inputs = {}
    for k, m in enumerate(CFG.train):
        files = [f"{RESULTS}/md/{m}/production.h5"]
        if CFG.dataset.include_starts:
            files += [
                f"{RESULTS}/md/{m}/starts/start_{i:04d}.h5"
                for i in range(start_count(m))
            ]
        inputs[f"mol{k}"] = files
    extra = [str(e.path) for e in CFG.dataset.extra]
    if extra:
        inputs["extra"] = extra
    return inputs


def md_targets():
    targets = []
    for m in CFG.molecules:
        targets += [
            f"{RESULTS}/md/{m}/production.h5",
            f"{RESULTS}/md/{m}/production.json",
        ]
    for m in CFG.train:
        if start_count(m) > 0:
            targets.append(f"{RESULTS}/md/{m}/starts/manifest.csv")
    return targets


def conditional_run_files(wildcards):
    """The independent MD runs from the fixed start of one state."""
    return [
        f"{RESULTS}/md/{wildcards.molecule}/conditional_{wildcards.state}/run_{i:04d}.h5"
        for i in range(CFG.md.conditional_replicas)
    ]


def dff_enabled():
    return CFG.dff.enabled


def dff_train_settings():
    return {k: v for k, v in config["dff"].items() if k in DFF_TRAINING_KEYS}


def dff_dynamics_settings():
    return {k: v for k, v in config["dff"].items() if k not in DFF_TRAINING_KEYS}


def evaluation_settings():
    """The evaluation settings that change how runs are analysed (binning, bandwidths,
    bootstrap), as params that rerun an evaluation when they change; the keys that only add
    runs (EVALUATION_RUN_KEYS) are left out."""
    return {
        k: v for k, v in config["evaluation"].items() if k not in EVALUATION_RUN_KEYS
    }


def learned_methods():
    """The learned simulators compared with MD: SD, and the DFF baseline when enabled."""
    return ["sd", "dff"] if dff_enabled() else ["sd"]


def sd_targets():
    targets = []
    for m in CFG.evaluate:
        for method in learned_methods():
            out = f"{RESULTS}/{method}/{m}"
            targets += [f"{out}/production.{ext}" for ext in ("h5", "json")]
            targets += [
                f"{out}/conditional_{s}.{ext}"
                for s in conditional_states(m)
                for ext in ("h5", "json")
            ]
        if md_conditional_enabled():
            targets += [
                f"{RESULTS}/md/{m}/conditional_{s}.h5" for s in conditional_states(m)
            ]
    return targets


def train_targets():
    files = ("model.pt", "metrics.csv", "loss.png")
    dirs = ["model", "dff"] if dff_enabled() else ["model"]
    return [f"{RESULTS}/{d}/{f}" for d in dirs for f in files]


EVAL = f"{RESULTS}/evaluation/{{molecule}}"


def md_conditional_enabled():
    return CFG.md.conditional_replicas > 0


def learned_files(pattern):
    """Named input function: {"sd": ..., "dff": ...}, each learned method's rollout file
    ``pattern`` (formatted with the wildcards) of one molecule."""

    def files(wildcards):
        name = pattern.format(**wildcards)
        return {
            m: f"{RESULTS}/{m}/{wildcards.molecule}/{name}" for m in learned_methods()
        }

    return files


def speed_inputs(wildcards):
    """Production outputs and benchmark files of every evaluated molecule, and of the ensembles."""
    mols = CFG.evaluate
    ensembles = speed_ensembles()
    inputs = {
        "md_json": [f"{RESULTS}/md/{m}/production.json" for m in mols],
        "md_bench": [f"{BENCH}/md/{m}/production.tsv" for m in mols],
        "ensembles": [str(e.output) for e in ensembles],
        "ensemble_json": [str(e.summary) for e in ensembles if e.summary],
        "ensemble_bench": [str(b) for e in ensembles for b in e.bench],
    }
    for method in learned_methods():
        inputs[f"{method}_json"] = [
            f"{RESULTS}/{method}/{m}/production.json" for m in mols
        ]
        inputs[f"{method}_bench"] = [
            f"{BENCH}/{method}/{m}/production.tsv" for m in mols
        ]
    return inputs


def speed_ensembles():
    """Every conditional ensemble whose speed evaluate_speed reports (EnsembleRun records)."""
    return ensemble_runs(
        LAYOUT,
        {m: conditional_states(m) for m in CFG.evaluate},
        learned_methods(),
        CFG.rollout.conditional.replicas,
        CFG.md.conditional_replicas,
        CFG.rollout.conditional.time_ps,
    )


def sweep_labels():
    """The extra solver settings of the optional sweep, as labels such as dpm3x5."""
    main = CFG.rollout.solver.label()
    labels = [s.label() for s in CFG.evaluation.sweep.solvers]
    return [s for s in dict.fromkeys(labels) if s != main]


def sweep_points():
    """Every point of the sweep: the production's own solver first, then the extra ones."""
    return [CFG.rollout.solver.label()] + sweep_labels()


def sweep_files(ext):
    """Named input function: the sweep productions of one molecule."""

    def files(wildcards):
        sd = f"{RESULTS}/sd/{wildcards.molecule}"
        return [f"{sd}/production.{ext}"] + [
            f"{sd}/sweep/{s}/production.{ext}" for s in sweep_labels()
        ]

    return files


def size_labels():
    """The training sizes of evaluation.training_sizes (paper Fig. 4a) as labels such as 0.25 or 3000."""
    return [f"{x:g}" for x in CFG.evaluation.training_sizes]


def size_files(ext):
    """Named input function: one SD production of a molecule per training size (size 1: the main one)."""

    def files(wildcards):
        m = wildcards.molecule
        return [
            (
                f"{RESULTS}/sd/{m}/production.{ext}"
                if float(s) == 1
                else f"{RESULTS}/sizes/{s}/sd/{m}/production.{ext}"
            )
            for s in size_labels()
        ]

    return files


def evaluation_csvs(wildcards):
    """The metric rows of every evaluation rule."""
    csvs = [f"{RESULTS}/evaluation/speed.csv"]
    for m in CFG.evaluate:
        csvs.append(f"{RESULTS}/evaluation/{m}/equilibrium.csv")
        if sweep_labels():
            csvs.append(f"{RESULTS}/evaluation/{m}/sweep_solver.csv")
        if size_labels():
            csvs.append(f"{RESULTS}/evaluation/{m}/training_size.csv")
        if md_conditional_enabled():
            csvs += [
                f"{RESULTS}/evaluation/{m}/conditional_{s}.csv"
                for s in conditional_states(m)
            ]
    return csvs


def evaluation_targets():
    return [f"{RESULTS}/evaluation/metrics.{ext}" for ext in ("json", "csv")]


def all_targets():
    return md_targets() + train_targets() + sd_targets() + evaluation_targets()
