"""Networks as Equinox modules, and the parametrizations that initialise and scale them."""

from __future__ import annotations

import dataclasses
import math

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "gelu": jax.nn.gelu,
    "softplus": jax.nn.softplus,
}


class TwoLayer(eqx.Module):
    """f(x) = readout_scale * sum_j a_j act(<w_j, x> + b_j)."""

    w: Float[Array, "m d"]
    b: Float[Array, " m"] | None
    a: Float[Array, " m"]
    activation: str = eqx.field(static=True)
    readout_scale: float = eqx.field(static=True)

    def __call__(self, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        preactivation = x @ self.w.T
        if self.b is not None:
            preactivation = preactivation + self.b
        hidden = ACTIVATIONS[self.activation](preactivation)
        return self.readout_scale * (hidden @ self.a)


@dataclasses.dataclass(frozen=True)
class LayerScaling:
    """One row of a parametrization table: the init scale and learning-rate multiplier of
    one parameter. `distribution` is "normal" (std init_std) or "sign" (+-init_std)."""

    init_std: float
    lr_multiplier: float
    distribution: str = "normal"

    def sample(self, key: PRNGKeyArray, shape: tuple[int, ...]) -> Array:
        if self.distribution == "sign":
            return self.init_std * jax.random.rademacher(key, shape, dtype=jnp.float32)
        return self.init_std * jax.random.normal(key, shape)


def mean_field_table(d: int, width: int, config) -> dict[str, LayerScaling]:
    """Mean-field: readout scaled by 1/m and every learning rate by m, so each neuron
    moves at rate lr however wide the net is."""
    return {
        "w": LayerScaling(1.0 / math.sqrt(d), float(width)),
        "b": LayerScaling(config.bias_init, float(width)),
        "a": LayerScaling(config.readout_init, float(width), config.readout_distribution),
    }


def build_two_layer(key: PRNGKeyArray, d: int, width: int, activation: str, bias: bool,
                    table: dict[str, LayerScaling], readout_scale: float) -> TwoLayer:
    kw, kb, ka = jax.random.split(key, 3)
    w = table["w"].sample(kw, (width, d))
    b = table["b"].sample(kb, (width,)) if bias else None
    a = table["a"].sample(ka, (width,))
    return TwoLayer(w, b, a, activation, readout_scale)


def lr_multipliers(model: TwoLayer, table: dict[str, LayerScaling]) -> TwoLayer:
    """A pytree shaped like the model's parameters holding each one's learning-rate multiplier."""
    return TwoLayer(table["w"].lr_multiplier, None if model.b is None else table["b"].lr_multiplier,
                    table["a"].lr_multiplier, model.activation, model.readout_scale)


def init_model(key: PRNGKeyArray, config) -> tuple[TwoLayer, TwoLayer]:
    """Initialise the network of a run configuration; return it and its lr multipliers."""
    d = config.target.domain.d
    width = config.model.width
    table = mean_field_table(d, width, config.parametrization)
    model = build_two_layer(key, d, width, config.model.activation, config.model.bias, table, 1.0 / width)
    return model, lr_multipliers(model, table)
