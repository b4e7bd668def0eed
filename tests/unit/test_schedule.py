import pytest
import torch

from scoredyn.diffusion.schedule import VPSchedule


def test_variance_preserving_and_endpoints():
    s = VPSchedule()
    tau = torch.linspace(s.tau_min, s.tau_max, 101, dtype=torch.float64)
    torch.testing.assert_close(s.alpha(tau) ** 2 + s.sigma(tau) ** 2, torch.ones_like(tau))
    assert s.alpha(torch.tensor(1e-3, dtype=torch.float64)) > 0.999
    assert s.alpha(torch.tensor(1.0, dtype=torch.float64)) < 0.01  # exp(-(20-0.1)/4 - 0.05) ~ 0.0066


@pytest.mark.parametrize("dtype,tol", [(torch.float64, 1e-10), (torch.float32, 2e-4)])
def test_lambda_round_trip(dtype, tol):
    s = VPSchedule()
    tau = torch.linspace(s.tau_min, s.tau_max, 1000, dtype=dtype)
    lam = s.lam(tau)
    assert torch.all(lam[1:] < lam[:-1])  # lambda falls monotonically with tau
    torch.testing.assert_close(s.tau_of_lambda(lam), tau, atol=tol, rtol=tol)
    lam2 = torch.linspace(float(lam[-1]), float(lam[0]), 500, dtype=dtype)
    torch.testing.assert_close(s.lam(s.tau_of_lambda(lam2)), lam2, atol=50 * tol, rtol=tol)


def test_invalid_schedule_is_refused():
    with pytest.raises(ValueError):
        VPSchedule(tau_min=0.5, tau_max=0.1)
