"""Input distributions and targets as JAX functions."""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, PRNGKeyArray

from wall.lang.polynomial import Expansion
from wall.lang.values import Domain

from . import threefry


def sample_inputs(key: PRNGKeyArray, domain: Domain, n: int) -> Float[Array, "n d"]:
    shape = (n, domain.d)
    if domain.kind == "hypercube":
        return random_signs(key, shape)
    if domain.kind == "biased_hypercube":
        p = domain.p
        # A word below p * 2^32 is a one with probability p, to within 2^-32.
        threshold = np.uint32(min(round(p * 2**32), 2**32 - 1))
        bits = (threefry.random_words(key, n * domain.d) < threshold).astype(jnp.float32).reshape(shape)
        return (bits - p) / math.sqrt(p * (1 - p))
    if domain.kind == "gaussian":
        return threefry.normal(key, shape)
    raise ValueError(f"unknown domain kind {domain.kind!r}")


def random_signs(key: PRNGKeyArray, shape: tuple[int, ...]) -> Float[Array, "..."]:
    """Independent uniform +-1 entries, 32 of them from each random 32-bit word.

    `jax.random.rademacher` spends a whole word, a float conversion and a comparison per
    sign, 10x the time of this unpacking. Every bit of a threefry output is an independent
    fair coin, so one word gives 32 signs.
    """
    count = math.prod(shape)
    words = threefry.random_words(key, -(-count // 32))
    flags = (words[:, None] >> jnp.arange(32, dtype=jnp.uint32)) & 1
    return (1.0 - 2.0 * flags.astype(jnp.float32)).reshape(-1)[:count].reshape(shape)


@dataclasses.dataclass(frozen=True)
class TargetFunction:
    """A target in its orthonormal basis, as padded index arrays for fast evaluation.

    Term t is the product over its slots k of basis_{degree[t,k]}(x[:, index[t,k]]);
    padding slots have degree 0, whose basis function is the constant 1.
    """

    basis: str
    index: np.ndarray  # (terms, slots) int32, 0-based coordinates
    degree: np.ndarray  # (terms, slots) int32
    coefficient: np.ndarray  # (terms,) float32

    @classmethod
    def from_expansion(cls, expansion: Expansion) -> "TargetFunction":
        terms = sorted(expansion.coefficients.items())
        slots = max((len(term) for term, _ in terms), default=0) or 1
        index = np.zeros((len(terms), slots), np.int32)
        degree = np.zeros((len(terms), slots), np.int32)
        for t, (term, _) in enumerate(terms):
            for k, (coordinate, power) in enumerate(term):
                index[t, k] = coordinate - 1
                degree[t, k] = power
        coefficient = np.array([c for _, c in terms], np.float32)
        return cls(expansion.basis, index, degree, coefficient)

    def __call__(self, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return self.term_values(x) @ self.coefficient

    def term_values(self, x: Float[Array, "n d"]) -> Float[Array, "n terms"]:
        """Each term's orthonormal basis function chi_S (or normalised Hermite product) at x."""
        gathered = x[:, self.index]  # (n, terms, slots)
        return jnp.prod(self._basis_values(gathered), axis=-1)

    def term_names(self) -> list[str]:
        """Readable names of the terms, in order: `x1x2`, `He2(z1)z2`."""
        names = []
        for index, degree in zip(self.index, self.degree):
            factors = [_factor_name(self.basis, int(i) + 1, int(k)) for i, k in zip(index, degree) if k > 0]
            names.append("".join(factors) or "1")
        return names

    def _basis_values(self, gathered):
        degree = jnp.asarray(self.degree)
        if self.basis == "walsh":
            return jnp.where(degree == 0, 1.0, gathered)
        return _normalized_hermite(gathered, degree, int(self.degree.max(initial=0)))


def _factor_name(basis: str, coordinate: int, degree: int) -> str:
    if basis == "walsh":
        return f"x{coordinate}"
    return f"z{coordinate}" if degree == 1 else f"He{degree}(z{coordinate})"


def _normalized_hermite(z, degree, max_degree: int):
    # He_{k+1} = z He_k - k He_{k-1}; h_k = He_k / sqrt(k!).
    values = [jnp.ones_like(z), z]
    for k in range(1, max_degree):
        values.append(z * values[k] - k * values[k - 1])
    result = jnp.ones_like(z)
    for k in range(1, max_degree + 1):
        result = jnp.where(degree == k, values[k] / math.sqrt(math.factorial(k)), result)
    return result
