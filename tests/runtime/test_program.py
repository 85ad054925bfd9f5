from __future__ import annotations

import numpy as np

from wall.compiler.plan import Program, build_plans
from wall.runtime.program import CompiledProgram


def test_batched_program_matches_runs_alone(tiny_spec):
    plan = build_plans(tiny_spec)[0]
    program = plan.programs[0]
    assert len(program.runs) == 2

    batched = CompiledProgram(program).run()
    for index, run in enumerate(program.runs):
        alone = CompiledProgram(Program("alone", [run])).run()
        np.testing.assert_allclose(batched.test_loss[index], alone.test_loss[0], rtol=1e-5, atol=1e-6)


def test_run_order_in_program_does_not_matter(tiny_spec):
    program = build_plans(tiny_spec)[0].programs[0]
    forward = CompiledProgram(program).run()
    backward = CompiledProgram(Program("reversed", program.runs[::-1])).run()
    np.testing.assert_allclose(forward.test_loss, backward.test_loss[::-1], rtol=1e-5, atol=1e-6)


def test_loss_decreases_and_logs_every_interval(tiny_spec):
    program = build_plans(tiny_spec)[0].programs[0]
    result = CompiledProgram(program).run()
    assert list(result.steps) == [0, 20, 40, 60]
    assert result.test_loss.shape == (2, 4)
    assert np.all(result.test_loss[:, -1] < result.test_loss[:, 0])
    # The untrained mean-field net predicts almost zero, so its normalised loss is near 1.
    assert np.all(np.abs(result.test_loss[:, 0] - 1.0) < 0.2)


def test_steps_not_multiple_of_every(write_spec, tiny_spec):
    text = tiny_spec.read_text().replace("steps = 60", "steps = 50")
    program = build_plans(write_spec(text, "odd.wall"))[0].programs[0]
    result = CompiledProgram(program).run()
    assert list(result.steps) == [0, 20, 40, 50]
