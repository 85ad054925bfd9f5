from __future__ import annotations

import pytest

from wall.compiler.estimate import estimate_compute, estimate_program, train_flops_per_sample
from wall.compiler.plan import build_plans
from wall.runtime import devices
from wall.runtime.cli import main


def test_two_layer_flops_per_sample(tiny_spec):
    program = build_plans(tiny_spec)[0].programs[0]
    d, width = program.config.target.domain.d, program.config.model.width
    assert train_flops_per_sample(program.config) == 4 * d * width + 6 * width


def test_program_flops_count_every_run_step_and_log(tiny_spec):
    program = build_plans(tiny_spec)[0].programs[0]
    config = program.config
    d, width = config.target.domain.d, config.model.width
    train = 2 * 60 * 8 * (4 * d * width + 6 * width)  # runs * steps * batch * per sample
    logs = 2 * 4 * 256 * 2 * (d * width + width)  # runs * log points * test samples * forward
    assert estimate_program(program, peak_gflops=100.0, devices=1).flops == pytest.approx(train + logs)


def test_more_devices_shorten_the_estimate(tiny_spec):
    program = build_plans(tiny_spec)[0].programs[0]
    one = estimate_program(program, peak_gflops=100.0, devices=1, cores=2)
    two = estimate_program(program, peak_gflops=100.0, devices=2, cores=2)
    assert two.flops == one.flops
    assert two.train_s < one.train_s


def test_plan_sums_its_programs(tiny_spec):
    plan = build_plans(tiny_spec)[0]
    total = estimate_compute(plan.runs, devices=1, peak_gflops=100.0)
    assert total.programs == len(plan.programs) == 2
    assert total.flops == pytest.approx(sum(estimate_program(p, 100.0, 1).flops for p in plan.programs))


def test_plan_command_prints_estimates(tiny_spec, capsys):
    assert main(["plan", str(tiny_spec)]) == 0
    output = capsys.readouterr().out
    assert "estimated compute:" in output
    assert output.count("s to train") == 3  # the plan total and each of its two programs


def test_plan_command_shows_cpu_split(tiny_spec, capsys, monkeypatch):
    # One run of the tiny spec's batch and width fills a device's cache budget, so each
    # program of two runs trains as two programs on one device.
    plan = build_plans(tiny_spec)[0]
    config = plan.programs[0].config
    monkeypatch.setattr(devices, "CPU_ACTIVATIONS_PER_DEVICE", config.train.batch * config.model.width)
    monkeypatch.setenv("WALL_DEVICES", "1")
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    assert main(["plan", str(tiny_spec)]) == 0
    assert capsys.readouterr().out.count("trained on CPUs as 2 programs of at most 1 run each") == 2
