"""Polynomial targets: exact arithmetic in the power basis, and the orthonormal expansions
that the theory and the runtime use (Walsh-Fourier on the hypercube, Hermite on Gaussians).

Coordinates are 1-based, as theorists write them: `x1` is coordinate 1.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Iterable

# A monomial is a sorted tuple of (coordinate, power) pairs; () is the constant.
Monomial = tuple[tuple[int, int], ...]

TOLERANCE = 1e-12


def _multiply_monomials(a: Monomial, b: Monomial) -> Monomial:
    powers = dict(a)
    for coordinate, power in b:
        powers[coordinate] = powers.get(coordinate, 0) + power
    return tuple(sorted(powers.items()))


class Polynomial:
    """A real polynomial in input coordinates, stored in the power basis."""

    __slots__ = ("terms",)

    def __init__(self, terms: dict[Monomial, float] | None = None):
        self.terms = {m: c for m, c in (terms or {}).items() if abs(c) > TOLERANCE}

    @classmethod
    def coordinate(cls, index: int) -> "Polynomial":
        return cls({((index, 1),): 1.0})

    @classmethod
    def constant(cls, value: float) -> "Polynomial":
        return cls({(): float(value)})

    @classmethod
    def hermite(cls, degree: int, index: int) -> "Polynomial":
        """The probabilists' Hermite polynomial He_degree of coordinate `index`."""
        terms = {}
        for m in range(degree // 2 + 1):
            coefficient = (-1) ** m * math.factorial(degree) / (
                math.factorial(m) * math.factorial(degree - 2 * m) * 2**m)
            power = degree - 2 * m
            terms[((index, power),) if power else ()] = coefficient
        return cls(terms)

    # Arithmetic.

    def __add__(self, other) -> "Polynomial":
        other = _lift(other)
        terms = dict(self.terms)
        for monomial, coefficient in other.terms.items():
            terms[monomial] = terms.get(monomial, 0.0) + coefficient
        return Polynomial(terms)

    __radd__ = __add__

    def __neg__(self) -> "Polynomial":
        return Polynomial({m: -c for m, c in self.terms.items()})

    def __sub__(self, other) -> "Polynomial":
        return self + (-_lift(other))

    def __rsub__(self, other) -> "Polynomial":
        return _lift(other) + (-self)

    def __mul__(self, other) -> "Polynomial":
        other = _lift(other)
        terms: dict[Monomial, float] = {}
        for ma, ca in self.terms.items():
            for mb, cb in other.terms.items():
                monomial = _multiply_monomials(ma, mb)
                terms[monomial] = terms.get(monomial, 0.0) + ca * cb
        return Polynomial(terms)

    __rmul__ = __mul__

    def __truediv__(self, other) -> "Polynomial":
        if isinstance(other, Polynomial):
            if not other.is_constant():
                raise ValueError("a polynomial can only be divided by a number")
            other = other.constant_value()
        return Polynomial({m: c / other for m, c in self.terms.items()})

    def __pow__(self, exponent: int) -> "Polynomial":
        if not isinstance(exponent, int) or exponent < 0:
            raise ValueError("a polynomial can only be raised to a non-negative integer power")
        result = Polynomial.constant(1.0)
        for _ in range(exponent):
            result = result * self
        return result

    def __eq__(self, other) -> bool:
        return isinstance(other, Polynomial) and _close_terms(self.terms, other.terms)

    def __hash__(self):
        return hash(tuple(sorted((m, round(c, 9)) for m, c in self.terms.items())))

    # Queries.

    def is_constant(self) -> bool:
        return all(m == () for m in self.terms)

    def constant_value(self) -> float:
        return self.terms.get((), 0.0)

    def coordinates(self) -> set[int]:
        return {i for m in self.terms for i, _ in m}

    def max_coordinate(self) -> int:
        return max(self.coordinates(), default=0)

    def __repr__(self) -> str:
        return f"Polynomial({format_power_basis(self)})"


def _lift(value) -> Polynomial:
    if isinstance(value, Polynomial):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float, Fraction)):
        raise TypeError(f"cannot combine a polynomial with {type(value).__name__}")
    return Polynomial.constant(float(value))


def _close_terms(a: dict, b: dict) -> bool:
    keys = set(a) | set(b)
    return all(abs(a.get(k, 0.0) - b.get(k, 0.0)) <= 1e-9 for k in keys)


def format_power_basis(polynomial: Polynomial) -> str:
    if not polynomial.terms:
        return "0"
    parts = []
    for monomial, coefficient in sorted(polynomial.terms.items(), key=lambda t: (len(t[0]), t[0])):
        factors = "*".join(f"x{i}" + (f"^{p}" if p > 1 else "") for i, p in monomial)
        parts.append(_format_term(coefficient, factors))
    return " + ".join(parts).replace("+ -", "- ")


def _format_term(coefficient: float, factors: str) -> str:
    if not factors:
        return f"{coefficient:g}"
    if abs(coefficient - 1.0) < 1e-12:
        return factors
    if abs(coefficient + 1.0) < 1e-12:
        return "-" + factors
    return f"{coefficient:g}*{factors}"


# Orthonormal expansions. A basis term is a sorted tuple of (coordinate, degree) pairs:
# on the hypercube every degree is 1 (the Walsh character chi_S); on Gaussian data the
# term is the product of normalised Hermite polynomials He_k(z_i) / sqrt(k!).


class Expansion:
    """Coefficients of a target in the orthonormal basis of its input distribution."""

    def __init__(self, basis: str, coefficients: dict[Monomial, float]):
        self.basis = basis
        self.coefficients = {t: c for t, c in coefficients.items() if abs(c) > 1e-10}

    def support(self) -> list[Monomial]:
        return sorted((t for t in self.coefficients if t), key=lambda t: (len(t), t))

    def variance(self) -> float:
        return sum(c * c for t, c in self.coefficients.items() if t)

    def mean(self) -> float:
        return self.coefficients.get((), 0.0)

    def degree(self) -> int:
        return max((sum(k for _, k in t) for t in self.coefficients), default=0)

    def to_json(self) -> list:
        return [[[list(pair) for pair in term], coefficient]
                for term, coefficient in sorted(self.coefficients.items())]

    def describe(self) -> str:
        letter = "z" if self.basis == "hermite" else "x"
        parts = []
        for term in sorted(self.coefficients, key=lambda t: (len(t), t)):
            parts.append(_format_term(self.coefficients[term], _format_basis_term(term, letter, self.basis)))
        return " + ".join(parts).replace("+ -", "- ") if parts else "0"


def _format_basis_term(term: Monomial, letter: str, basis: str) -> str:
    if basis == "hermite":
        return "*".join(f"{letter}{i}" if k == 1 else f"h{k}({letter}{i})" for i, k in term)
    return "*".join(f"{letter}{i}" for i, _ in term)


def expand_on_hypercube(polynomial: Polynomial, bias: float | None = None) -> Expansion:
    """Walsh expansion on the uniform or biased (standardised Bernoulli) hypercube.

    A standardised coordinate s = (b - p)/sqrt(p(1-p)) with b ~ Ber(p) satisfies
    s^2 = 1 + gamma*s with gamma = (1 - 2p)/sqrt(p(1-p)); gamma = 0 on the uniform cube.
    """
    gamma = 0.0 if bias is None else (1 - 2 * bias) / math.sqrt(bias * (1 - bias))
    result = Polynomial.constant(0.0)
    for monomial, coefficient in polynomial.terms.items():
        term = Polynomial.constant(coefficient)
        for coordinate, power in monomial:
            term = term * _reduce_power(coordinate, power, gamma)
        result = result + term
    coefficients = {tuple((i, 1) for i, _ in m): c for m, c in result.terms.items()}
    return Expansion("walsh", coefficients)


def _reduce_power(coordinate: int, power: int, gamma: float) -> Polynomial:
    # s^n = a_n + b_n s, from s^2 = 1 + gamma*s: s^(n+1) = b_n + (a_n + gamma*b_n) s.
    a, b = 1.0, 0.0
    for _ in range(power):
        a, b = b, a + gamma * b
    return Polynomial({(): a, ((coordinate, 1),): b})


def expand_on_gaussian(polynomial: Polynomial) -> Expansion:
    """Expansion in normalised Hermite polynomials h_k = He_k / sqrt(k!)."""
    coefficients: dict[Monomial, float] = {}
    for monomial, coefficient in polynomial.terms.items():
        partial = {(): coefficient}
        for coordinate, power in monomial:
            partial = _times_power_in_hermite(partial, coordinate, power)
        for term, value in partial.items():
            coefficients[term] = coefficients.get(term, 0.0) + value
    return Expansion("hermite", coefficients)


def _times_power_in_hermite(partial: dict, coordinate: int, power: int) -> dict:
    # z^n = sum_m n! / (m! (n-2m)! 2^m) He_{n-2m}(z), and He_k = sqrt(k!) h_k.
    result: dict[Monomial, float] = {}
    for m in range(power // 2 + 1):
        degree = power - 2 * m
        weight = math.factorial(power) / (math.factorial(m) * math.factorial(degree) * 2**m)
        weight *= math.sqrt(math.factorial(degree))
        for term, value in partial.items():
            new_term = tuple(sorted(term + ((coordinate, degree),))) if degree else term
            result[new_term] = result.get(new_term, 0.0) + value * weight
    return result


def expand(polynomial: Polynomial, domain_kind: str, bias: float | None = None) -> Expansion:
    if domain_kind == "gaussian":
        return expand_on_gaussian(polynomial)
    if domain_kind == "biased_hypercube":
        return expand_on_hypercube(polynomial, bias)
    return expand_on_hypercube(polynomial)


def hermite_terms_as_polynomial(terms: Iterable[tuple[Monomial, float]]) -> Polynomial:
    """Rebuild a power-basis polynomial from normalised Hermite coefficients (for tests)."""
    result = Polynomial.constant(0.0)
    for term, coefficient in terms:
        piece = Polynomial.constant(coefficient)
        for coordinate, degree in term:
            piece = piece * Polynomial.hermite(degree, coordinate) / math.sqrt(math.factorial(degree))
        result = result + piece
    return result
