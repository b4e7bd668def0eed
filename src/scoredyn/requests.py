"""What each job asks a cluster scheduler for: runtime, memory, and how many submissions.

A job's request is its work at measured rates (:class:`scoredyn.costs.Rates`, from
``requests.rates`` or the package's), times ``requests.safety_factor``, plus a start-up
allowance, and never under ``requests.min_runtime_min``. Work longer than
``requests.max_runtime_min`` (the profile's cap) is split across submissions: the job asks for
the cap, and the rule gets enough Snakemake retries for the rest, each of which resumes from the
work's last checkpoint - mdrun from its ``.cpt`` (it writes one when Slurm's SIGTERM arrives),
training from ``checkpoint.pt`` and a rollout from its last chunk. Only those jobs resume; any
other job whose request does not fit under the cap, and any job whose memory does not fit under
``requests.max_mem_mb``, is an error before anything runs.

Local runs ignore both resources; the numbers matter to cluster executors only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scoredyn.config import Config
from scoredyn.costs import Rates, load_rates
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.errors import ConfigError

#: minutes added to every request: interpreter and torch start-up, file staging
STARTUP_MIN = 5.0
#: share of a capped submission that makes progress (the rest: start-up, work lost since the last checkpoint)
USEFUL_SHARE = 0.9
#: the smallest memory request (MB)
MIN_MEM_MB = 1000


@dataclass(frozen=True)
class Request:
    """One rule's request: Snakemake's ``runtime`` (minutes) and ``mem_mb``, and the submissions
    that the work needs at that runtime."""

    runtime: int
    mem_mb: int
    submissions: int = 1

    def retries(self, base: int) -> int | None:
        """The rule's Snakemake ``retries``: None (the workflow's ``base``) when one submission is
        enough, else the further submissions plus ``base``."""
        return None if self.submissions == 1 else self.submissions - 1 + base


class Requests:
    """The requests of a config's jobs, from one set of rates."""

    def __init__(self, cfg: Config, rates: Rates | None = None):
        self.cfg = cfg
        self.rates = rates if rates is not None else load_rates(cfg)

    def of(self, rule: str) -> Request:
        """The request of ``rule``, one of the rules whose jobs all do the same work."""
        cond = self.cfg.rollout.conditional
        production_ps = self.cfg.rollout.production.time_ns * 1000.0
        build = {
            "md_production": self.md_production,
            "md_conditional_prepare": self.md_state_equilibration,
            "md_conditional_run": self.md_conditional_run,
            "train": self.train,
            "train_size": lambda: self.train("train_size"),
            "train_dff": self.train_dff,
            "sd_production": lambda: self.sd(rule, production_ps),
            "sd_size": lambda: self.sd(rule, production_ps),
            "sd_conditional": lambda: self.sd(rule, cond.time_ps, cond.replicas),
            "dff_production": lambda: self.dff(rule, production_ps),
            "dff_conditional": lambda: self.dff(rule, cond.time_ps, cond.replicas),
        }
        if rule not in build:
            raise KeyError(f"no request for rule {rule!r}; the rules with one: {', '.join(build)}")
        return build[rule]()

    def _request(self, job: str, seconds: float, mem_mb: float, resumable: bool) -> Request:
        policy = self.cfg.requests
        need = policy.safety_factor * seconds / 60.0 + STARTUP_MIN
        mem = int(math.ceil(max(MIN_MEM_MB, policy.safety_factor * mem_mb) / 100.0) * 100)
        if mem > policy.max_mem_mb:
            raise ConfigError(
                f"{job} would ask for {mem} MB, above requests.max_mem_mb = {policy.max_mem_mb}; raise the cap "
                "to a node's memory or make the job smaller"
            )
        if need <= policy.max_runtime_min:
            return Request(math.ceil(max(need, policy.min_runtime_min)), mem)
        if not resumable:
            raise ConfigError(
                f"{job} would need {need / 60.0:.0f} h, above requests.max_runtime_min = {policy.max_runtime_min} "
                "min, and it cannot resume across submissions; make it shorter or raise the cap"
            )
        return Request(policy.max_runtime_min, mem, math.ceil(need / (USEFUL_SHARE * policy.max_runtime_min)))

    # -- MD --------------------------------------------------------------------------------
    def md(self, job: str, ps: float, threads: int = 1, resumable: bool = True) -> Request:
        """``ps`` of solution MD (equilibration included) on ``threads`` threads."""
        seconds = self.rates.md_cpu_s(self.cfg, ps) / max(threads, 1)
        return self._request(job, seconds, self.rates.md_mem_mb(self.cfg), resumable)

    def md_production(self, name: str | None = None) -> Request:
        """The production of molecule ``name``; without one, the longest of the run's (a held-out
        molecule's may be longer: ``md.held_out_production_ns``)."""
        ns = max(self.cfg.production_ns(m) for m in ([name] if name is not None else self.cfg.molecules))
        return self.md("md_production", ns * 1000.0 + self.cfg.md.equilibrate_ps, self.cfg.gromacs.threads)

    def md_start(self, method: str) -> Request:
        """One diverse start of ``method`` (``dihedrals`` or ``vacuum_hot``): equilibration and run."""
        spec = self.cfg.md.vacuum_hot if method == "vacuum_hot" else self.cfg.md.dihedral_starts
        return self.md("md_start", self.cfg.md.equilibrate_ps + spec.run_ps)

    def md_state_equilibration(self) -> Request:
        return self.md("md_conditional_prepare", self.cfg.md.equilibrate_ps)

    def md_conditional_run(self) -> Request:
        return self.md("md_conditional_run", self.cfg.rollout.conditional.time_ps)

    # -- training --------------------------------------------------------------------------
    def train(self, job: str = "train", steps: int | None = None) -> Request:
        """``steps`` optimizer steps (``train.steps`` by default) of the config's network."""
        steps = self.cfg.training.steps if steps is None else steps
        return self._request(job, self.rates.train_s(self.cfg, steps), self.rates.train_mem_mb(self.cfg), True)

    def train_dff(self) -> Request:
        dff = self.cfg.dff
        return self.train("train_dff", dff.steps if dff.steps is not None else self.cfg.training.steps)

    # -- rollouts --------------------------------------------------------------------------
    def rollout(self, job: str, evaluations: float, replicas: int) -> Request:
        """``evaluations`` network evaluations for each of ``replicas`` replicas, timed as if unbatched
        (an upper bound: a batch of replicas runs faster per replica)."""
        seconds = self.rates.evaluation_s(self.cfg, evaluations * replicas)
        return self._request(job, seconds, self.rates.rollout_mem_mb(self.cfg), True)

    def sd(self, job: str, ps: float, replicas: int = 1, evaluations_per_step: int | None = None) -> Request:
        """``ps`` of SD per replica with the production's solver (or ``evaluations_per_step``)."""
        per_step = self.cfg.rollout.solver.evaluations if evaluations_per_step is None else evaluations_per_step
        return self.rollout(job, ps / self.cfg.dataset.lag_ps * per_step, replicas)

    def sweep(self, solver: SolverConfig) -> Request:
        """One production of the solver sweep (``evaluation.sweep``) with ``solver``."""
        return self.sd("sd_sweep", self.cfg.sweep_time_ns() * 1000.0, 1, solver.evaluations)

    def dff(self, job: str, ps: float, replicas: int = 1) -> Request:
        """``ps`` of DFF Brownian dynamics per replica: one evaluation per step."""
        return self.rollout(job, ps * 1000.0 / self.cfg.dff.timestep_fs, replicas)
