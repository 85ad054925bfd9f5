"""Lazy training: the centred, scaled model alpha * (h(w) - h(w0)) trained beside its linearization.

The base network h is a two-layer net in NTK scaling (the `lazy` table below). The model

    f_alpha(x; w) = alpha * (h(x; w) - h(x; w0))

starts at zero for every alpha, and is trained by full-batch gradient descent on the loss
(1 / (2 alpha^2)) * mean_i (f_alpha(x_i) - y_i)^2 over a fixed training set. With that loss
scaling the function-space dynamics at initialisation do not depend on alpha, while the
weights move by O(1 / alpha), so a large alpha keeps training close to its linearization.
The linearized twin

    f_lin(x; v) = alpha * Dh(x; w0) (v - w0)

starts at the same weights and is trained on the same samples with the same loss and step.

Both are stored as displacements from w0 (zero at the start), so that the twin's output is
an exact Jacobian-vector product and the two trajectories are directly comparable.
"""

from __future__ import annotations

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

from .models import Network, Table, architecture, build_network, lr_multipliers, ntk_table


def lazy_table(d: int, width: int, layers: int, config) -> Table:
    """Return the table of the base network h in NTK scaling: weights N(0, s^2), forward multiplier
    1 / sqrt(fan_in) on every layer, biases N(0, (s * bias_init)^2), s = init_scale.

    Every learning-rate multiplier is 1, because the 1/alpha^2 in the loss already makes
    the function-space step independent of alpha. The output multiplier alpha and the
    centring are applied on top of this table by `centred_output`.
    """
    return ntk_table(d, width, layers, config)


def init_base_network(key: PRNGKeyArray, config) -> tuple[Network, Network]:
    """Initialise the base network h at w0 of a lazy run; return it and its lr multipliers."""
    d = config.target.domain.d
    width, layers, residual = architecture(config)
    table = lazy_table(d, width, layers, config.parametrization)
    model = build_network(key, d, width, layers, residual, config.model.activation, config.model.bias, table)
    return model, lr_multipliers(model, table)


def zero_displacement(model: eqx.Module) -> eqx.Module:
    """A model-shaped pytree of zeros: the starting displacement w - w0."""
    return jax.tree.map(jnp.zeros_like, eqx.filter(model, eqx.is_inexact_array))


def displaced(model0: eqx.Module, displacement: eqx.Module) -> eqx.Module:
    return eqx.apply_updates(model0, displacement)


def centred_output(model0: eqx.Module, displacement: eqx.Module, alpha, x: Float[Array, "n d"]):
    """f_alpha(x) = alpha * (h(x; w0 + displacement) - h(x; w0))."""
    return alpha * (displaced(model0, displacement)(x) - model0(x))


def linearized_output(model0: eqx.Module, displacement: eqx.Module, alpha, x: Float[Array, "n d"]):
    """f_lin(x) = alpha * Dh(x; w0) displacement, one forward-mode Jacobian-vector product."""
    parameters, static = eqx.partition(model0, eqx.is_inexact_array)

    def network(p):
        return eqx.combine(p, static)(x)

    _, tangent = jax.jvp(network, (parameters,), (eqx.filter(displacement, eqx.is_inexact_array),))
    return alpha * tangent


def lazy_loss(output: Float[Array, " n"], y: Float[Array, " n"], alpha) -> Float[Array, ""]:
    """(1 / (2 alpha^2)) * mean squared error of the scaled model."""
    return 0.5 * jnp.mean((output - y) ** 2) / alpha**2


def gradient_step(forward, model0, displacement, alpha, lr, multipliers, x, y):
    """One full-batch gradient-descent step on the lazy loss of `forward` (centred or linearized)."""

    def loss(delta):
        return lazy_loss(forward(model0, delta, alpha, x), y, alpha)

    grads = jax.grad(loss)(displacement)
    return jax.tree.map(lambda delta, g, scale: delta - lr * scale * g, displacement, grads, multipliers)


def rms_distance(a: Float[Array, " n"], b: Float[Array, " n"]) -> Float[Array, ""]:
    """sqrt(mean (a - b)^2): the L2 distance of two functions under the test distribution."""
    return jnp.sqrt(jnp.mean((a - b) ** 2))
