r"""Metric rows comparing each method with the MD reference, beside their noise floors.

Every number is one tidy row ``(molecule, observable, method, statistic, value)``.
``method`` is a method's own name (``MD``, ``SD``) for its own statistics, ``SD vs MD``
for a distance between the two, ``MD split-half`` for the distance between the two
halves of a method's own trajectory (the noise floor of that distance), and
``SD/MD`` for a ratio. A state population's ``split-half`` row is the absolute
difference of the two halves' populations (``abs_difference``): with few transitions in
a short trajectory, that is the scale on which two populations can be told apart.

Equilibrium distributions are compared with every trajectory read at the coarsest
method's frame interval (an SD step is 10 MD frames in the demo), as the first passages
are. A histogram's JSD from another rises with the noise of both, about as 1/n1 + 1/n2
for n independent samples, so a distance is only comparable with a floor drawn from
samples of the same sizes and time spans. Two numbers therefore stand beside MD's
split-half floor:

- ``SD vs MD`` ``jsd_nats``: the whole trajectories, the best estimate of the distance;
  with both halves of MD half as long, an exact method sits near half the floor;
- ``SD vs MD`` ``half_jsd_nats``: the mean JSD of each half of SD against each half of
  MD, the distance at the floor's own sample sizes. A method that samples MD's
  distribution, with MD's correlation times and as long a trajectory, sits at about 1x
  the floor; this is the ratio to read as "times the noise".

Binning (fixed, so that numbers are comparable between runs):

- dihedrals: 36 bins of 10 degrees on [-180, 180), in 1D and in 2D (36 x 36);
- conditional distributions: ``bins`` x ``bins`` on [-180, 180)^2 (18, i.e. 20 degrees,
  by default: an ensemble has far fewer samples than a long trajectory);
- bond lengths and angles: 50 bins spanning the reference's 0.5-99.5 % quantiles widened
  by 25 % on each side (MD's range); values outside, and non-finite ones, are counted in
  the edge bins, so a broken bond still raises the divergence. Each other method also gets
  ``fraction_outside_md_range``, the share of its samples beyond MD's range.

Bond classes that MD holds fixed (``md.constraints``, see
:func:`~scoredyn.analysis.observables.constrained_bond_classes`) get no JSD, W1 or
split-half rows: MD's spread there is the rounding of the saved coordinates (0.001 A), so
those numbers would measure nothing. MD gets ``constrained`` = 1 instead, and each other
method how far it strays from MD's lengths: ``mean_abs_dev_A`` and ``max_abs_dev_A``, the
mean and largest |length - MD's mean length of that same bond|, and
``fraction_outside_md_range``.

JSDs are in nats (0 for identical histograms, ln 2 = 0.693 for disjoint ones).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from scoredyn.analysis.divergence import jsd, wasserstein_1d, wasserstein_circular
from scoredyn.analysis.free_energy import DIHEDRAL_BINS, DIHEDRAL_RANGE, dihedral_histogram_2d, histogram_1d
from scoredyn.analysis.observables import constrained_bond_classes
from scoredyn.analysis.states import bootstrap_mean, first_passage_times, populations
from scoredyn.evaluation.observe import Observed, halves, thinned

COLUMNS = ["molecule", "observable", "method", "statistic", "value"]
REFERENCE = "MD"
GEOMETRY_BINS = 50


def geometry_range(reference: np.ndarray) -> tuple[float, float]:
    """The histogram range of a bond length or angle class: the 0.5-99.5 % quantiles of the
    finite reference samples [S], widened by 25 % on each side."""
    finite = np.ravel(reference)[np.isfinite(np.ravel(reference))]
    lo, hi = np.quantile(finite, [0.005, 0.995])
    pad = 0.25 * max(hi - lo, 1e-6)
    return float(lo - pad), float(hi + pad)


@dataclass(frozen=True)
class Outside:
    """The samples of a class beyond a range.

    Attributes
    ----------
    fraction : share of all samples outside the range (non-finite ones count as outside)
    low, high : smallest and largest finite sample (NaN when there is none)
    """

    fraction: float
    low: float
    high: float


def outside(values: np.ndarray, value_range: tuple[float, float]) -> Outside:
    """How many of ``values`` [S] fall outside ``value_range`` and how far they reach."""
    values = np.ravel(values)
    finite = values[np.isfinite(values)]
    lo, hi = value_range
    n_out = len(values) - int(np.count_nonzero((finite >= lo) & (finite <= hi)))
    low, high = (float(finite.min()), float(finite.max())) if len(finite) else (np.nan, np.nan)
    return Outside(n_out / max(len(values), 1), low, high)


def _dihedral_hist(x: np.ndarray) -> np.ndarray:
    return histogram_1d(np.mod(np.ravel(x) + 180.0, 360.0) - 180.0, DIHEDRAL_BINS, DIHEDRAL_RANGE)[0]


def _clipped_hist(value_range: tuple[float, float]) -> Callable[[np.ndarray], np.ndarray]:
    lo, hi = value_range
    eps = 1e-9 * (hi - lo)
    return lambda x: histogram_1d(np.clip(np.nan_to_num(x, nan=hi), lo + eps, hi - eps), GEOMETRY_BINS,
                                  value_range)[0]  # fmt: skip


class Rows:
    """Collects metric rows of one molecule."""

    def __init__(self, molecule: str):
        self.molecule = molecule
        self.rows: list[dict[str, object]] = []

    def add(self, observable: str, method: str, statistic: str, value: float) -> None:
        self.rows.append(dict(zip(COLUMNS, (self.molecule, observable, method, statistic, float(value)), strict=True)))

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=COLUMNS)


def _distributions(obs: Observed) -> dict[str, tuple[np.ndarray, str]]:
    """observable -> (samples, unit of its W1 distance; "" for none, "circular" for a dihedral)."""
    out: dict[str, tuple[np.ndarray, str]] = {}
    names = list(obs.dihedrals)
    if len(names) >= 2:
        a, b = names[:2]
        out[f"{a}/{b}"] = (np.stack([obs.dihedrals[a], obs.dihedrals[b]], axis=-1), "")
    for k, v in obs.dihedrals.items():
        out[k] = (v, "circular")
    for k, v in obs.bonds.items():
        out[f"bond {k}"] = (v, "A")
    for k, v in obs.angles.items():
        out[f"angle {k}"] = (v, "deg")
    return out


def _histogram_for(observable: str, reference: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    if "/" in observable:
        return lambda s: dihedral_histogram_2d(s[:, 0], s[:, 1])
    if observable.startswith(("bond ", "angle ")):
        return _clipped_hist(geometry_range(reference))
    return _dihedral_hist


def _constrained_rows(rows: Rows, observable: str, method: str, obs: Observed, ref: Observed, cls: str) -> None:
    """Rows of a bond class MD holds fixed: MD's ``constrained`` flag, or how far ``method`` strays from MD."""
    if method == REFERENCE:
        rows.add(observable, method, "constrained", 1.0)
        return
    mine, md = obs.bonds[cls], ref.bonds[cls]
    lengths = np.mean(md.reshape(ref.n_frames, -1), axis=0)  # [B_c] MD's mean length of each bond
    dev = np.abs(mine.reshape(obs.n_frames, -1) - lengths)  # [T, B_c]
    dev = dev[np.isfinite(dev)]  # non-finite lengths are counted by fraction_outside_md_range
    pair = f"{method} vs {REFERENCE}"
    rows.add(observable, pair, "mean_abs_dev_A", float(np.mean(dev)) if dev.size else np.nan)
    rows.add(observable, pair, "max_abs_dev_A", float(np.max(dev)) if dev.size else np.nan)
    rows.add(observable, pair, "fraction_outside_md_range", outside(mine, geometry_range(md)).fraction)


def equilibrium_rows(molecule: str, observed: dict[str, Observed], constraints: str = "none") -> pd.DataFrame:
    """JSDs and W1 distances of every method against MD, with split-half floors of each method,
    all read at the coarsest method's frame interval; the bond classes that MD's ``constraints``
    (``md.constraints``) fix get their own rows instead."""
    rows = Rows(molecule)
    dt = max(obs.dt_ps for obs in observed.values())
    observed = {method: thinned(obs, dt) for method, obs in observed.items()}
    reference = observed[REFERENCE]
    ref, ref_halves = _distributions(reference), [_distributions(h) for h in halves(reference)]
    fixed = {f"bond {c}": c for c in constrained_bond_classes(reference.bonds, constraints)}
    for method, obs in observed.items():
        mine = _distributions(obs)
        first, second = (_distributions(h) for h in halves(obs))
        for name, (samples, w1) in mine.items():
            if name in fixed:
                _constrained_rows(rows, name, method, obs, reference, fixed[name])
                continue
            hist = _histogram_for(name, ref[name][0])
            rows.add(name, f"{method} split-half", "jsd_nats", jsd(hist(first[name][0]), hist(second[name][0])))
            if method == REFERENCE:
                continue
            pair = f"{method} vs {REFERENCE}"
            rows.add(name, pair, "jsd_nats", jsd(hist(samples), hist(ref[name][0])))
            crossed = [jsd(hist(h[name][0]), hist(r[name][0])) for h in (first, second) for r in ref_halves]
            rows.add(name, pair, "half_jsd_nats", float(np.mean(crossed)))
            if w1 == "circular":
                rows.add(name, pair, "w1_deg", wasserstein_circular(samples, ref[name][0]))
            elif w1:
                rows.add(name, pair, f"w1_{w1}", wasserstein_1d(samples, ref[name][0]))
                beyond = outside(samples, geometry_range(ref[name][0]))
                rows.add(name, pair, "fraction_outside_md_range", beyond.fraction)
    return rows.frame()


Pair = tuple[str, str]


def kinetics_rows(
    molecule: str, observed: dict[str, Observed], n_boot: int = 2000, seed: int = 0
) -> tuple[pd.DataFrame, dict[str, dict[Pair, np.ndarray]], dict[str, dict[Pair, tuple]]]:
    """State populations and mean first-passage times (bootstrap 95 % intervals) of each method,
    and the MFPT ratio of each method to MD.

    Passages are counted with every trajectory read at the coarsest method's frame interval
    (MD frames are usually 10-100 times denser than SD steps), so that all methods resolve
    them alike; populations use every frame.

    Returns
    -------
    rows, passages (method -> (a, b) -> passage times in ps), means (method -> (a, b) -> (mean, low, high))
    """
    rows = Rows(molecule)
    passages: dict[str, dict[Pair, np.ndarray]] = {}
    means: dict[str, dict[Pair, tuple]] = {}
    dt = max(obs.dt_ps for obs in observed.values())
    for method, obs in observed.items():
        coarse = thinned(obs, dt).assignment
        for s, p in zip(obs.states, populations(obs.assignment, len(obs.states)), strict=True):
            rows.add(f"population {s}", method, "fraction", p)
        # the noise of a population: how far the two halves of the trajectory disagree
        first, second = (populations(h.assignment, len(obs.states)) for h in halves(obs))
        for s, p, q in zip(obs.states, first, second, strict=True):
            rows.add(f"population {s}", f"{method} split-half", "abs_difference", abs(p - q))
        passages[method], means[method] = {}, {}
        for i, a in enumerate(obs.states):
            for j, b in enumerate(obs.states):
                if i == j:
                    continue
                fpt = first_passage_times(coarse, i, j, dt)
                passages[method][a, b] = fpt
                m = bootstrap_mean(fpt, n_boot=n_boot, seed=seed)
                means[method][a, b] = (m.mean, m.low, m.high)
                for stat, v in (("mean_ps", m.mean), ("low_ps", m.low), ("high_ps", m.high), ("n", m.n)):
                    rows.add(f"fpt {a}->{b}", method, stat, v)
    for method in observed:
        if method == REFERENCE:
            continue
        for (a, b), fpt in passages[method].items():
            ref = passages[REFERENCE][a, b]
            ratio = fpt.mean() / ref.mean() if len(fpt) and len(ref) else float("nan")
            rows.add(f"fpt {a}->{b}", f"{method}/{REFERENCE}", "mfpt_ratio", ratio)
    return rows.frame(), passages, means


def conditional_rows(molecule: str, state: str, dihedrals: dict[str, dict[str, np.ndarray]],
                     times_ps: list[float], bins: int) -> pd.DataFrame:  # fmt: skip
    """JSD of P(dihedrals at t | start in ``state``) of each method against MD, per t.

    Parameters
    ----------
    dihedrals : method -> dihedral name -> [R, T'] values at each of ``times_ps``
    """
    rows = Rows(molecule)
    names = list(dihedrals[REFERENCE])[:2]

    def hist(values: dict[str, np.ndarray], k: int, replicas: slice = slice(None)) -> np.ndarray:
        x = [np.mod(values[n][replicas, k] + 180.0, 360.0) - 180.0 for n in names]
        if len(x) == 2:
            return np.histogram2d(x[0], x[1], bins=bins, range=[DIHEDRAL_RANGE, DIHEDRAL_RANGE])[0]
        return np.histogram(x[0], bins=bins, range=DIHEDRAL_RANGE)[0]

    label = "/".join(names)
    for k, t in enumerate(times_ps):
        observable = f"{label} | {state}, t = {t:g} ps"
        for method, values in dihedrals.items():
            r = values[names[0]].shape[0]
            if r >= 2:
                floor = jsd(hist(values, k, slice(0, r // 2)), hist(values, k, slice(r // 2, 2 * (r // 2))))
                rows.add(observable, f"{method} split-half", "jsd_nats", floor)
            rows.add(observable, method, "replicas", r)
            if method != REFERENCE:
                d = jsd(hist(values, k), hist(dihedrals[REFERENCE], k))
                rows.add(observable, f"{method} vs {REFERENCE}", "jsd_nats", d)
    return rows.frame()


def nested(df: pd.DataFrame) -> dict[str, object]:
    """{molecule: {observable: {method: {statistic: value}}}} with NaN as None (valid JSON)."""
    out: dict[str, dict] = {}
    for r in df.itertuples(index=False):
        value = None if pd.isna(r.value) else float(r.value)
        out.setdefault(r.molecule, {}).setdefault(r.observable, {}).setdefault(r.method, {})[r.statistic] = value
    return out
