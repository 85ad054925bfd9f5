"""Networks as Equinox modules, and the parametrizations that initialise and scale them.

Every model kind is one `Network`: a stack of dense hidden layers (optionally residual)
and a linear readout. A parametrization is a table with one row per parameter: its init
scale, its forward multiplier and its learning-rate multiplier. Tables are registered
per parametrization kind in `PARAMETRIZATIONS`; a kind that needs more than a table (the
lazy one) registers its own initialiser in `INITIALIZERS`.

The tables below are for a net with input dimension d, hidden width m and L weight layers.
fan_in is d for the first layer and m after it, and s is `init_scale`.

| kind       | layer   | init std       | forward multiplier | lr multiplier |
|------------|---------|----------------|--------------------|---------------|
| standard   | every   | s / sqrt(fan_in) | 1                | 1             |
| ntk        | every   | s              | 1 / sqrt(fan_in)   | 1             |
| mean_field | hidden  | s / sqrt(fan_in) | 1                | m             |
| mean_field | readout | s * readout_init | 1 / m            | m             |
| mup        | input   | s / sqrt(m)    | sqrt(m / d)        | 1             |
| mup        | hidden  | s / sqrt(m)    | 1                  | 1             |
| mup        | readout | s / sqrt(m)    | 1 / sqrt(m)        | 1             |

Biases start at N(0, bias_init^2) (times s), have forward multiplier 1 and the
learning-rate multiplier of their layer.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, PRNGKeyArray

ACTIVATIONS = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "gelu": jax.nn.gelu,
    "softplus": jax.nn.softplus,
    "quadratic": lambda z: z * z,
    "cubic": lambda z: z * z * z,
}


class Network(eqx.Module):
    """f(x) = readout_multiplier * <a, h_L(x)> with h_0 = x and, per hidden layer l,
    h_l = act(multiplier_l * W_l h_{l-1} + b_l), or h_{l-1} + act(...) when residual
    (every hidden layer but the first, whose input has another size).

    Each W_l is stored transposed, as (fan_in, fan_out), so a batch multiplies it as
    `h @ w`. XLA's CPU backend then computes the vmapped weight gradient x^T @ delta
    straight into that layout. With (fan_out, fan_in) storage the same dot needed a
    transposed output, ran 4x slower and doubled the step time (docs/benchmarks.md).
    """

    weights: tuple
    biases: tuple
    readout: Float[Array, " m"]
    multipliers: tuple = eqx.field(static=True)  # forward multiplier of each W_l
    readout_multiplier: float = eqx.field(static=True)
    activation: str = eqx.field(static=True)
    residual: bool = eqx.field(static=True)

    def hidden(self, x: Float[Array, "n d"]) -> Float[Array, "n m"]:
        act = ACTIVATIONS[self.activation]
        h = x
        for layer, (w, b, multiplier) in enumerate(zip(self.weights, self.biases, self.multipliers)):
            preactivation = h @ w
            if multiplier != 1.0:
                preactivation = multiplier * preactivation
            if b is not None:
                preactivation = preactivation + b
            h = h + act(preactivation) if self.residual and layer > 0 else act(preactivation)
        return h

    def __call__(self, x: Float[Array, "n d"]) -> Float[Array, " n"]:
        return self.readout_multiplier * (self.hidden(x) @ self.readout)


def layer_count(model: Network) -> int:
    """Weight layers, readout included."""
    return len(model.weights) + 1


@dataclasses.dataclass(frozen=True)
class LayerScaling:
    """One row of a parametrization table. `distribution` is "normal" (std init_std) or
    "sign" (+-init_std)."""

    init_std: float
    lr_multiplier: float
    distribution: str = "normal"
    forward_multiplier: float = 1.0

    def sample(self, key: PRNGKeyArray, shape: tuple[int, ...]) -> Array:
        if self.distribution == "sign":
            return self.init_std * jax.random.rademacher(key, shape, dtype=jnp.float32)
        return self.init_std * jax.random.normal(key, shape)


@dataclasses.dataclass(frozen=True)
class Table:
    """A parametrization table: one row per weight layer (readout last) and per bias."""

    weights: tuple[LayerScaling, ...]
    biases: tuple[LayerScaling, ...]


def _fan_ins(d: int, width: int, layers: int) -> list[int]:
    return [d] + [width] * (layers - 1)


def standard_table(d: int, width: int, layers: int, p) -> Table:
    s = p.init_scale
    weights = tuple(LayerScaling(s / math.sqrt(f), 1.0) for f in _fan_ins(d, width, layers))
    return Table(weights, tuple(LayerScaling(s * p.bias_init, 1.0) for _ in range(layers - 1)))


def ntk_table(d: int, width: int, layers: int, p) -> Table:
    s = p.init_scale
    weights = tuple(LayerScaling(s, 1.0, forward_multiplier=1.0 / math.sqrt(f)) for f in _fan_ins(d, width, layers))
    return Table(weights, tuple(LayerScaling(s * p.bias_init, 1.0) for _ in range(layers - 1)))


def mean_field_table(d: int, width: int, layers: int, p) -> Table:
    """Readout scaled by 1/m and every learning rate by m, so each neuron moves at rate lr
    however wide the net is."""
    s, m = p.init_scale, float(width)
    hidden = [LayerScaling(s / math.sqrt(f), m) for f in _fan_ins(d, width, layers)[:-1]]
    readout = LayerScaling(s * p.readout_init, m, p.readout_distribution, 1.0 / m)
    return Table(tuple(hidden) + (readout,), tuple(LayerScaling(s * p.bias_init, m) for _ in hidden))


def mup_table(d: int, width: int, layers: int, p) -> Table:
    s, m = p.init_scale, float(width)
    rows = [LayerScaling(s / math.sqrt(m), 1.0, forward_multiplier=math.sqrt(m / d))]
    rows += [LayerScaling(s / math.sqrt(m), 1.0) for _ in range(layers - 2)]
    rows.append(LayerScaling(s / math.sqrt(m), 1.0, forward_multiplier=1.0 / math.sqrt(m)))
    return Table(tuple(rows), tuple(LayerScaling(s * p.bias_init, 1.0) for _ in range(layers - 1)))


# Parametrization kind -> table builder (d, width, weight layers, parametrization config).
PARAMETRIZATIONS: dict[str, Callable[..., Table]] = {
    "standard": standard_table,
    "ntk": ntk_table,
    "mean_field": mean_field_table,
    "mup": mup_table,
}


def architecture(config) -> tuple[int, int, bool]:
    """(width, weight layers, residual) of a run's model block."""
    kind, model = config.model_kind, config.model
    if kind == "mlp2":
        return model.width, 2, False
    return model.width, model.depth, kind == "resnet"


def build_network(key: PRNGKeyArray, d: int, width: int, layers: int, residual: bool, activation: str,
                  bias: bool, table: Table) -> Network:
    # One key per weight and bias in layer order, then the readout: for a two-layer net
    # this is (w, b, a), the order every stored result was drawn in.
    keys = jax.random.split(key, 2 * (layers - 1) + 1)
    fan_outs = [width] * (layers - 1)
    fan_ins = _fan_ins(d, width, layers)
    weights, biases = [], []
    for layer in range(layers - 1):
        # Drawn as (fan_out, fan_in), the order of the first release, then stored transposed.
        weights.append(table.weights[layer].sample(keys[2 * layer], (fan_outs[layer], fan_ins[layer])).T)
        biases.append(table.biases[layer].sample(keys[2 * layer + 1], (width,)) if bias else None)
    readout = table.weights[-1].sample(keys[-1], (width,))
    multipliers = tuple(row.forward_multiplier for row in table.weights[:-1])
    return Network(tuple(weights), tuple(biases), readout, multipliers, table.weights[-1].forward_multiplier,
                   activation, residual)


def lr_multipliers(model: Network, table: Table) -> Network:
    """Build a pytree shaped like the model's parameters with each one's learning-rate multiplier."""
    return _shaped_like(model, [row.lr_multiplier for row in table.weights[:-1]],
                        [row.lr_multiplier for row in table.biases], table.weights[-1].lr_multiplier)


def layer_indices(model: Network) -> Network:
    """Build a pytree shaped like the model's parameters with each one's layer number (1 = first)."""
    layers = list(range(1, len(model.weights) + 1))
    return _shaped_like(model, layers, layers, len(model.weights) + 1)


def _shaped_like(model: Network, weights: list, biases: list, readout) -> Network:
    return Network(tuple(weights), tuple(None if b is None else value for b, value in zip(model.biases, biases)),
                   readout, model.multipliers, model.readout_multiplier, model.activation, model.residual)


def table_initializer(key: PRNGKeyArray, config) -> tuple[Network, Network]:
    d = config.target.domain.d
    width, layers, residual = architecture(config)
    table = PARAMETRIZATIONS[config.parametrization_kind](d, width, layers, config.parametrization)
    model = build_network(key, d, width, layers, residual, config.model.activation, config.model.bias, table)
    return model, lr_multipliers(model, table)


# The two-layer module of the first release, kept for code that builds it directly (the
# lazy parametrization's base network).


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


def build_two_layer(key: PRNGKeyArray, d: int, width: int, activation: str, bias: bool,
                    table: dict[str, LayerScaling], readout_scale: float) -> TwoLayer:
    kw, kb, ka = jax.random.split(key, 3)
    w = table["w"].sample(kw, (width, d))
    b = table["b"].sample(kb, (width,)) if bias else None
    a = table["a"].sample(ka, (width,))
    return TwoLayer(w, b, a, activation, readout_scale)


# Parametrization kind -> function (key, RunConfig) -> (model, lr multipliers). Kinds
# without an entry use their table.
INITIALIZERS: dict[str, Callable] = {}


def init_model(key: PRNGKeyArray, config) -> tuple[Network, Network]:
    """Initialise the network of a run configuration; return it and its lr multipliers."""
    initializer = INITIALIZERS.get(config.parametrization_kind, table_initializer)
    return initializer(key, config)
