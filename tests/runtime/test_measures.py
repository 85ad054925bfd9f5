"""Measurements on cases whose values are known exactly."""

from __future__ import annotations

import itertools
import math

import jax.numpy as jnp
import numpy as np

from wall.compiler.plan import build_plans
from wall.runtime.data import TargetFunction
from wall.runtime.measures import (coefficient_measurement, crossing_steps, find_plateaus, plateau_measurement,
                                   stable_rank)
from wall.runtime.models import Network
from wall.runtime.program import CompiledProgram, _top_singular_values, _weight_change

SPEC = """
wall 0.1
experiment known {{
  target {{ domain = {domain}  f = {f} }}
  model mlp2 {{ width = 4  activation = "quadratic" }}
  parametrization standard {{}}
  train {{ lr = 0.1  batch = 4  steps = 10 }}
  measure test_loss {{ every = 5  samples = 64 }}
  measure coefficients {{}}
  measure plateaus plateau {{ tolerance = 0.1  min_fraction = 0.2  above = 0.1 }}
}}
"""


def compiled(write_spec, domain: str, f: str) -> CompiledProgram:
    plan = build_plans(write_spec(SPEC.format(domain=domain, f=f), "known.wall"))[0]
    return CompiledProgram(plan.programs[0])


def square_of_sum(d: int, coordinates: list[int]) -> Network:
    """The network (sum_{i in coordinates} x_i)^2: one quadratic neuron, readout 1."""
    w = np.zeros((d, 1), np.float32)  # stored (fan_in, fan_out)
    w[coordinates, 0] = 1.0
    return Network((jnp.asarray(w),), (None,), jnp.ones(1), (1.0,), 1.0, "quadratic", False)


def test_coefficients_of_known_polynomial_network(write_spec):
    # (x1 + x2)^2 = 2 + 2 x1 x2 on the hypercube: coefficient 0 on x1 and 2 on x1x2,
    # exactly, when the test set is the whole cube.
    program = compiled(write_spec, "hypercube(3)", "x1 + x1*x2")
    cube = jnp.asarray(list(itertools.product([-1.0, 1.0], repeat=3)))
    data = {"test_x": cube, "test_y": program.target(cube), "test_basis": program.target.term_values(cube)}
    logged = program._log(square_of_sum(3, [0, 1]), data)
    assert program.target.term_names() == ["x1", "x1x2"]
    np.testing.assert_allclose(logged["coefficients"], [0.0, 2.0], atol=1e-6)


def test_hermite_coefficients_on_gaussian_data(write_spec):
    # z1^2 = 1 + sqrt(2) h2(z1) with h2 the normalised Hermite polynomial.
    program = compiled(write_spec, "gaussian(2)", "He2(z1) + z2")
    _, _, data = program._init_run(program.keys[0])
    logged = program._log(square_of_sum(2, [0]), data)
    names = program.target.term_names()
    coefficients = dict(zip(names, np.asarray(logged["coefficients"])))
    assert abs(coefficients["He2(z1)"] - math.sqrt(2)) < 0.5  # 64 test samples: a loose check
    assert abs(coefficients["z2"]) < 0.5


def test_learning_times_and_staircase_order(write_spec):
    program = compiled(write_spec, "hypercube(4)", "x1 + x1*x2 + x1*x2*x3")
    config = program.config
    steps = np.arange(6) * 10
    # Terms in basis order x1, x1x2, x1x2x3 reach half their target at steps 10, 30, 50.
    curve = np.array([[0, 0, 0], [0.6, 0, 0], [0.9, 0.2, 0], [1, 0.5, 0.1], [1, 0.8, 0.3], [1, 1, 0.7]])
    found = coefficient_measurement(steps, curve, config, 0.5)
    assert found["terms"] == ["x1", "x1x2", "x1x2x3"]
    assert found["learned_step"] == [10.0, 30.0, 50.0]
    assert found["in_order"] and found["ratio"] == 5.0
    swapped = curve[:, [1, 0, 2]]  # x1x2 first: out of order
    assert not coefficient_measurement(steps, swapped, config, 0.5)["in_order"]
    assert crossing_steps(steps, -curve, np.ones(3), 0.5) == [math.inf] * 3  # the sign counts


def test_plateau_of_a_piecewise_constant_loss():
    steps = np.arange(100) * 10
    loss = np.concatenate([np.full(10, 1.0), np.full(50, 0.5), np.full(40, 0.01)])
    plateaus = find_plateaus(steps, loss, tolerance=0.1, min_steps=80)
    levels = [round(p["level"], 3) for p in plateaus]
    assert levels == [1.0, 0.5, 0.01]
    middle = plateaus[1]
    assert abs(middle["start"] - 100) <= 30
    assert abs(middle["end"] - 590) <= 30


def test_plateau_measurement_picks_the_longest_in_range(write_spec):
    measure = compiled(write_spec, "hypercube(3)", "x1").config.measures["plateau"][1]
    steps = np.arange(100) * 10
    loss = np.concatenate([np.full(10, 1.0), np.full(50, 0.5), np.full(40, 0.01)])
    found = plateau_measurement(steps, loss, measure, total_steps=1000)
    assert found["value"] == 0.5  # the plateau at 1.0 is above `below` = 0.95
    assert found["steps"] > 400


def test_rank_one_update_has_stable_rank_one():
    rng = np.random.default_rng(0)
    w0 = jnp.asarray(rng.normal(size=(6, 5)), jnp.float32)
    u, v = rng.normal(size=6), rng.normal(size=5)
    model = Network((w0 + jnp.outer(u, v),), (None,), jnp.ones(6), (1.0,), 1.0, "relu", False)
    singular, norms = _weight_change(model, (w0,), top=3)
    np.testing.assert_allclose(stable_rank(np.asarray(singular), np.asarray(norms)), [1.0], rtol=1e-4)
    # The Gram matrix squares singular values, so in float32 a zero one comes out near
    # sqrt(eps) = 3.5e-4 of the largest (4.9e-4 here), not at eps.
    assert float(singular[0, 1]) < 3e-3 * float(singular[0, 0])


def test_orthogonal_rank_two_update_has_stable_rank_two():
    w0 = jnp.zeros((4, 4))
    change = jnp.diag(jnp.asarray([3.0, 3.0, 0.0, 0.0]))
    model = Network((w0 + change,), (None,), jnp.ones(4), (1.0,), 1.0, "relu", False)
    singular, norms = _weight_change(model, (w0,), top=4)
    np.testing.assert_allclose(stable_rank(np.asarray(singular), np.asarray(norms)), [2.0], rtol=1e-5)


def test_term_names_in_both_bases(write_spec):
    assert TargetFunction.from_expansion(
        compiled(write_spec, "gaussian(3)", "He3(z1)*z2").config.target.expansion()).term_names() == ["He3(z1)z2"]


def test_power_iteration_matches_numpy_svd():
    # Well separated singular values 9, 5, 2, 1 are recovered to 0.1%.
    rng = np.random.default_rng(1)
    left, _ = np.linalg.qr(rng.normal(size=(12, 4)))
    right, _ = np.linalg.qr(rng.normal(size=(6, 4)))
    matrix = left @ np.diag([9.0, 5.0, 2.0, 1.0]) @ right.T
    values = np.asarray(_top_singular_values(jnp.asarray(matrix, jnp.float32), top=6))
    np.testing.assert_allclose(values[:4], [9.0, 5.0, 2.0, 1.0], rtol=1e-3)
    # Deflation leaves a float32 residual of about 1e-5 in the Gram matrix, whose square
    # root shows up as a singular value near 3e-3 where the true one is 0.
    np.testing.assert_allclose(values[4:], 0.0, atol=1e-2)
