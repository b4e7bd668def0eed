"""DPM-Solver against distributions whose exact score is known."""

from pathlib import Path

import numpy as np
import pytest
import torch
from scipy import stats

from scoredyn.diffusion.kernel import SCALES_A, kernel_errors
from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.diffusion.solver import lambda_grid, solve
from scoredyn.diffusion.wrapper import ModelWrapper

SCHEDULE = VPSchedule()
N_SAMPLES = 100_000


def gaussian_eps(mean: torch.Tensor, var: torch.Tensor):
    """Exact noise prediction of data N(mean, diag(var)) diffused to tau."""

    def eps(x, tau):
        a, s = SCHEDULE.alpha(tau), SCHEDULE.sigma(tau)
        return s * (x - a * mean) / (a**2 * var + s**2)

    return eps


def mixture_eps(weights, means, stds):
    """Exact noise prediction of a 1D Gaussian mixture, coordinate by coordinate."""
    w, m, sd = (torch.tensor(v, dtype=torch.float64) for v in (weights, means, stds))

    def eps(x, tau):
        a, s = SCHEDULE.alpha(tau), SCHEDULE.sigma(tau)
        var = a**2 * sd**2 + s**2  # [K]
        d = x[..., None] - a * m  # [..., K]
        logp = torch.log(w) - 0.5 * torch.log(var) - 0.5 * d**2 / var
        resp = torch.softmax(logp, dim=-1)
        return s * (resp * d / var).sum(-1)

    return eps


def prior(shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    sigma_T = SCHEDULE.sigma(torch.tensor(SCHEDULE.tau_max, dtype=torch.float64))
    return sigma_T * torch.randn(shape, generator=g, dtype=torch.float64)


def marginal_at_tau_min():
    tau = torch.tensor(SCHEDULE.tau_min, dtype=torch.float64)
    return float(SCHEDULE.alpha(tau)), float(SCHEDULE.sigma(tau))


def test_lambda_grid_is_uniform_and_spans_the_schedule():
    tau, lam = lambda_grid(SCHEDULE, 20)
    assert tau[0] == SCHEDULE.tau_max and tau[-1] == SCHEDULE.tau_min
    steps = lam.diff()
    assert torch.all(steps > 0)
    torch.testing.assert_close(steps, steps.mean().expand_as(steps))


def exact_flow(x_T, mean, var):
    """The probability-flow ODE's exact map from tau_max to tau_min for Gaussian data."""
    a, s = marginal_at_tau_min()
    T = torch.tensor(SCHEDULE.tau_max, dtype=torch.float64)
    a_T, s_T = SCHEDULE.alpha(T), SCHEDULE.sigma(T)
    return a * mean + ((a**2 * var + s**2) / (a_T**2 * var + s_T**2)).sqrt() * (x_T - a_T * mean)


@pytest.mark.parametrize(("name", "order"), [("dpm1", 1), ("dpm2", 2), ("dpm3", 3), ("dpmpp2m", 2), ("dpm3m", 3)])
def test_convergence_order(name, order):
    """Doubling the steps divides the error of the ODE solution by about 2^order (at least 2^3
    for dpm3m, whose rate on this problem is 3.7; with the reference code's coefficient of its
    last term it would be 2)."""
    mean = torch.tensor([0.6, -0.3, 0.0], dtype=torch.float64)
    var = torch.tensor([0.25, 1.0, 2.5], dtype=torch.float64)
    x_T = prior((500, 3))
    exact = exact_flow(x_T, mean, var)
    errors = [
        float((solve(ModelWrapper(gaussian_eps(mean, var), SCHEDULE), x_T, SolverConfig(name, n)) - exact).abs().max())
        for n in (20, 40, 80)
    ]
    rates = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    if name == "dpm3m":
        assert np.all((rates > order - 0.2) & (rates < order + 1.0)), (errors, rates)
    else:
        assert np.all(np.abs(rates - order) < 0.45), (errors, rates)


@pytest.mark.parametrize(("name", "steps"), [("dpm3", 20)])
def test_gaussian_moments_within_one_percent(name, steps):
    mean = torch.tensor([0.6, -0.3, 0.0], dtype=torch.float64)
    var = torch.tensor([0.25, 1.0, 2.5], dtype=torch.float64)  # an anisotropic displacement
    model = ModelWrapper(gaussian_eps(mean, var), SCHEDULE)
    x = solve(model, prior((N_SAMPLES, 3)), SolverConfig(name, steps))
    a, s = marginal_at_tau_min()
    want_mean, want_var = a * mean, a**2 * var + s**2
    sd = want_var.sqrt()
    assert torch.all((x.mean(0) - want_mean).abs() < 0.01 * sd), (x.mean(0), want_mean)
    assert torch.all((x.var(0) / want_var - 1).abs() < 0.01), (x.var(0), want_var)
    assert model.evaluations == SolverConfig(name, steps).evaluations


def test_dpm1_with_few_steps_is_measurably_wrong():
    """The test above can fail: a first-order solver with 3 steps misses the variance."""
    mean, var = torch.zeros(1, dtype=torch.float64), torch.full((1,), 0.05, dtype=torch.float64)
    x = solve(ModelWrapper(gaussian_eps(mean, var), SCHEDULE), prior((N_SAMPLES, 1)), SolverConfig("dpm1", 3))
    a, s = marginal_at_tau_min()
    assert abs(float(x.var()) / (a**2 * 0.05 + s**2) - 1) > 0.05


@pytest.mark.parametrize("name", ["dpm3"])
def test_mixture_passes_ks(name):
    weights, means, stds = [0.3, 0.7], [-1.5, 1.0], [0.3, 0.5]
    model = ModelWrapper(mixture_eps(weights, means, stds), SCHEDULE)
    x = solve(model, prior((N_SAMPLES,), seed=1), SolverConfig(name, 20)).numpy()
    a, s = marginal_at_tau_min()
    sds = [np.sqrt(a**2 * sd**2 + s**2) for sd in stds]

    def cdf(v):
        return sum(w * stats.norm.cdf(v, a * m, sd) for w, m, sd in zip(weights, means, sds, strict=True))

    result = stats.kstest(x, cdf)
    assert result.pvalue > 0.01, result
    assert abs((x < 0).mean() - cdf(0.0)) < 0.005  # the weight of the left mode


def test_mixture_with_too_few_steps_fails_ks():
    weights, means, stds = [0.3, 0.7], [-1.5, 1.0], [0.1, 0.1]
    model = ModelWrapper(mixture_eps(weights, means, stds), SCHEDULE)
    x = solve(model, prior((N_SAMPLES,), seed=1), SolverConfig("dpm1", 2)).numpy()
    a, s = marginal_at_tau_min()
    sds = [np.sqrt(a**2 * sd**2 + s**2) for sd in stds]

    def cdf(v):
        return sum(w * stats.norm.cdf(v, a * m, sd) for w, m, sd in zip(weights, means, sds, strict=True))

    assert stats.kstest(x, cdf).pvalue < 1e-6


def test_float32_follows_float64():
    mean, var = torch.tensor([0.5], dtype=torch.float64), torch.tensor([0.3], dtype=torch.float64)
    x64 = prior((1000, 1))
    y64 = solve(ModelWrapper(gaussian_eps(mean, var), SCHEDULE), x64, SolverConfig())
    y32 = solve(ModelWrapper(gaussian_eps(mean.float(), var.float()), SCHEDULE), x64.float(), SolverConfig())
    torch.testing.assert_close(y32.double(), y64, atol=1e-4, rtol=1e-4)


def test_unknown_solver_is_refused():
    with pytest.raises(ValueError, match="dpm3"):
        SolverConfig("euler", 10)


#: the settings that draw an Ornstein-Uhlenbeck move's variance within 1% at every scale
EXACT = {("dpm3", 50), ("dpm3", 20), ("dpm3", 10), ("dpm3m", 20)}
#: offered settings that miss it: the sign of their variance error (the README says so)
INEXACT = {("dpmpp2m", 20): +1, ("dpmpp2m", 10): +1, ("dpmpp2m", 5): -1, ("dpm3m", 10): -1, ("dpm3m", 15): -1,
           ("dpm2", 10): +1}  # fmt: skip


def offered_settings() -> set[tuple[str, int]]:
    """Every solver setting of a shipped config and of bench/speed.py."""
    import ast

    import yaml

    root = Path(__file__).resolve().parents[2]
    found = set()
    for path in [root / "config.yaml", *sorted((root / "config").glob("*.yaml"))]:
        raw = yaml.safe_load(path.read_text())
        roll, sweep = raw.get("rollout", {}), raw.get("evaluation", {}).get("sweep", {})
        for solver in [roll.get("solver"), *sweep.get("solvers", [])]:
            if solver:
                found.add((solver["name"], solver["steps"]))
    for node in ast.walk(ast.parse((root / "bench" / "speed.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SolverConfig" and len(node.args) == 2:
            found.add((node.args[0].value, node.args[1].value))
    return found


def test_every_offered_setting_draws_an_ou_move_as_documented():
    """Fed the exact noise prediction of an Ornstein-Uhlenbeck kernel at displacement scales of
    0.05-1.5 A, the exact settings draw its mean within 0.02 standard deviations (the prior's own
    offset, a_T b mu, is 0.013) and its variance within 1%; every other offered setting misses
    the variance by more than 1%, with the sign its documentation gives."""
    offered = offered_settings()
    assert offered <= EXACT | set(INEXACT), offered - EXACT - set(INEXACT)
    for name, steps in sorted(EXACT | set(INEXACT)):
        errors = kernel_errors(SolverConfig(name, steps))
        assert [e.scale_A for e in errors] == list(SCALES_A)
        worst = max(errors, key=lambda e: abs(e.variance_error))
        assert all(e.mean_error < 0.02 for e in errors), (name, steps, errors)
        if (name, steps) in EXACT:
            assert abs(worst.variance_error) < 0.01, (name, steps, errors)
        else:
            assert abs(worst.variance_error) > 0.01 and np.sign(worst.variance_error) == INEXACT[name, steps], (
                name,
                steps,
                errors,
            )


def test_the_kernel_check_sees_a_wrong_solver():
    """dpm1 with 3 steps is far off; a kernel check that passed it would prove nothing."""
    errors = kernel_errors(SolverConfig("dpm1", 3))
    assert min(abs(e.variance_error) for e in errors) > 0.5


def test_the_schema_offers_exactly_the_implemented_solvers():
    from scoredyn.config import config_schema, solver_names
    from scoredyn.diffusion.settings import SOLVERS

    sweep = config_schema()["properties"]["evaluation"]["properties"]["sweep"]["properties"]["solvers"]
    assert solver_names() == list(SOLVERS) == sweep["items"]["properties"]["name"]["enum"]
