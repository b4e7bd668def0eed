"""Figure layouts: MD, SD and the DFF baseline side by side on the same axes and colour scales.

Each function returns a matplotlib Figure built from the pure plotting functions in
:mod:`scoredyn.plots`; saving is the caller's job.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import NullFormatter

from scoredyn.analysis.free_energy import free_energy
from scoredyn.analysis.kde import kde_1d, kde_2d, scott_bandwidth
from scoredyn.analysis.observables import constrained_bond_classes
from scoredyn.evaluation.metrics import REFERENCE, Outside, geometry_range, outside
from scoredyn.evaluation.observe import Observed
from scoredyn.plots.dihedrals import (
    core_boxes,
    core_spans,
    free_energy_contours,
    label_states,
    profile,
    ramachandran_scatter,
)
from scoredyn.plots.kinetics import fpt_histogram
from scoredyn.plots.speed import bars, compact
from scoredyn.plots.style import greek, method_color

#: Font sizes that stay readable when a figure is printed at column width (use with plt.rc_context).
STYLE = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7}

#: How far past MD's range a bond-length or angle panel may widen to show another method, in units
#: of max(MD's width, 10 % of MD's median): a few 14 A bonds must not squash MD's peak into a pixel.
GEOMETRY_REACH = 2.0


def _levels(f_max: float, step: float = 2.0) -> np.ndarray:
    return np.arange(0.0, f_max + 0.5 * step, step)


def _grid(n: int, ncols: int, size: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                             layout="constrained")  # fmt: skip
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


#: a state's core set on two dihedrals: (intervals of the first, intervals of the second), degrees
CoreBoxes = dict[str, tuple[list[tuple[float, float]], list[tuple[float, float]]]]


def ramachandran_figure(observed: dict[str, Observed], centres: dict[str, tuple[float, float]],
                        temperature_K: float, bandwidth_deg: float, f_max: float,
                        cores: CoreBoxes | None = None) -> Figure:  # fmt: skip
    """Top row: scatter of the first two dihedrals per method; bottom row: KDE free-energy
    contours in kJ/mol on one colour scale (paper Fig. 2c-f), with each state's core set
    (``cores``, which the populations and passages count) outlined on both."""
    methods = list(observed)
    names = tuple(list(observed[REFERENCE].dihedrals)[:2])
    fig, axes = plt.subplots(2, len(methods), figsize=(3.0 * len(methods) + 0.8, 6.0), squeeze=False,
                             layout="constrained")  # fmt: skip
    levels = _levels(f_max)
    mappable = None
    for k, method in enumerate(methods):
        x, y = (observed[method].dihedrals[n] for n in names)
        ramachandran_scatter(x, y, axes[0, k], method_color(method), names)
        # the length as the suptitle and the passage panels give it: frames x their interval
        axes[0, k].set_title(f"{method}: {len(x)} frames, {duration(len(x) * observed[method].dt_ps)}")
        grid, dens = kde_2d(x, y, bandwidth_deg)
        mappable = free_energy_contours(grid, free_energy(dens, temperature_K), axes[1, k], levels, names)
        label_states(axes[1, k], centres)
        for ax in axes[:, k]:
            core_boxes(ax, cores or {})
        axes[1, k].set_title(f"{method}: F = -kT ln P (KDE, h = {bandwidth_deg:g}°)")
    fig.colorbar(mappable, ax=axes[1, :].tolist(), label="F (kJ/mol)", shrink=0.9)
    return fig


def dihedral_profiles_figure(observed: dict[str, Observed], temperature_K: float, bandwidth_deg: float,
                             f_max: float, cores: dict[str, dict[str, list[tuple[float, float]]]] | None = None
                             ) -> Figure:  # fmt: skip
    """Free-energy profile of each named dihedral, one panel each, methods overlaid, with the core
    intervals of each state (``cores``: state -> dihedral -> intervals) shaded."""
    names = list(observed[REFERENCE].dihedrals)
    fig, axes = _grid(len(names), 3, (3.2, 2.6))
    for ax, name in zip(axes, names, strict=False):
        core_spans(ax, {s: r[name] for s, r in (cores or {}).items() if name in r})
        for method, obs in observed.items():
            centres, dens = kde_1d(obs.dihedrals[name], bandwidth_deg, (-180.0, 180.0), periodic=True)
            profile(centres, free_energy(dens, temperature_K), ax, method_color(method), method,
                    f"{greek(name)} (°)")  # fmt: skip
        ax.set_xlim(-180, 180)
        ax.set_xticks(np.arange(-180, 181, 90))
        ax.set_ylim(0, f_max)
        ax.legend(frameon=False)
    return fig


@dataclass(frozen=True)
class GeometryPanel:
    """The x range [lo, hi] of one bond-length or angle panel, and each method's samples beyond it."""

    lo: float
    hi: float
    outside: dict[str, Outside]


def geometry_panel(values: dict[str, np.ndarray], reach: float = GEOMETRY_REACH) -> GeometryPanel:
    """The x range of the panel of one class from every method's samples [S] of it.

    MD's range (:func:`~scoredyn.evaluation.metrics.geometry_range`) widened to the 0.5 and
    99.5 % quantiles of every other method where they lie beyond it, but by at most ``reach``
    x max(MD's width, 10 % of MD's median) on either side, so that a few broken bonds neither
    widen it nor squash MD's peak; what still lies beyond is returned for each method, to be
    written in the panel.
    """
    ref = np.ravel(values[REFERENCE])
    md_lo, md_hi = geometry_range(ref)
    step = reach * max(md_hi - md_lo, 0.1 * abs(float(np.median(ref[np.isfinite(ref)]))))
    lo, hi = md_lo, md_hi
    for v in values.values():
        finite = np.ravel(v)[np.isfinite(np.ravel(v))]
        if len(finite):
            a, b = np.quantile(finite, [0.005, 0.995])
            lo, hi = min(lo, float(a)), max(hi, float(b))
    lo, hi = max(lo, md_lo - step), min(hi, md_hi + step)
    return GeometryPanel(lo, hi, {m: outside(v, (lo, hi)) for m, v in values.items()})


def outside_note(method: str, out: Outside, lo: float, hi: float, unit: str) -> str:
    """What a panel says of the samples beyond its axis [lo, hi], e.g. "SD: 3.2% off axis (max 14.1 A)"."""
    pct = 100.0 * out.fraction
    below, above = out.low < lo, out.high > hi
    if below and above:
        reach = f"{out.low:.3g}-{out.high:.3g} {unit}"
    elif below or above:
        reach = f"min {out.low:.3g} {unit}" if below else f"max {out.high:.3g} {unit}"
    else:
        reach = "non-finite"
    return f"{method}: {pct:.2g}% off axis ({reach})" if pct < 10 else f"{method}: {pct:.0f}% off axis ({reach})"


def geometry_figure(observed: dict[str, Observed], kind: str, temperature_K: float, f_max: float,
                    constraints: str = "none") -> Figure:  # fmt: skip
    """Free-energy profiles of every bond-length (``kind="bonds"``) or bond-angle class
    (``"angles"``), KDE with the reference's Scott bandwidth, methods overlaid (paper Fig. 6e-h).

    Each panel spans :func:`geometry_panel` and writes the share of each method's samples
    beyond it; bond classes that MD's ``constraints`` (``md.constraints``) fix say so in their title.
    """
    ref = getattr(observed[REFERENCE], kind)
    unit = "Å" if kind == "bonds" else "°"
    fixed = constrained_bond_classes(ref, constraints) if kind == "bonds" else []
    fig, axes = _grid(len(ref), 4, (2.6, 2.2))
    for ax, cls in zip(axes, ref, strict=False):
        values = {method: getattr(obs, kind)[cls] for method, obs in observed.items()}
        panel = geometry_panel(values)
        h = scott_bandwidth(ref[cls])
        for method, v in values.items():
            centres, dens = kde_1d(v, h, (panel.lo - 3 * h, panel.hi + 3 * h))
            profile(centres, free_energy(dens, temperature_K), ax, method_color(method), method, f"{cls} ({unit})")
        notes = [(m, outside_note(m, o, panel.lo, panel.hi, unit)) for m, o in panel.outside.items() if o.fraction > 0]
        for k, (method, text) in enumerate(notes):
            ax.text(0.03, 0.97 - 0.08 * k, text, transform=ax.transAxes, ha="left", va="top", fontsize=6,
                    color=method_color(method), bbox={"fc": "w", "ec": "none", "alpha": 0.7, "pad": 0.5})  # fmt: skip
        ax.set_xlim(panel.lo, panel.hi)
        ax.set_ylim(0, f_max)
        n = len(ref[cls]) // max(observed[REFERENCE].n_frames, 1)
        title = f"{n} {kind[:-1] if n == 1 else kind} {cls}"
        ax.set_title(title + (f"\nconstrained in MD ({constraints})" if cls in fixed else ""))
    # one legend for the figure, outside the panels: in a panel it would cover a note or a wall
    fig.legend(*axes[0].get_legend_handles_labels(), loc="outside upper right", ncols=len(observed), frameon=False)
    return fig


def duration(ps: float) -> str:
    """A trajectory's length as a reader takes it in: 40 ps, 2.5 ns."""
    return f"{ps / 1000.0:.3g} ns" if ps >= 1000.0 else f"{ps:.3g} ps"


def fitted_title(title: str, width_in: float, chars_per_inch: float = 13.0) -> str:
    """``title`` broken at spaces into lines that a 9 pt suptitle fits into a figure ``width_in`` wide."""
    return textwrap.fill(title, width=max(24, int(width_in * chars_per_inch)), break_on_hyphens=False)


def fpt_figure(passages: dict[str, dict[tuple[str, str], np.ndarray]], means: dict[str, dict[tuple[str, str], tuple]],
               spans_ps: dict[str, float]) -> Figure:  # fmt: skip
    """First-passage time histograms of each ordered pair of states, methods overlaid (Fig. 2g-h);
    ``spans_ps`` (each method's trajectory length) is what a panel without any passage reports."""
    pairs = list(passages[REFERENCE])
    fig, axes = _grid(max(len(pairs), 1), 2, (3.6, 2.8))
    spans = {m: duration(ps) for m, ps in spans_ps.items()}
    for ax, (a, b) in zip(axes, pairs, strict=False):
        fpt_histogram({m: p[a, b] for m, p in passages.items()}, {m: means[m][a, b] for m in passages}, ax,
                      f"{greek(a)} → {greek(b)}", spans=spans)  # fmt: skip
    if not pairs:
        axes[0].text(0.5, 0.5, "the molecule declares fewer than two states", ha="center", transform=axes[0].transAxes)
    return fig


def conditional_figure(dihedrals: dict[str, dict[str, np.ndarray]], times_ps: list[float], state: str,
                       bandwidth_deg: float, temperature_K: float, f_max: float) -> Figure:  # fmt: skip
    """P(X_t | X_0 in ``state``) at each t: for two dihedrals a row per method of scatter and
    KDE contours (paper Fig. 3); for one dihedral a panel per t with the methods' densities."""
    methods = list(dihedrals)
    names = tuple(list(dihedrals[REFERENCE])[:2])
    if len(names) == 1:
        fig, axes = _grid(len(times_ps), 4, (2.6, 2.2))
        for k, (ax, t) in enumerate(zip(axes, times_ps, strict=False)):
            for m in methods:
                centres, dens = kde_1d(dihedrals[m][names[0]][:, k], bandwidth_deg, (-180.0, 180.0), periodic=True)
                ax.plot(centres, dens, color=method_color(m), label=f"{m} ({dihedrals[m][names[0]].shape[0]})")
            ax.set_xlim(-180, 180)
            ax.set_xlabel(f"{greek(names[0])} (°)")
            ax.set_title(f"from {greek(state)}, t = {t:g} ps")
        axes[0].set_ylabel("density (1/°)")
        axes[0].legend(frameon=False)
        return fig
    fig, axes = plt.subplots(len(methods), len(times_ps), figsize=(2.5 * len(times_ps) + 0.8, 2.6 * len(methods)),
                             squeeze=False, layout="constrained")  # fmt: skip
    levels = _levels(f_max)
    mappable = None
    for r, m in enumerate(methods):
        x_all, y_all = (dihedrals[m][n] for n in names)
        for k, t in enumerate(times_ps):
            ax = axes[r, k]
            x, y = x_all[:, k], y_all[:, k]
            grid, dens = kde_2d(x, y, bandwidth_deg)
            mappable = free_energy_contours(grid, free_energy(dens, temperature_K), ax, levels, names)
            ramachandran_scatter(x, y, ax, method_color(m), names, size=6.0, edge="w")
            ax.set_title(f"{m}, t = {t:g} ps ({len(x)} runs)")
    fig.colorbar(mappable, ax=axes.ravel().tolist(), label="F (kJ/mol)", shrink=0.8)
    fig.suptitle(f"P({greek(names[0])}, {greek(names[1])} at t | start in {greek(state)})")
    return fig


def speed_figure(table: pd.DataFrame) -> Figure:
    """Top: simulated ns per day of each run's own simulation time (Fig. 5a), the whole job's
    (start-up included) in brackets. Bottom: rejected and check-violating moves of each learned
    simulator per 100k production steps (Fig. 5b). ``table`` has columns label, method, ns_per_day,
    job_ns_per_day, and rejections_per_100k and violations_per_100k (NaN where they do not apply)."""
    stable = table.dropna(subset=["rejections_per_100k"])
    n_top, n_bottom = len(table), 2 * len(stable)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8.0, 0.32 * (n_top + n_bottom) + 2.2), layout="constrained",
                                      height_ratios=[max(n_top, 1), max(n_bottom, 1)])  # fmt: skip
    jobs = [f"(job {compact(v)})" if np.isfinite(v) else "" for v in table.get("job_ns_per_day", [np.nan] * n_top)]
    bars(table["label"], table["ns_per_day"], [method_color(m) for m in table["method"]], top,
         "ns simulated per day of simulation time (log scale)\n"
         "in brackets: of the whole job, start-up included", notes=jobs)  # fmt: skip
    labels = [f"{lab}: {kind}" for lab in stable["label"] for kind in ("rejected", "violating, kept")]
    values = [v for r in stable.itertuples() for v in (r.rejections_per_100k, r.violations_per_100k)]
    colors = [c for m in stable["method"] for c in (method_color(m), "0.6")]
    bars(labels, values, colors, bottom, "moves per 100k steps", log=False, fmt="{:.0f}")
    methods = list(dict.fromkeys(table["method"]))
    top.legend(handles=[Patch(color=method_color(m), label=m) for m in methods], frameon=False,
               loc="best", fontsize=7)  # fmt: skip
    if len(stable):
        learned = dict.fromkeys(stable["method"])
        kinds = [Patch(color=method_color(m), label=f"{m}: rejected and redrawn") for m in learned]
        bottom.legend(handles=[*kinds, Patch(color="0.6", label="violating a check, kept")], frameon=False,
                      loc="best", fontsize=7)  # fmt: skip
    return fig


def _dihedral_observable(rows: pd.DataFrame, other: tuple[str, ...]) -> str:
    """The dihedral observable a comparison plots: the 2D one when there are two dihedrals."""
    dihedral = [o for o in rows.observable.unique() if o not in other]
    return next((o for o in dihedral if "/" in o), dihedral[0])


#: Below this many SD steps per sweep rollout, the sweep's speeds carry a caveat: the first step's
#: warm-up and timer noise can outweigh the solver's cost (bench/speed.py times long runs).
SWEEP_STEPS_FOR_SPEED = 1000


def sweep_figure(rows: pd.DataFrame) -> Figure:
    """Left: JSD against MD of the dihedral distribution (2D when there are two) against network
    evaluations per SD step, one point per solver setting, MD's split-half floor dashed (paper
    Fig. 4b). Right: simulated ns/day against evaluations per step, with a caveat when the
    rollouts are shorter than :data:`SWEEP_STEPS_FOR_SPEED` steps."""
    obs = _dihedral_observable(rows, ("solver", "stability"))
    v = rows.set_index(["observable", "method", "statistic"]).value
    labels = [m for m in rows[rows.statistic == "evaluations_per_step"].method]
    nfe = np.array([v["solver", m, "evaluations_per_step"] for m in labels])
    jsd = np.array([v[obs, f"{m} vs {REFERENCE}", "jsd_nats"] for m in labels])
    speed = np.array([v["solver", m, "ns_per_day"] for m in labels])
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 3.0), layout="constrained")
    for ax, y, ylabel in ((left, jsd, f"JSD of {obs} against MD (nats)"), (right, speed, "SD ns/day")):
        ax.scatter(nfe, y, color=method_color("SD"), zorder=3)
        near: dict[tuple[float, float], list[str]] = {}  # points that would overlap share one label
        for x_, y_, m in zip(nfe, y, labels, strict=True):
            near.setdefault((x_, round(y_ / (0.03 * np.nanmax(y) + 1e-12))), []).append(m[3:-1])
        for k, ((x_, _), names) in enumerate(near.items()):
            y_ = y[labels.index(f"SD[{names[0]}]")]
            ax.annotate(", ".join(names), (x_, y_), fontsize=7, xytext=(4, 9 * (k % 2) - 3), textcoords="offset points")
        ax.set_xscale("log")
        # the measured count includes redrawn moves (60.06 for 60): label the setting's whole number
        ax.set_xticks(sorted(set(nfe.tolist())), [f"{x:.0f}" for x in sorted(set(nfe.tolist()))])
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("network evaluations per SD step (redraws included)")
        ax.set_ylabel(ylabel)
    floor = v.get((obs, f"{REFERENCE} split-half", "jsd_nats"), np.nan)
    left.axhline(floor, color=method_color(REFERENCE), ls="--", lw=1, label="MD split-half floor")
    left.set_ylim(0, max(np.nanmax(jsd), floor) * 1.2 + 1e-3)
    left.legend(frameon=False)
    right.set_ylim(0, np.nanmax(speed) * 1.15)
    steps = [v.get(("solver", m, "steps"), np.nan) for m in labels]
    if np.nanmin(steps) < SWEEP_STEPS_FOR_SPEED:
        right.set_title(f"runs of {np.nanmin(steps):.0f} SD steps: start-up dominates,\n"
                        "speeds are not the solvers' (see bench/speed.py)", fontsize=7, color="0.3")  # fmt: skip
    return fig


def training_size_figure(rows: pd.DataFrame, title: str) -> Figure:
    """The dihedral JSD against MD (2D when there are two dihedrals) of each training size's SD
    trajectory against the pairs it trained on, MD's split-half floor dashed (paper Fig. 4a).
    Each SD trajectory's own split-half JSD is drawn hollow beside it: where it is as large as
    the gaps between sizes, those gaps are the rollouts' sampling noise, not the data's effect."""
    obs = _dihedral_observable(rows, ("training size",))
    v = rows.set_index(["observable", "method", "statistic"]).value
    labels = list(rows[rows.statistic == "train_pairs"].method)
    n = np.array([v["training size", m, "train_pairs"] for m in labels])
    jsd = np.array([v[obs, f"{m} vs {REFERENCE}", "jsd_nats"] for m in labels])
    own = np.array([v.get((obs, f"{m} split-half", "jsd_nats"), np.nan) for m in labels])
    order = np.argsort(n)
    fig, ax = plt.subplots(figsize=(4.2, 3.0), layout="constrained")
    ax.plot(n[order], jsd[order], "o-", color=method_color("SD"), label="SD against MD")
    if np.isfinite(own).any():
        ax.plot(n, own, "o", mfc="none", color=method_color("SD"), label="SD split-half (its own noise)")
    for x_, y_, m in zip(n, jsd, labels, strict=True):
        ax.annotate(m[3:-1], (x_, y_), fontsize=7, xytext=(4, 4), textcoords="offset points")
    floor = v.get((obs, f"{REFERENCE} split-half", "jsd_nats"), np.nan)
    ax.axhline(floor, color=method_color(REFERENCE), ls="--", lw=1, label="MD split-half floor")
    ax.set_xscale("log")
    ax.set_xticks(sorted(set(n.tolist())), [f"{x:,.0f}" for x in sorted(set(n.tolist()))])
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("training pairs")
    ax.set_ylabel(f"JSD of {obs} against MD (nats)")
    top = np.nanmax([*jsd, *own, floor if np.isfinite(floor) else 0.0])
    ax.set_ylim(0, top * 1.35 + 1e-3)
    ax.set_title(title)
    ax.legend(frameon=False, fontsize=7, loc="upper right")
    return fig
