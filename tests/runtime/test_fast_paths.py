"""The optimised training path gives the numbers of a straightforward implementation.

`CompiledProgram` stores first-layer weights transposed, draws hypercube signs 32 to a
random word, evaluates the test set in blocks and trains the runs of a program under vmap
and lax.scan, split across devices. These tests replay the same runs in a plain numpy loop
(the same initial weights, batches and test set) and compare every logged test loss.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wall.compiler.plan import build_plans
from wall.runtime import devices
from wall.runtime.data import random_signs
from wall.runtime.devices import run_devices, split_for_cpu
from wall.runtime.executors.local import run_locally
from wall.runtime.models import Network
from wall.runtime.program import CompiledProgram, _predict_in_blocks, chunk_length
from wall.runtime.progress import Progress
from wall.runtime.store import ExperimentStore
from wall.runtime.threefry import random_words

SPEC = """
wall 0.1
experiment plain {{
  target {{ domain = {domain}  f = {f} }}
  model mlp2 {{ width = 8 }}
  parametrization mean_field {{ bias_init = 1.0 }}
  train {{ optimizer = "sgd"  lr = 0.5  batch = 5  steps = {steps} }}
  sweep {{ grid {{ seed = [0, 1, 2] }} }}
  measure test_loss {{ every = 3  samples = 600  normalized = true }}
}}
"""


def numpy_loop(program: CompiledProgram, run: int) -> list[float]:
    """Train run `run` of the program with numpy: forward, backward and SGD written out."""
    state, data = program.initial_state()
    pick = lambda tree: jax.tree.map(lambda leaf: np.asarray(leaf[run], np.float64), tree)  # noqa: E731
    model, run_data = pick(state.model), pick(data)
    w, b, a = model.weights[0], model.biases[0], model.readout  # w is (d, m)
    m = a.shape[0]
    lr = program.config.train.lr * m  # mean-field: every learning rate times the width

    def predict(x):
        return np.maximum(x @ w + b, 0.0) @ a / m

    def test_loss():
        return float(np.mean((predict(run_data["test_x"]) - run_data["test_y"]) ** 2) / program.normalizer)

    key = program.keys[run]
    batch_data = jax.tree.map(lambda leaf: leaf[run], data)
    losses = [test_loss()]
    for step in range(program.train.steps):
        x, y = (np.asarray(v, np.float64) for v in program._batch(key, step, batch_data))
        preactivation = x @ w + b
        hidden = np.maximum(preactivation, 0.0)
        error = (hidden @ a / m - y) / len(y)  # d(0.5 * mean squared error) / d(prediction)
        delta = np.outer(error, a / m) * (preactivation > 0)
        w, b, a = w - lr * x.T @ delta, b - lr * delta.sum(0), a - lr * hidden.T @ error / m
        if (step + 1) % program.every == 0 or step + 1 == program.train.steps:
            losses.append(test_loss())
    return losses


# 7 steps logged every 3 end in a partial interval, so the last chunk has padding steps.
# 6 steps fill whole chunks, and the program skips the padding select.
@pytest.mark.parametrize("domain,f,steps,logs", [("hypercube(6)", "x1 + x1*x2*x3", 7, 4),
                                                 ("gaussian(5)", "z1 + He2(z2)", 7, 4),
                                                 ("gaussian(5)", "z1 + He2(z2)", 6, 3)])
def test_program_matches_a_numpy_loop(write_spec, domain, f, steps, logs):
    program = build_plans(write_spec(SPEC.format(domain=domain, f=f, steps=steps)))[0].programs[0]
    compiled = CompiledProgram(program)
    result = compiled.run()
    assert result.test_loss.shape == (3, logs)  # steps 0, 3, 6 (and 7)
    for run in range(3):
        np.testing.assert_allclose(result.test_loss[run], numpy_loop(compiled, run), rtol=2e-4, atol=1e-6)


def test_random_signs_unpack_word_bits():
    key = jax.random.PRNGKey(7)
    signs = np.asarray(random_signs(key, (5, 13)))  # 65 signs: three words, the last one partly used
    words = np.asarray(random_words(key, 3))
    bits = (words[:, None] >> np.arange(32, dtype=np.uint32)) & 1
    np.testing.assert_array_equal(signs.reshape(-1), (1.0 - 2.0 * bits.reshape(-1))[:65])


def test_random_signs_fair_and_uncorrelated():
    signs = np.asarray(random_signs(jax.random.PRNGKey(3), (4096, 32)))
    assert set(np.unique(signs)) == {-1.0, 1.0}
    # 131072 signs: the mean is within 5 standard errors (0.014) of 0, and neighbouring
    # coordinates (bits of one word) are uncorrelated.
    assert abs(signs.mean()) < 0.014
    assert abs(np.mean(signs[:, :-1] * signs[:, 1:])) < 0.014


@pytest.mark.parametrize("samples", [100, 256, 600])
def test_blocked_prediction_equals_one_piece(samples):
    key = jax.random.PRNGKey(0)
    w = jax.random.normal(key, (4, 16))
    model = Network((w,), (jnp.ones(16),), jnp.linspace(-1, 1, 16), (1.0,), 1 / 16, "relu", False)
    x = jax.random.normal(jax.random.fold_in(key, 1), (samples, 4))
    np.testing.assert_allclose(_predict_in_blocks(model, x), model(x), rtol=1e-6, atol=1e-7)


def test_large_program_split_for_cpu(write_spec):
    spec = SPEC.format(domain="gaussian(30)", f="z1", steps=7).replace("seed = [0, 1, 2]", "seed = 0..127")
    spec = spec.replace("width = 8", "width = 512").replace("batch = 5", "batch = 64")
    program = build_plans(write_spec(spec))[0].programs[0]
    parts = split_for_cpu(program, devices=2)
    # 2**19 activations per device hold 16 runs of batch 64 and width 512: 32 runs per part.
    assert [len(part.runs) for part in parts] == [32, 32, 32, 32]
    assert [run.id for part in parts for run in part.runs] == [run.id for run in program.runs]
    assert len({part.id for part in parts}) == 4
    assert split_for_cpu(program, devices=8) == [program]


def test_split_programs_match_whole_program(write_spec, tmp_path, monkeypatch):
    plan = build_plans(write_spec(SPEC.format(domain="hypercube(6)", f="x1*x2", steps=7)))[0]
    losses = {}
    for name, activations in (("whole", 2**19), ("split", 8 * 5)):  # 8 * 5: one run per device
        monkeypatch.setattr(devices, "CPU_ACTIVATIONS_PER_DEVICE", activations)
        store = ExperimentStore(tmp_path / name, plan.spec.name)
        trained = run_locally(plan, store, Progress(interactive=False))
        assert trained == (1 if name == "whole" else math.ceil(3 / len(run_devices())))
        losses[name] = [store.read_metrics(run.id)["test_loss"] for run in plan.runs]
    np.testing.assert_allclose(losses["split"], losses["whole"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("intervals,length", [(1, 1), (40, 1), (41, 1), (100, 2), (1000, 25), (4000, 100),
                                              (1009, 26)])
def test_chunk_length_divides_intervals(intervals, length):
    # 1009 is prime: no divisor within 4x the host syncs, so its last chunk is padded.
    assert chunk_length(intervals) == length
    assert math.ceil(intervals / length) <= 4 * 40
