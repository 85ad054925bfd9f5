"""The empirical neural tangent kernel of a network on a probe set, and how far it drifts in training.

K(x, x') = <grad_w h(x; w), grad_w h(x'; w)>, summed over every trainable array of the model.
The drift ||K_t - K_0||_F / ||K_0||_F does not depend on a constant factor in front of h, so
the lazy model alpha * (h(w) - h(w0)) and its base network h have the same drift.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float


def tangent_features(model: eqx.Module, x: Float[Array, "n d"]) -> Float[Array, "n p"]:
    """Compute the Jacobian of the model's outputs on x with respect to all its parameters, flattened."""
    parameters, static = eqx.partition(model, eqx.is_inexact_array)
    flat, unravel = ravel_pytree(parameters)

    def outputs(theta):
        return eqx.combine(unravel(theta), static)(x)

    return jax.jacrev(outputs)(flat)


def empirical_ntk(model: eqx.Module, x: Float[Array, "n d"]) -> Float[Array, "n n"]:
    features = tangent_features(model, x)
    return features @ features.T


def kernel_drift(initial: Float[Array, "n n"], current: Float[Array, "n n"]) -> Float[Array, ""]:
    """Relative Frobenius distance ||K_t - K_0||_F / ||K_0||_F."""
    return jnp.linalg.norm(current - initial) / jnp.linalg.norm(initial)
