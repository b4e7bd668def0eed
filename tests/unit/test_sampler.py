"""The displacement sampler: chunked ensembles and the compiled network draw what the plain one draws."""

import logging
import shutil

import pytest
import torch

from scoredyn.diffusion.schedule import VPSchedule
from scoredyn.diffusion.settings import SolverConfig
from scoredyn.model.network import NetworkConfig, ScoreNetwork
from scoredyn.rollout.sampler import CPU_CHUNK, DisplacementSampler

SCHEDULE = VPSchedule()


def network() -> ScoreNetwork:
    torch.manual_seed(0)
    cfg = NetworkConfig(n_types=3, width=16, n_blocks=2, cutoff=3.0, skip_var=0.5, skip_var_centroid=0.2)
    return ScoreNetwork(cfg, SCHEDULE)


def structures(replicas: int = 11, atoms: int = 7, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    r = torch.randn(replicas, atoms, 3, generator=gen, dtype=dtype) * 1.2
    return r, torch.randn(replicas, atoms, 3, generator=gen, dtype=dtype)


TYPES = torch.tensor([0, 1, 2, 1, 0, 2, 1])


def test_chunks_draw_what_one_batch_draws():
    r, noise = structures(dtype=torch.float64)
    solver, f64 = SolverConfig("dpm2", 3), torch.float64
    draws = {
        chunk: DisplacementSampler(network(), SCHEDULE, solver, TYPES, dtype=f64, chunk=chunk).sample(r, noise)
        for chunk in (1, 4, 11)
    }
    torch.testing.assert_close(draws[4], draws[11], rtol=0, atol=1e-12)
    torch.testing.assert_close(draws[1], draws[11], rtol=0, atol=1e-12)
    assert draws[11].abs().mean() > 1e-3  # real moves, not zeros


def test_a_cpu_ensemble_is_drawn_in_chunks_of_the_default_size_and_a_gpu_one_whole():
    sampler = DisplacementSampler(network(), SCHEDULE, SolverConfig("dpm2", 2), TYPES)
    sizes: list[int] = []
    conditioned = sampler.condition
    sampler.condition = lambda r: sizes.append(len(r)) or conditioned(r)  # one call per chunk
    r, noise = structures(replicas=2 * CPU_CHUNK + 3)
    assert sampler.sample(r, noise).shape == r.shape
    assert sizes == [CPU_CHUNK, CPU_CHUNK, 3]
    assert DisplacementSampler(network(), SCHEDULE, SolverConfig(), TYPES, device="meta").chunk is None


@pytest.mark.skipif(not (shutil.which("g++") or shutil.which("c++")), reason="torch.compile needs a C++ compiler")
def test_compiled_network_draws_what_the_plain_network_draws():
    r, noise = structures()
    plain = DisplacementSampler(network(), SCHEDULE, SolverConfig("dpmpp2m", 4), TYPES)
    compiled = DisplacementSampler(network(), SCHEDULE, SolverConfig("dpmpp2m", 4), TYPES, compile=True)
    want = plain.sample(r, noise)
    got = compiled.sample(r, noise)
    assert compiled.compiled  # it really ran compiled
    torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(compiled.sample(r[:3] + 0.2, noise[:3]), plain.sample(r[:3] + 0.2, noise[:3]),
                               rtol=1e-4, atol=1e-5)  # fmt: skip


def test_a_failing_compiler_falls_back_to_the_plain_network_with_one_warning(monkeypatch, caplog):
    def broken(fn, **kw):
        def run(*args):
            raise RuntimeError("no C++ compiler found\nlong backend traceback")

        return run

    monkeypatch.setattr(torch, "compile", broken)
    r, noise = structures()
    sampler = DisplacementSampler(network(), SCHEDULE, SolverConfig("dpm1", 2), TYPES, compile=True)
    with caplog.at_level(logging.WARNING):
        got = sampler.sample(r, noise)
        sampler.sample(r, noise)
    want = DisplacementSampler(network(), SCHEDULE, SolverConfig("dpm1", 2), TYPES).sample(r, noise)
    torch.testing.assert_close(got, want)
    warnings = [rec.message for rec in caplog.records if "torch.compile" in rec.message]
    assert len(warnings) == 1 and "no C++ compiler found" in warnings[0] and "traceback" not in warnings[0]
    assert not sampler.compiled
