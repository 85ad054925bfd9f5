from __future__ import annotations

import math

import pytest

from wall.compiler import theory
from wall.lang.parser import parse_expression
from wall.compiler.scopes import EVALUATOR
from wall.lang.polynomial import Polynomial, expand, expand_on_gaussian, hermite_terms_as_polynomial


def evaluate(text: str) -> Polynomial:
    return EVALUATOR.eval(parse_expression(text), EVALUATOR.root())


@pytest.mark.parametrize("text, leap", [
    ("x1 + x1*x2 + x1*x2*x3", 1),
    ("x1 + x1*x2*x3", 2),
    ("x1*x2*x3", 3),
    ("x1*x2", 2),
    ("x1", 1),
    ("x1 + x1*x2 + x1*x2*x3*x4", 2),
    ("x1 + x1*x2 + x1*x2*x3*x4*x5", 3),
    ("x1*x2 + x2*x3 + x3*x4", 2),
    ("x1 + x2 + x1*x2*x3", 1),
    ("x1 + x2*x3*x4", 3),
])
def test_leap_on_hypercube(text, leap):
    expansion = expand(evaluate(text), "hypercube")
    assert theory.leap(expansion).leap == leap


@pytest.mark.parametrize("text, leap", [
    ("He2(z1)", 2),
    ("He3(z1)", 3),
    ("z1*z2", 2),
    ("He2(z1)*z2", 3),
    ("z1 + He2(z1)*z2", 1),
    ("z1 + He2(z2)", 2),
])
def test_leap_on_gaussian_counts_degree(text, leap):
    expansion = expand(evaluate(text), "gaussian")
    assert theory.leap(expansion).leap == leap


def test_msp_is_leap_one():
    staircase = expand(evaluate("x1 + x1*x2 + x1*x2*x3"), "hypercube")
    sum_target = expand(evaluate("x1 + x1*x2*x3"), "hypercube")
    assert theory.is_msp(staircase)
    assert not theory.is_msp(sum_target)


def test_predicted_sample_exponent():
    for text, exponent in [("x1 + x1*x2 + x1*x2*x3", 1), ("x1 + x1*x2*x3", 1), ("x1*x2*x3", 2)]:
        assert theory.predicted_sample_exponent(expand(evaluate(text), "hypercube")) == exponent


def test_ordering_achieves_leap():
    result = theory.leap(expand(evaluate("x1*x2*x3 + x1 + x1*x2"), "hypercube"))
    assert result.order == (((1, 1),), ((1, 1), (2, 1)), ((1, 1), (2, 1), (3, 1)))
    assert result.costs == (1, 1, 1)


def test_hypercube_reduces_squares():
    expansion = expand(evaluate("x1^2 * x2 + x3^3"), "hypercube")
    assert expansion.coefficients == {((2, 1),): 1.0, ((3, 1),): 1.0}


def test_hermite_expansion_is_orthonormal():
    # z^2 = He2 + 1 = sqrt(2) h2 + 1, so Var(z^2) = 2.
    expansion = expand_on_gaussian(evaluate("z1^2"))
    assert math.isclose(expansion.variance(), 2.0)
    assert math.isclose(expansion.mean(), 1.0)
    rebuilt = hermite_terms_as_polynomial(expansion.coefficients.items())
    assert rebuilt == evaluate("z1^2")


def test_staircase_with_bounded_sum():
    staircase = evaluate("sum(i in 1..4: prod(j in 1..i: x[j])) / sqrt(4)")
    expansion = expand(staircase, "hypercube")
    assert len(expansion.support()) == 4
    assert math.isclose(expansion.variance(), 1.0)
    assert theory.leap(expansion).leap == 1


def test_biased_hypercube_variance():
    # Standardised coordinates have unit variance, and x1^2 = 1 + gamma x1.
    expansion = expand(evaluate("x1^2"), "biased_hypercube", 0.25)
    gamma = (1 - 0.5) / math.sqrt(0.25 * 0.75)
    assert math.isclose(expansion.mean(), 1.0)
    assert math.isclose(expansion.variance(), gamma**2)
