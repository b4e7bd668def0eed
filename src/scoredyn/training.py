"""Training the noise network by denoising score matching (paper Algorithm 2, Table 1).

RAdam at a fixed learning rate, an exponential moving average (EMA) of the weights,
random rotations of every sample. CUDA is used when present, the CPU otherwise.

Every ``checkpoint_every`` steps the full state (weights, optimizer, EMA, both random
streams, step, metrics so far) is written atomically to ``checkpoint.pt``; a rerun
resumes from it exactly, so N steps, a stop and N more steps equal 2N steps straight
through. At the end ``model.pt`` receives the EMA weights and everything
:func:`~scoredyn.model.checkpoint.load_model` needs.
"""

from __future__ import annotations

import itertools
import logging
import math
import time
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

from scoredyn.config import Config
from scoredyn.data.loader import PairData
from scoredyn.devices import pick_device
from scoredyn.diffusion.objective import DenoiserObjective, ScoreObjective
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.errors import ConfigError
from scoredyn.figure_file import save_figure
from scoredyn.graph import structure_mean
from scoredyn.model.checkpoint import load_torch, model_record, save_torch
from scoredyn.model.compiled import Compiled
from scoredyn.model.network import NetworkConfig, ScoreNetwork, create_model
from scoredyn.training_metrics import TrainingMetrics, TrainingPoint

log = logging.getLogger(__name__)

Objective = ScoreObjective | DenoiserObjective

#: settings that a checkpoint may be resumed with when they change: they do not change the trained model
RESUMABLE = ("steps", "compile")


@dataclass(frozen=True)
class TrainConfig:
    """Training settings (the config's ``train`` section)."""

    steps: int
    batch_size: int = 256
    lr: float = 1e-3
    ema_decay: float = 0.999
    width: int = 200
    n_blocks: int = 5
    cutoff: float = 4.0
    checkpoint_every: int = 500
    validate_every: int = 250
    val_pairs: int = 2048
    seed: int = 0
    device: str = "auto"
    gaussian_skip: bool = True  # see :class:`~scoredyn.model.network.ScoreNetwork`
    tau_sampling: str = "uniform"  # or "log_snr": uniform in lambda (see VPSchedule.sample_tau)
    input_noise: float = 0.0  # Angstrom; see :func:`~scoredyn.diffusion.loss.dsm_loss`
    architecture: str = "equivariant"  # or "paper": Cartesian edge inputs and a node MLP decoder
    position_scale: float | None = None  # edge geometry scale; None = the schedule's b (1.0: before version 2)
    compile: bool = False  # run the network's forward and backward through torch.compile (same math, faster)
    anchor: str = "none"  # or the ideal-geometry anchor moves start from: angles, torsions (scoredyn.model.anchor)
    torsion_features: bool = False  # the equivariant network reads the anchor's signed rotatable torsions
    torsion_head: bool = False  # and turns each torsion's bond side by one scalar of its edge (needs torsion_features)
    slow_targets: bool = False  # moves end at the next frame's slow part (PairData's slow_targets; needs an anchor)
    loss_weighting: str = "noise"  # or "residual": the skip's residual weighed evenly over tau (see dsm_loss)
    input_scaling: bool = False  # the network reads the skip's estimate of b z (ScoreNetwork.scaled_input)
    mean_head: bool = False  # the skip's Gaussian has a learned mean move of the torsions (needs torsion_head)
    whole_turn: bool = False  # the torsion head also turns the whole structure about each bond (needs torsion_head)
    lr_schedule: str = "constant"  # or "cosine": the rate falls from lr to 0 over the steps (learning_rate_at)


LR_SCHEDULES = ("constant", "cosine")


def learning_rate_at(cfg: TrainConfig, step: int) -> float:
    """The rate of optimizer step ``step`` (0 for the first) under ``cfg.lr_schedule``.

    ``cosine``: lr (1 + cos(pi step / steps)) / 2, from lr at the first step to 0 at the last
    (a function of the step alone, so that a resumed run goes on where it stopped).
    """
    if cfg.lr_schedule == "cosine":
        return cfg.lr * 0.5 * (1.0 + math.cos(math.pi * min(step, cfg.steps) / max(cfg.steps, 1)))
    return cfg.lr


class EMA:
    """theta' <- beta_t theta' + (1 - beta_t) theta, on every floating-point tensor of the state.

    beta_t = min(beta, (1 + t) / (10 + t)) warms up over the first steps, so that the
    average forgets the random initial weights: with a constant beta = 0.999 they would
    still weigh e^-2 = 14% after 2000 steps, which measurably blurs short runs' samples.
    """

    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        self.decay = decay
        self.shadow = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def decay_at(self, step: int) -> float:
        return min(self.decay, (1.0 + step) / (10.0 + step))

    @torch.no_grad()
    def update(self, model: torch.nn.Module, step: int) -> None:
        """Fold in the weights after optimizer step ``step`` (1 for the first)."""
        beta = self.decay_at(step)
        for k, v in model.state_dict().items():
            if v.dtype.is_floating_point:
                self.shadow[k].mul_(beta).add_(v.detach(), alpha=1.0 - beta)
            else:
                self.shadow[k].copy_(v)


@torch.no_grad()
def validate(net: torch.nn.Module, data: PairData, objective: Objective, n_pairs: int, device: torch.device,
             batch_size: int, seed: int = 12345) -> dict[str, float]:  # fmt: skip
    """Mean loss over the first ``n_pairs`` validation pairs, and per noise-level bucket of the objective.

    The rotations, noise levels and noises are the same at every call (a fixed seed), so
    the numbers are comparable between steps.
    """
    out: dict[str, float] = {}
    # the objective's fixed validation draw (uniform in tau for SD), then the draw it trains with
    for training, suffix in ((False, ""), (True, "_train_draw")):
        if training and not objective.validates_train_draw:
            break
        gen = torch.Generator(device=device).manual_seed(seed)
        losses, levels = [], []
        seen = 0
        for b in data.batches(objective.frames(batch_size)):
            if seen >= n_pairs:
                break
            loss, level = objective.loss(net, b.to(device), gen, training=training, input_noise=False)
            losses.append(loss.cpu())
            levels.append(level.cpu())
            seen += b.n_graphs
        if not losses:
            return {}
        loss_t, level_t = torch.cat(losses), torch.cat(levels)
        out[f"val_loss{suffix}"] = float(loss_t.mean())
        for lo, hi in itertools.pairwise(objective.buckets):
            sel = (level_t >= lo) & (level_t < hi)
            out[f"val_loss{suffix}_tau_{lo:g}_{hi:g}"] = float(loss_t[sel].mean()) if sel.any() else float("nan")
    return out


class CompiledDenoise:
    """``net(z, tau, r, types, batch)`` with the conditioning (graph building, with its data-dependent
    sizes) run plainly and the denoising part, where the time goes, through ``torch.compile``."""

    def __init__(self, net: ScoreNetwork, enabled: bool) -> None:
        self.net, self.denoise = net, Compiled(net.denoise, enabled)

    def __call__(self, z: torch.Tensor, tau: torch.Tensor, r: torch.Tensor, types: torch.Tensor,
                 batch: torch.Tensor, torsions: torch.Tensor | None = None,
                 sides: torch.Tensor | None = None) -> torch.Tensor:  # fmt: skip
        return self.denoise(z, tau, self.net.condition(r, types, batch, torsions=torsions, sides=sides))


def displacement_variances(data: PairData, scale: float, seed: int, pairs: int = 8192) -> tuple[float, float]:
    """Per-coordinate second moments of the scaled displacement ``scale * z``: its centroid-free
    part (averaged over atoms) and its centroid, from ``pairs`` random training pairs."""
    b = data.sample(min(pairs, max(len(data), 1)), torch.Generator().manual_seed(seed + 7)).to("cpu")
    z = scale * b.z.double()
    centroid = structure_mean(z, b.batch, b.n_graphs)  # [G, 3]
    internal = z - centroid[b.batch]
    return float(internal.pow(2).mean()), float(centroid.pow(2).mean())


def train(
    cfg: TrainConfig,
    train_data: PairData,
    val_data: PairData | None,
    workdir: Path | str,
    model_out: Path | str,
    metrics_out: Path | str,
    schedule: VPSchedule | None = None,
    atom_types: str = "types",
    progress: bool = True,
    objective: Objective | None = None,
) -> pd.DataFrame:
    """Train (or resume) and write ``model.pt`` and the metrics CSV (a
    :class:`~scoredyn.training_metrics.TrainingMetrics`); returns its table.

    ``objective`` defaults to SD's score objective with ``cfg``'s tau sampling and input noise.
    """
    schedule = schedule or VPSchedule()
    if cfg.loss_weighting not in ("noise", "residual"):
        raise ValueError(f"unknown loss weighting {cfg.loss_weighting!r}; use noise or residual")
    on_skip = cfg.loss_weighting == "residual" or cfg.input_scaling or cfg.mean_head
    if objective is None and on_skip and not cfg.gaussian_skip:
        raise ValueError("train.loss_weighting: residual, train.input_scaling and train.mean_head use the Gaussian "
                         "skip: set diffusion.parametrisation: gaussian_skip, or turn them off")  # fmt: skip
    device = pick_device(cfg.device)
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ckpt_path = workdir / "checkpoint.pt"
    torch.manual_seed(cfg.seed)
    use_skip = cfg.gaussian_skip and (objective is None or objective.gaussian_skip)
    skip = displacement_variances(train_data, schedule.data_scale, cfg.seed) if use_skip else (0.0, 0.0)
    if objective is None:
        residual_var = skip[0] if cfg.loss_weighting == "residual" else 0.0
        objective = ScoreObjective(schedule, cfg.tau_sampling == "log_snr", cfg.input_noise, residual_var)
    if cfg.lr_schedule not in LR_SCHEDULES:
        raise ValueError(f"unknown learning-rate schedule {cfg.lr_schedule!r}; use one of {', '.join(LR_SCHEDULES)}")
    if cfg.architecture not in ("equivariant", "paper"):
        raise ValueError(f"unknown architecture {cfg.architecture!r}; use equivariant or paper")
    if cfg.torsion_features and (cfg.architecture != "equivariant" or train_data.anchor == "none"):
        raise ValueError("train.torsion_features needs train.architecture: equivariant and a train.anchor "
                         "(the anchor lists the rotatable torsions); set it to false")  # fmt: skip
    if cfg.torsion_head and not cfg.torsion_features:
        raise ValueError("train.torsion_head reads the torsion features: set train.torsion_features: true too")
    if (cfg.mean_head or cfg.whole_turn) and not cfg.torsion_head:
        raise ValueError("train.mean_head and train.whole_turn work on the torsion head's turns: set "
                         "train.torsion_head: true too")  # fmt: skip
    scale = schedule.data_scale if cfg.position_scale is None else cfg.position_scale
    net_cfg = NetworkConfig(train_data.n_types, cfg.width, cfg.n_blocks, cfg.cutoff, skip_var=skip[0],
                            skip_var_centroid=skip[1], position_scale=scale,
                            equivariant=cfg.architecture == "equivariant",
                            torsion_features=cfg.torsion_features, torsion_head=cfg.torsion_head,
                            input_scaling=cfg.input_scaling and use_skip,
                            mean_head=cfg.mean_head and use_skip, whole_turn=cfg.whole_turn)  # fmt: skip
    net = create_model(net_cfg, schedule, device=device)
    opt = torch.optim.RAdam(net.parameters(), lr=cfg.lr)
    ema = EMA(net, cfg.ema_decay)
    data_gen = torch.Generator().manual_seed(cfg.seed)
    noise_gen = torch.Generator(device=device).manual_seed(cfg.seed + 1)
    step, rows = 0, []
    data_id = train_data.fingerprint
    if ckpt_path.is_file():
        state = load_torch(ckpt_path)
        same = {k: v for k, v in asdict(cfg).items() if k not in RESUMABLE}
        defaults = {f.name: f.default for f in fields(TrainConfig) if f.default is not MISSING}
        # a setting added after the checkpoint was written counts as having had its default
        saved = {k: v for k, v in {**defaults, **state.get("config", {})}.items() if k not in RESUMABLE}
        # checkpoints written before objectives were recorded are SD's
        saved_objective = state.get("objective", objective.record() if objective.kind == "sd" else None)
        if (saved != same or state.get("data") != data_id or saved_objective != objective.record()
                or state.get("network") != net_cfg.to_dict()):  # fmt: skip
            log.warning("%s was written with other settings or data; starting afresh", ckpt_path)
        else:
            net.load_state_dict(state["model"])
            opt.load_state_dict(state["optimizer"])
            ema.shadow = {k: v.to(device) for k, v in state["ema"].items()}
            data_gen.set_state(state["data_rng"])
            noise_gen.set_state(state["noise_rng"].to(noise_gen.get_state().device))
            step, rows = int(state["step"]), list(state["metrics"])
            log.info("resumed from %s at step %d", ckpt_path, step)
    n_params = sum(p.numel() for p in net.parameters())
    log.info("training %d parameters on %s: %d steps of %d pairs (%d training pairs)",
             n_params, device, cfg.steps, cfg.batch_size, len(train_data))  # fmt: skip
    model = CompiledDenoise(net, cfg.compile)
    bar = tqdm(total=cfg.steps, initial=step, disable=not progress, unit="step", dynamic_ncols=True)
    running, t0, samples = [], time.perf_counter(), 0
    while step < cfg.steps:
        batch = train_data.sample(objective.frames(cfg.batch_size), data_gen).to(device)
        loss = objective.loss(model, batch, noise_gen)[0].mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        for group in opt.param_groups:
            group["lr"] = learning_rate_at(cfg, step)
        opt.step()
        step += 1
        ema.update(net, step)
        samples += cfg.batch_size
        running.append(loss.item())
        bar.update(1)
        if step % cfg.validate_every == 0 or step == cfg.steps:
            elapsed = time.perf_counter() - t0
            row: dict[str, float] = {"step": step, "train_loss": float(np.mean(running)),
                                     "samples_per_s": samples / elapsed if elapsed > 0 else float("nan")}  # fmt: skip
            if val_data is not None and len(val_data):
                ema_net = create_model(net.cfg, schedule, ema.shadow, device)
                row.update(validate(ema_net, val_data, objective, cfg.val_pairs, device, cfg.batch_size))
            rows.append(row)
            bar.set_postfix(loss=f"{row['train_loss']:.3f}", val=f"{row.get('val_loss', float('nan')):.3f}")
            log.info("step %d: %s", step, ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "step"))
            running, t0, samples = [], time.perf_counter(), 0
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            save_torch(
                {"config": asdict(cfg), "data": data_id, "objective": objective.record(), "network": net_cfg.to_dict(),
                 "vocabulary": train_data.vocabulary, "step": step, "model": net.state_dict(),
                 "optimizer": opt.state_dict(), "ema": ema.shadow,
                 "data_rng": data_gen.get_state(), "noise_rng": noise_gen.get_state(), "metrics": rows},
                ckpt_path,
            )  # fmt: skip
    bar.close()
    save_torch(
        model_record(net, ema.shadow, train_data.vocabulary, atom_types, train_data.lag_ps, schedule,
                     objective.record(), train_data.anchor_record()),
        model_out,
    )  # fmt: skip
    # the device of the session that finished training: what estimate rates
    metrics = TrainingMetrics(tuple(TrainingPoint.from_dict(r) for r in rows), torch.device(device).type)
    metrics.write(metrics_out)
    return metrics.frame()


#: fields of :class:`TrainConfig` named otherwise in the ``train`` section
RENAMED = {"cutoff": "cutoff_A", "input_noise": "input_noise_A"}


def train_config(cfg_all: Config, steps: int) -> TrainConfig:
    """The training settings of the config's ``train`` and ``diffusion`` sections, for ``steps`` steps.

    Every field of :class:`TrainConfig` that the ``train`` section has (by name, or as
    :data:`RENAMED` names it) comes from the section; ``gaussian_skip`` from
    ``diffusion.parametrisation``; the rest keep their defaults.
    """
    section = cfg_all.training
    keys = {f.name: getattr(section, RENAMED.get(f.name, f.name)) for f in fields(TrainConfig)
            if hasattr(section, RENAMED.get(f.name, f.name))}  # fmt: skip
    keys |= {"steps": steps, "gaussian_skip": cfg_all.diffusion.parametrisation == "gaussian_skip"}
    return TrainConfig(**keys)


def train_stage(cfg_all: Config, dataset_h5: Path, workdir: Path, outputs: dict[str, Path], threads: int = 1,
                method: str = "sd", size: float | None = None) -> pd.DataFrame:  # fmt: skip
    """The train rules: train SD's score model (``method="sd"``) or the DFF's denoiser (``"dff"``)
    on ``dataset_h5`` (or on the nested subset ``size`` of its training pairs, as
    ``evaluation.training_sizes`` names it); write ``model``, ``metrics`` and the ``figure``."""
    import h5py
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scoredyn.plots.training import loss_curve

    torch.set_num_threads(max(1, threads))
    dff = cfg_all.dff
    steps = dff.steps if method == "dff" and dff.steps is not None else cfg_all.training.steps
    cfg = train_config(cfg_all, steps)
    objective = None if method == "sd" else DenoiserObjective(dff.sigma_A, dff.duplicates)
    with h5py.File(dataset_h5, "r") as f:
        atom_types = str(f.attrs.get("atom_types", "types"))
    device = pick_device(cfg.device)
    anchor = cfg.anchor if method == "sd" else "none"  # the DFF learns structures, not moves
    if method == "dff":
        cfg = replace(cfg, torsion_features=False, torsion_head=False, slow_targets=False, mean_head=False,
                      whole_turn=False)  # no anchor  # fmt: skip
    train_data = PairData(dataset_h5, "train", anchor, cfg.slow_targets and method == "sd").to(device)
    val_data = PairData(dataset_h5, "val", anchor, cfg.slow_targets and method == "sd").to(device)
    if size is not None:
        n_all = len(train_data)
        try:
            train_data = train_data.subset(size)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
        log.info("training on %d of the %d training pairs (evaluation.training_sizes: %g)", len(train_data), n_all,
                 size)  # fmt: skip
    start = time.perf_counter()
    df = train(cfg, train_data, val_data, workdir, outputs["model"], outputs["metrics"],
               VPSchedule(**cfg_all.diffusion.schedule_keys()), atom_types, objective=objective)  # fmt: skip
    log.info("training took %.1f s on %s", time.perf_counter() - start, pick_device(cfg.device))
    fig, ax = plt.subplots(figsize=(5.0, 3.6), dpi=150)
    loss_curve(df, ax)
    fig.tight_layout()
    save_figure(fig, outputs["figure"])
    plt.close(fig)
    return df
