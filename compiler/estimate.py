"""Plan-time estimates of the work in each program: FLOPs from the spec, and wall time
from the FLOPs and the machine's measured matmul peak.

FLOPs count multiply-adds as 2 and include only the matmuls of the network. A fully
connected layer of fan-in p and fan-out q costs 2pq per sample forward and 4pq backward. The first layer needs no gradient with respect to the inputs, so a
two-layer net of input dimension d and width m costs 4dm + 6m per training sample.
"""

from __future__ import annotations

import dataclasses
import math
import time

from wall.lang.diagnostics import counted

# Fraction of the matmul peak a training program reaches, and the fixed cost of one step
# (loop, random numbers, small elementwise kernels). Rough values for the two-layer nets of
# docs/benchmarks.md on a 2-core CPU (50 to 66% of peak for 32 runs of width 512); small
# programs are dominated by the per-step cost.
# NOTE: the peak is measured with numpy on the CPU, so on a GPU node the estimate is that
# of a CPU run, far above the GPU's time.
EFFICIENCY = 0.5
STEP_OVERHEAD_S = 2e-4


@dataclasses.dataclass(frozen=True)
class ProgramEstimate:
    flops: float  # whole program: every run, every step, every logged evaluation
    train_s: float  # estimated training wall time, compile time excluded

    def describe(self) -> str:
        return f"~{self.flops / 1e9:.3g} GFLOP, ~{self.train_s:.3g} s to train"


def layer_shapes(config) -> list[tuple[int, int]]:
    """(fan_in, fan_out) of each weight layer of the run's network, readout included."""
    d = config.target.domain.d
    width = config.model.width
    depth = getattr(config.model, "depth", 2)
    return [(d, width)] + [(width, width)] * (depth - 2) + [(width, 1)]


def train_flops_per_sample(config) -> float:
    shapes = layer_shapes(config)
    weights = sum(fan_in * fan_out for fan_in, fan_out in shapes)
    first_layer = shapes[0][0] * shapes[0][1]
    # 6 per weight (forward, input gradient, weight gradient), less the first layer's input
    # gradient. Biases and activations are a few FLOPs per hidden unit and are left out.
    return 6 * weights - 2 * first_layer


def eval_flops_per_sample(config) -> float:
    return 2 * sum(fan_in * fan_out for fan_in, fan_out in layer_shapes(config))


def estimate_program(program, peak_gflops: float, devices: int, cores: int | None = None) -> ProgramEstimate:
    """FLOPs and training time of one program whose runs are split across `devices`.

    `peak_gflops` is the matmul rate of all `cores` together (default: one core per
    device). Each device gets one core's share of it, because XLA runs these small
    per-step matmuls on about one core.
    """
    config = program.config
    runs = len(program.runs)
    train = config.train
    test_samples, every_steps = _logging(config)
    evaluations = math.ceil(train.steps / every_steps) + 1

    step_flops = train.batch * train_flops_per_sample(config)
    eval_flops = test_samples * eval_flops_per_sample(config)
    flops = runs * (train.steps * step_flops + evaluations * eval_flops)

    # Each device trains its share of the runs; padding makes the shares equal.
    runs_per_device = math.ceil(runs / devices)
    device_gflops = EFFICIENCY * peak_gflops / (cores or devices)
    step_s = STEP_OVERHEAD_S + runs_per_device * step_flops / (device_gflops * 1e9)
    eval_s = runs_per_device * eval_flops / (device_gflops * 1e9)
    return ProgramEstimate(flops, train.steps * step_s + evaluations * eval_s)


@dataclasses.dataclass(frozen=True)
class ComputeEstimate:
    """The estimate for a whole plan: every program trained one after another."""

    flops: float
    train_s: float
    programs: int
    peak_gflops: float
    devices: int
    cores: int

    def describe(self) -> str:
        return (f"estimated compute: ~{self.flops / 1e9:.3g} GFLOP in {counted(self.programs, 'program')}, "
                f"~{self.train_s:.3g} s to train on {counted(self.devices, 'device')} "
                f"(matmul peak measured now: {self.peak_gflops:.0f} GFLOP/s)")


def estimate_compute(runs, devices: int = 1, peak_gflops: float | None = None,
                     cores: int | None = None) -> ComputeEstimate:
    """Estimate the FLOPs and training time of `runs`, grouped into programs as the plan groups them."""
    from .plan import group_programs

    peak = measure_peak_gflops() if peak_gflops is None else peak_gflops
    estimates = [estimate_program(program, peak, devices, cores) for program in group_programs(runs)]
    return ComputeEstimate(sum(e.flops for e in estimates), sum(e.train_s for e in estimates), len(estimates),
                           peak, devices, cores or devices)


def _logging(config) -> tuple[int, int]:
    for kind, measure in config.measures.values():
        if kind == "test_loss":
            return measure.samples, measure.every
    return 0, config.train.steps


def measure_peak_gflops(size: int = 1024, repeats: int = 3) -> float:
    """Measure the machine's fp32 matmul rate in GFLOP/s (numpy, all cores), best of `repeats`."""
    import numpy as np

    a = np.ones((size, size), np.float32)
    b = np.ones((size, size), np.float32)
    a @ b  # warm up the BLAS threads
    best = math.inf
    for _ in range(repeats):
        started = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - started)
    return 2 * size**3 / best / 1e9
