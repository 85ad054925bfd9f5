"""Every architecture x parametrization x optimizer trains a tiny problem: the logged
curves have the right shapes, stay finite, the loss goes down, and a batched program
gives each run the numbers it gets alone."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from wall.compiler.plan import Program, build_plans
from wall.runtime.program import CompiledProgram

ARCHITECTURES = {
    "mlp2": "model mlp2 { width = 16 }",
    "mlp": "model mlp { width = 16  depth = 3 }",
    "resnet": "model resnet { width = 16  depth = 4  activation = \"tanh\" }",
}
# A learning rate per parametrization that makes the easy target x1 + x1*x2 go down in
# 60 steps: mean-field multiplies it by the width, NTK divides the step by fan-in.
PARAMETRIZATIONS = {
    "standard": ("parametrization standard {}", 0.1),
    "ntk": ("parametrization ntk { bias_init = 0.1 }", 0.5),
    "mean_field": ("parametrization mean_field {}", 0.05),
    "mup": ("parametrization mup { init_scale = 0.5 }", 0.5),
}
OPTIMIZERS = {
    "sgd": "",
    "momentum": "optimizer = \"momentum\"  momentum = 0.5",
    "adam": "optimizer = \"adam\"",
    "noisy_gd": "optimizer = \"noisy_gd\"  noise = 0.001",
}


def spec_text(model: str, parametrization: str, lr: float, train_extra: str = "", measure_extra: str = "") -> str:
    learning_rate = lr / 10 if "adam" in train_extra else lr
    return f"""
    wall 0.1
    experiment conformance {{
      target {{ domain = hypercube(6)  f = x1 + x1*x2 }}
      {model}
      {parametrization}
      train {{ lr = {learning_rate}  batch = 16  steps = 60  {train_extra} }}
      sweep {{ grid {{ seed = 0..1 }} }}
      measure test_loss {{ every = 20  samples = 256 }}
      {measure_extra}
    }}
    """


def train(write_spec, text: str):
    program = build_plans(write_spec(text, "conformance.wall"))[0].programs[0]
    return program, CompiledProgram(program).run()


def check_trains(result, runs: int = 2):
    assert list(result.steps) == [0, 20, 40, 60]
    assert result.test_loss.shape == (runs, 4)
    assert np.all(np.isfinite(result.test_loss))
    assert np.all(result.test_loss[:, -1] < 0.9 * result.test_loss[:, 0])


@pytest.mark.parametrize("architecture,parametrization", list(itertools.product(ARCHITECTURES, PARAMETRIZATIONS)))
def test_every_architecture_and_parametrization_trains(write_spec, architecture, parametrization):
    block, lr = PARAMETRIZATIONS[parametrization]
    _, result = train(write_spec, spec_text(ARCHITECTURES[architecture], block, lr))
    check_trains(result)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("architecture", ["mlp2", "resnet"])
def test_every_optimizer_trains_and_batches(write_spec, optimizer, architecture):
    block, lr = PARAMETRIZATIONS["standard"]
    program, result = train(write_spec, spec_text(ARCHITECTURES[architecture], block, lr, OPTIMIZERS[optimizer]))
    check_trains(result)
    alone = CompiledProgram(Program("alone", program.runs[1:])).run()
    np.testing.assert_allclose(result.test_loss[1], alone.test_loss[0], rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("extra", [
    "halve_every = 20  weight_decay = 0.001",
    "samples = 64",
    "loss = \"logistic\"",
    "layer_steps = 10  layer_order = [2, 1]",
])
def test_training_options(write_spec, extra):
    block, lr = PARAMETRIZATIONS["standard"]
    check_trains(train(write_spec, spec_text(ARCHITECTURES["mlp2"], block, lr, extra))[1])


def test_layerwise_training_moves_only_the_scheduled_layer(write_spec):
    block, lr = PARAMETRIZATIONS["standard"]
    # Layer 2 (the readout) trains for the whole budget, so layer 1 never moves.
    text = spec_text(ARCHITECTURES["mlp2"], block, lr, "layer_steps = 100  layer_order = [2, 1]",
                     "measure weight_change { top = 3 }")
    _, result = train(write_spec, text)
    assert np.all(result.curves["weight_change_norm"] == 0.0)
    assert np.all(result.test_loss[:, -1] < result.test_loss[:, 0])


def test_erm_repeats_the_training_set(write_spec):
    block, lr = PARAMETRIZATIONS["standard"]
    # With a training set of one batch, every step trains on the same samples, so the
    # runs differ from online ones. Steps beyond the first epoch reuse the set.
    _, erm = train(write_spec, spec_text(ARCHITECTURES["mlp2"], block, lr, "samples = 16"))
    _, online = train(write_spec, spec_text(ARCHITECTURES["mlp2"], block, lr))
    assert not np.allclose(erm.test_loss[:, -1], online.test_loss[:, -1])
    assert np.all(np.isfinite(erm.test_loss))
