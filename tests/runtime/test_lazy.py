from __future__ import annotations

import json
import math

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wall.compiler.plan import Program, build_plans
from wall.lang.diagnostics import SpecError
from wall.runtime import lazy
from wall.runtime.kernels import empirical_ntk, kernel_drift
from wall.runtime.lazy_program import LazyProgram
from wall.runtime.measures import growth_exponent

LAZY_SPEC = """
wall 0.1
experiment lazy_tiny {
  doc = "A tiny lazy run for tests"
  target { domain = gaussian(4)  f = z1 + z1*z2 }
  model mlp2 { width = 16  activation = "tanh" }
  parametrization lazy { alpha = scale }
  train { lr = 0.5  batch = 16  samples = 16  steps = 200 }
  sweep { grid { scale = [10, 100]  seed = 0..1 } }
  measure test_loss { every = 20  samples = 128 }
  measure twin_gap {}
  measure kernel_drift { samples = 8 }
}
"""


class LinearFeatures(eqx.Module):
    """h(x; w) = x @ w: linear in its parameters, so it equals its own linearization."""

    w: jax.Array

    def __call__(self, x):
        return x @ self.w


class SquaredWeight(eqx.Module):
    """h(x; w) = w^2 * sum(x): a one-parameter model with a known tangent kernel 4 w^2 s s^T."""

    w: jax.Array

    def __call__(self, x):
        return self.w**2 * jnp.sum(x, axis=1)


def _train_both(model0, alpha, steps=50, lr=0.1):
    x = jax.random.normal(jax.random.PRNGKey(0), (12, 5))
    y = jnp.sin(x[:, 0])
    ones = jax.tree.map(lambda _: 1.0, eqx.filter(model0, eqx.is_inexact_array))
    model = twin = lazy.zero_displacement(model0)
    for _ in range(steps):
        model = lazy.gradient_step(lazy.centred_output, model0, model, alpha, lr, ones, x, y)
        twin = lazy.gradient_step(lazy.linearized_output, model0, twin, alpha, lr, ones, x, y)
    return x, model, twin


def test_linear_model_twin_gap_is_zero():
    model0 = LinearFeatures(jax.random.normal(jax.random.PRNGKey(1), (5,)))
    x, model, twin = _train_both(model0, alpha=3.0)
    fitted = lazy.centred_output(model0, model, 3.0, x)
    assert float(jnp.max(jnp.abs(fitted))) > 0.1  # it did train
    assert float(lazy.rms_distance(fitted, lazy.linearized_output(model0, twin, 3.0, x))) < 1e-5


def test_linear_model_kernel_drift_is_zero():
    model0 = LinearFeatures(jax.random.normal(jax.random.PRNGKey(1), (5,)))
    x, model, _ = _train_both(model0, alpha=1.0)
    drift = kernel_drift(empirical_ntk(model0, x), empirical_ntk(lazy.displaced(model0, model), x))
    assert float(drift) < 1e-6


def test_kernel_drift_known_answer():
    x = jnp.array([[1.0, 2.0], [0.5, -1.0]])
    kernel = empirical_ntk(SquaredWeight(jnp.array(1.0)), x)
    sums = jnp.sum(x, axis=1)
    np.testing.assert_allclose(kernel, 4.0 * jnp.outer(sums, sums), rtol=1e-6)
    # Doubling w multiplies the kernel by 4, so the relative drift is 3.
    drift = kernel_drift(kernel, empirical_ntk(SquaredWeight(jnp.array(2.0)), x))
    assert float(drift) == pytest.approx(3.0, rel=1e-6)


def test_centred_output_starts_at_zero():
    model0 = SquaredWeight(jnp.array(1.5))
    x = jnp.ones((3, 2))
    zero = lazy.zero_displacement(model0)
    assert float(jnp.max(jnp.abs(lazy.centred_output(model0, zero, 50.0, x)))) == 0.0


def test_linearized_output_is_first_order():
    model0 = SquaredWeight(jnp.array(1.5))
    x = jnp.ones((3, 2))
    step = SquaredWeight(jnp.array(0.01))
    # d/dw (w^2 * 2) = 4 w = 6 at w = 1.5; alpha = 2 doubles it.
    np.testing.assert_allclose(lazy.linearized_output(model0, step, 2.0, x), 2.0 * 6.0 * 0.01, rtol=1e-5)


def test_nonlinear_gap_falls_like_one_over_alpha():
    model0 = SquaredWeight(jnp.array(1.0))
    gaps = []
    for alpha in (10.0, 100.0):
        # The kernel is about 4 * 5 = 20 per point, so a step of 0.01 is stable.
        x, model, twin = _train_both(model0, alpha, steps=20, lr=0.01)
        gaps.append(float(lazy.rms_distance(lazy.centred_output(model0, model, alpha, x),
                                            lazy.linearized_output(model0, twin, alpha, x))))
    assert gaps[0] > 0
    assert gaps[0] / gaps[1] == pytest.approx(10.0, rel=0.1)


def test_lazy_table_rows():
    class Lazy:
        bias_init, init_scale = 0.5, 2.0

    table = lazy.lazy_table(d=4, width=16, layers=2, config=Lazy())
    hidden, readout = table.weights
    assert (hidden.init_std, hidden.forward_multiplier, hidden.lr_multiplier) == (2.0, 0.5, 1.0)
    assert (readout.init_std, readout.forward_multiplier, readout.lr_multiplier) == (2.0, 0.25, 1.0)
    assert (table.biases[0].init_std, table.biases[0].lr_multiplier) == (1.0, 1.0)


def test_growth_exponent_known_answer():
    steps = np.arange(0, 1001, 10)
    assert growth_exponent(steps, 0.3 * steps**0.75, 0.1) == pytest.approx(0.75, abs=1e-9)
    assert math.isnan(growth_exponent(steps[:2], steps[:2] * 1.0, 0.1))


def test_lazy_program_curves(write_spec):
    plan = build_plans(write_spec(LAZY_SPEC, "lazy.wall"))[0]
    # Train both alphas in one program (the plan keeps one per alpha) to compare them.
    program = Program("both", plan.runs)
    result = LazyProgram(program).run()
    gap, drift = result.curves["twin_gap"], result.curves["kernel_drift"]
    assert list(result.steps) == list(range(0, 201, 20))
    assert np.all(gap[:, 0] == 0.0)
    assert np.all(np.diff(gap, axis=1) >= 0)  # a running maximum
    assert np.all(drift[:, 0] < 1e-6)  # float32 recomputation of K_0
    assert np.all(result.test_loss[:, -1] < result.test_loss[:, 0])

    # Runs that differ only in alpha share w0 and data: the gap at T scales like 1/alpha.
    alphas = [run.config.parametrization.alpha for run in program.runs]
    for seed in (0, 1):
        small, large = (next(i for i, run in enumerate(program.runs)
                             if run.config.seed == seed and alphas[i] == a) for a in (10.0, 100.0))
        assert 5.0 < gap[small, -1] / gap[large, -1] < 20.0
        assert 5.0 < drift[small, -1] / drift[large, -1] < 20.0


def test_lazy_needs_full_batch(write_spec):
    text = LAZY_SPEC.replace("batch = 16  samples = 16", "batch = 8  samples = 16")
    with pytest.raises(SpecError) as caught:
        build_plans(write_spec(text, "minibatch.wall"))
    assert any(d.code == "E0604" and "full-batch" in d.message for d in caught.value.diagnostics)


def test_twin_gap_needs_lazy(write_spec):
    text = LAZY_SPEC.replace("parametrization lazy { alpha = scale }", "parametrization ntk {}")
    with pytest.raises(SpecError) as caught:
        build_plans(write_spec(text, "not_lazy.wall"))
    assert any(d.code == "E0604" and "twin_gap" in d.message for d in caught.value.diagnostics)


def test_lazy_spec_end_to_end(write_spec, tmp_path):
    from wall.runtime.cli import main

    text = LAZY_SPEC.rstrip().removesuffix("}") + """
  analyze gap_vs_alpha {
    fit = power_law(y = twin_gap, x = parametrization.alpha)
    bootstrap = 50
    expect exponent in -1.3 .. -0.7
  }
  analyze gap_vs_time {
    fit = mean(y = twin_gap_growth)
    bootstrap = 50
    expect mean <= 2.5
  }
}
"""
    out = tmp_path / "out"
    assert main(["run", str(write_spec(text, "lazy_e2e.wall")), "--out", str(out)]) == 0
    folder = out / "lazy_tiny"
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["runs"]["finished"] == 4
    gap_fit, growth = summary["analyses"]
    assert gap_fit["predicted"] == -1.0
    assert all(e["held"] for e in gap_fit["expectations"]), gap_fit
    assert growth["result"]["mean"] > 0

    run_folder = next((folder / "runs").iterdir())
    measurements = json.loads((run_folder / "result.json").read_text())["measurements"]
    assert set(measurements) >= {"twin_gap", "twin_gap_growth", "kernel_drift"}
    with np.load(run_folder / "metrics.npz") as metrics:
        assert set(metrics.files) >= {"step", "test_loss", "train_loss", "twin_gap", "twin_distance", "kernel_drift"}
    html = (folder / "report.html").read_text()
    assert "Lazy training in time" in html
    assert "Leap(f)" not in html


def test_lazy_program_without_twin(write_spec):
    text = (LAZY_SPEC.replace("alpha = scale }", "alpha = scale  twin = false }")
            .replace("  measure twin_gap {}\n", ""))
    plan = build_plans(write_spec(text, "no_twin.wall"))[0]
    result = LazyProgram(plan.programs[0]).run()
    assert "twin_gap" not in result.curves
    assert "twin_distance" not in result.curves
    assert result.curves["kernel_drift"].shape == result.test_loss.shape
