"""A compiled training program: the runs of one plan program trained together.

Runs are batched with `vmap`; steps run under `lax.scan` inside one `jit`. Training
advances in chunks of logging intervals, so the host can show progress, save a
checkpoint or stop early between chunks without leaving compiled code for every step.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
import optax

from wall.compiler.plan import Program

from . import native
from .checkpoint import Checkpoints
from .data import TargetFunction, sample_inputs
from .devices import padded_run_count, per_device, run_devices, shard_runs
from .models import init_model, layer_count, layer_indices
from .threefry import fold_in, normal

# Independent random streams of a run, derived from its key by `fold_in`.
STREAM_INIT, STREAM_TEST, STREAM_TRAIN, STREAM_NOISE = 0, 1, 2, 3
STREAM_GRADIENT_NOISE, STREAM_TRAINING_SET = 5, 6
HOST_SYNCS = 40  # chunks per program: often enough for progress and checkpoints


def run_key(run_id: str) -> jax.Array:
    """Derive the root random key of a run from its id alone, so a run's numbers do not
    depend on which other runs share its program."""
    return jax.random.PRNGKey(int(run_id[:8], 16))


@dataclasses.dataclass
class ProgramResult:
    """Logged curves of every run of a program, as host arrays indexed [run, log point].

    `curves` contains the other logged measurements, e.g. "coefficients" [run, log, term] and
    "singular_values" [run, log, layer, k].
    """

    run_ids: list[str]
    steps: np.ndarray  # (logs,) step count at each log point; 0 is the initial model
    test_loss: np.ndarray  # (runs, logs)
    stopped_early: bool
    curves: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass
class TrainingState:
    model: eqx.Module
    opt_state: object
    intervals_done: int


class ProgramSchedule:
    """The set-up every kind of compiled program shares: its configuration, its target,
    and when it logs (every `every` steps, in `chunks` host calls)."""

    def __init__(self, program: Program):
        config = program.config
        self.program = program
        self.config = config
        self.domain = config.target.domain
        self.train = config.train
        expansion = config.target.expansion()
        self.target = TargetFunction.from_expansion(expansion)
        self.variance = expansion.variance()

        loss_config = logged_loss_config(config)
        self.every = loss_config.every
        self.test_samples = loss_config.samples
        self.normalizer = self.variance if loss_config.normalized and self.variance > 0 else 1.0
        self.intervals = math.ceil(self.train.steps / self.every)
        self.chunk_intervals = chunk_length(self.intervals)
        self.chunks = math.ceil(self.intervals / self.chunk_intervals)

    def within_budget(self, step, new_state, old_state):
        """Return the state after `step`: the new one, or the old one for a padding step past
        the budget, which the last chunk runs when its steps overshoot `train.steps`."""
        if self.chunks * self.chunk_intervals * self.every == self.train.steps:
            return new_state  # no padding steps: skip the select, 5% of the reference benchmark
        active = step < self.train.steps
        return jax.tree.map(lambda new, old: jnp.where(active, new, old), new_state, old_state)


def chunk_length(intervals: int) -> int:
    """Choose the logging intervals per chunk: about `intervals / HOST_SYNCS`, and a divisor of
    `intervals` if one gives at most 4x the host syncs, so the last chunk has no padding steps."""
    length = max(1, math.ceil(intervals / HOST_SYNCS))
    for divisor in range(length, max(1, length // 4) - 1, -1):
        if intervals % divisor == 0:
            return divisor
    return length


class CompiledProgram(ProgramSchedule):
    def __init__(self, program: Program):
        super().__init__(program)
        config = program.config
        kinds = {kind: measure for kind, measure in config.measures.values()}
        self.log_coefficients = "coefficients" in kinds
        self.top_singular = kinds["weight_change"].top if "weight_change" in kinds else 0

        # The run axis is split across the devices. Padding runs (copies of the first run)
        # fill it to a multiple of the device count and are dropped from the results;
        # runs are independent under vmap, so they do not change the real runs' numbers.
        self.devices = run_devices()
        self.run_count = len(program.runs)
        padding = padded_run_count(self.run_count, len(self.devices)) - self.run_count
        runs = list(program.runs) + [program.runs[0]] * padding
        self.keys = shard_runs(jnp.stack([run_key(run.id) for run in runs]), self.devices)
        self.lrs = shard_runs(jnp.asarray([run.config.train.lr for run in runs], jnp.float32), self.devices)
        self._multipliers = None
        self._layers = None
        # The fused CPU kernels of runtime/native.py, where they cover the program; the
        # network's shape is checked when the step is traced.
        self.native = native.enabled()
        self.native_training = self.native and native.supports_training(self.train)
        self._chunk = eqx.filter_jit(self._chunk_all_runs)
        self._evaluate = eqx.filter_jit(per_device(eqx.filter_vmap(self._log), self.devices))

    # Per-run pieces, written for one run and batched with vmap.

    def _init_run(self, key):
        model, multipliers = init_model(jax.random.fold_in(key, STREAM_INIT), self.config)
        test_x = sample_inputs(jax.random.fold_in(key, STREAM_TEST), self.domain, self.test_samples)
        data = {"test_x": test_x, "test_y": self.target(test_x)}
        if self.log_coefficients:
            data["test_basis"] = self.target.term_values(test_x)
        if self.top_singular:
            data["initial_weights"] = _weight_matrices(model)
        if self.train.samples is not None:
            # ERM: one fixed training set per run, labels noised once.
            train_x = sample_inputs(jax.random.fold_in(key, STREAM_TRAINING_SET), self.domain, self.train.samples)
            data["train_x"] = train_x
            data["train_y"] = self._noisy(self.target(train_x), jax.random.fold_in(key, STREAM_NOISE))
            data["epoch_orders"] = self._epoch_orders(key)
        return model, multipliers, data

    def _epoch_orders(self, key):
        """Draw the shuffled order of the training set for every epoch, once at init,
        because drawing it at every step would sort the whole set each step."""
        epochs = math.ceil(self.train.steps / (self.train.samples // self.train.batch))
        train_key = jax.random.fold_in(key, STREAM_TRAIN)
        return jax.vmap(lambda epoch: jax.random.permutation(jax.random.fold_in(train_key, epoch),
                                                             self.train.samples))(jnp.arange(epochs))

    def _optimizer(self, lr):
        train = self.train
        rate = lr if train.halve_every is None else (lambda count: lr * 0.5 ** (count // train.halve_every))
        if train.optimizer == "adam":
            return optax.adam(rate)
        if train.optimizer == "momentum":
            return optax.sgd(rate, momentum=train.momentum)
        return optax.sgd(rate)

    def _noisy(self, y, key):
        if self.config.target.noise > 0:
            return y + self.config.target.noise * normal(key, y.shape)
        return y

    def _log(self, model, data):
        """Compute the measurements logged at one point, for one run."""
        if self.native and native.supports_network(model):
            prediction = native.predict(model, data["test_x"])
        else:
            prediction = _predict_in_blocks(model, data["test_x"])
        values = {"test_loss": jnp.mean((prediction - data["test_y"]) ** 2) / self.normalizer}
        if self.log_coefficients:
            values["coefficients"] = prediction @ data["test_basis"] / prediction.shape[0]
        if self.top_singular:
            values["singular_values"], values["weight_change_norm"] = _weight_change(
                model, data["initial_weights"], self.top_singular)
        return values

    def _batch(self, key, step, data):
        """Draw the (x, y) of one step: fresh samples online, a shuffled slice of the training set in ERM."""
        if self.train.samples is None:
            # Per-step keys come from the straight-line hash: jax.random.fold_in is a loop on the CPU.
            x = sample_inputs(fold_in(fold_in(key, STREAM_TRAIN), step), self.domain, self.train.batch)
            noise_key = fold_in(fold_in(key, STREAM_NOISE), step)
            return x, self._noisy(self.target(x), noise_key)
        steps_per_epoch = self.train.samples // self.train.batch
        # Padding steps past the budget may ask for one epoch more than was drawn; they
        # change nothing, so any order does.
        epoch = jnp.minimum(step // steps_per_epoch, data["epoch_orders"].shape[0] - 1)
        position = step % steps_per_epoch
        chosen = jax.lax.dynamic_slice(data["epoch_orders"][epoch], (position * self.train.batch,),
                                       (self.train.batch,))
        return data["train_x"][chosen], data["train_y"][chosen]

    def _loss(self, prediction, y):
        if self.train.loss == "logistic":
            return jnp.mean(jax.nn.softplus(-y * prediction))
        return 0.5 * jnp.mean((prediction - y) ** 2)

    def _train_step(self, model, opt_state, lr, key, multipliers, data, step):
        with jax.named_scope("draw_batch"):  # scopes name the parts in benchmarks/profile.py
            x, y = self._batch(key, step, data)
        if self.native_training and native.supports_network(model):
            new_model = native.sgd_step(model, x, y, lr, multipliers)
            return self.within_budget(step, (new_model, opt_state), (model, opt_state))

        grads = eqx.filter_grad(lambda m: self._loss(m(x), y))(model)
        grads = self._adjust_gradient(grads, model, key, step)
        scale = lambda tree: jax.tree.map(lambda g, factor: g * factor, tree, multipliers)  # noqa: E731
        if self.train.optimizer != "adam":
            grads = scale(grads)  # for SGD-like rules, scaling gradients scales the step
        updates, new_opt_state = self._optimizer(lr).update(grads, opt_state, model)
        if self.train.optimizer == "adam":
            updates = scale(updates)  # Adam normalises gradients, so scale its steps instead
        new_model = eqx.apply_updates(model, updates)

        return self.within_budget(step, (new_model, new_opt_state), (model, opt_state))

    def _adjust_gradient(self, grads, model, key, step):
        """Weight decay, gradient noise (noisy GD) and the layerwise mask, in that order."""
        train = self.train
        if train.weight_decay > 0:
            grads = jax.tree.map(lambda g, w: g + train.weight_decay * w, grads, eqx.filter(model, eqx.is_array))
        if train.optimizer == "noisy_gd" and train.noise > 0:
            leaves, tree = jax.tree.flatten(grads)
            noise_key = fold_in(fold_in(key, STREAM_GRADIENT_NOISE), step)
            keys = [fold_in(noise_key, index) for index in range(len(leaves))]
            leaves = [g + train.noise * normal(k, g.shape) for g, k in zip(leaves, keys)]
            grads = jax.tree.unflatten(tree, leaves)
        if train.layer_steps is not None:
            order = jnp.asarray(train.layer_order or list(range(1, layer_count(model) + 1)))
            training = order[(step // train.layer_steps) % order.shape[0]]
            grads = jax.tree.map(lambda g, layer: jnp.where(training == layer, g, 0.0), grads, self._layers)
        return grads

    def _run_chunk(self, model, opt_state, lr, key, multipliers, data, first_interval):
        def interval(carry, interval_index):
            def step(inner, offset):
                m, o = inner
                return self._train_step(m, o, lr, key, multipliers, data, interval_index * self.every + offset), None

            carry, _ = jax.lax.scan(step, carry, jnp.arange(self.every))
            with jax.named_scope("test_loss"):
                return carry, self._log(carry[0], data)

        indices = first_interval + jnp.arange(self.chunk_intervals)
        (model, opt_state), logs = jax.lax.scan(interval, (model, opt_state), indices)
        return model, opt_state, logs

    def _chunk_all_runs(self, model, opt_state, lrs, keys, multipliers, data, first_interval):
        # Multipliers are Python floats, which stay out of the split over devices.
        def chunk(model, opt_state, lrs, keys, data, first_interval):
            batched = eqx.filter_vmap(self._run_chunk, in_axes=(0, 0, 0, 0, None, 0, None))
            return batched(model, opt_state, lrs, keys, multipliers, data, first_interval)

        return per_device(chunk, self.devices, replicated=1)(model, opt_state, lrs, keys, data, first_interval)

    # The host loop.

    def initial_state(self) -> tuple[TrainingState, dict]:
        # One jit for the whole initialisation: run eagerly, its many small ops would each
        # be traced and compiled (or looked up in the cache) on every start.
        model, multipliers, data = eqx.filter_jit(eqx.filter_vmap(self._init_run))(self.keys)
        # Multipliers are Python floats, the same for every run, so vmap leaves them unbatched.
        self._multipliers = multipliers
        self._layers = layer_indices(model)
        opt_state = eqx.filter_jit(eqx.filter_vmap(lambda lr, m: self._optimizer(lr).init(eqx.filter(m, eqx.is_array))))(
            self.lrs, model)
        model, opt_state, data = shard_runs((model, opt_state, data), self.devices)
        return TrainingState(model, opt_state, 0), data

    def run(self, on_chunk: Callable[[int, int], None] | None = None,
            should_stop: Callable[[np.ndarray], bool] | None = None,
            checkpoints: Checkpoints | None = None) -> ProgramResult:
        state, data = self.initial_state()
        # Each entry of `losses` is a dict of logged curves, [run, log point, ...].
        losses = [{name: np.asarray(v)[:, None] for name, v in self._evaluate(state.model, data).items()}]
        stopped = False
        first_chunk = 0
        saved = checkpoints.load(state) if checkpoints is not None else None
        if saved is not None:
            state, saved_losses = saved
            losses = [saved_losses]
            first_chunk = state.intervals_done // self.chunk_intervals
        for chunk in range(first_chunk, self.chunks):
            model, opt_state, chunk_losses = self._chunk(
                state.model, state.opt_state, self.lrs, self.keys, self._multipliers, data,
                jnp.asarray(chunk * self.chunk_intervals, jnp.int32))
            state = TrainingState(model, opt_state, (chunk + 1) * self.chunk_intervals)
            losses.append({name: np.asarray(v) for name, v in chunk_losses.items()})
            if on_chunk is not None:
                on_chunk(chunk + 1, self.chunks)
            if should_stop is not None and should_stop(_joined(losses)["test_loss"]):
                stopped = chunk + 1 < self.chunks
                break
            if checkpoints is not None:
                checkpoints.after_chunk(chunk + 1, state, _joined(losses))
        return self._result(_joined(losses), stopped)

    def _result(self, logged: dict[str, np.ndarray], stopped: bool) -> ProgramResult:
        logged = {name: values[:self.run_count] for name, values in logged.items()}  # drop padding runs
        logs = min(logged["test_loss"].shape[1], self.intervals + 1)
        steps = np.minimum(np.arange(logs) * self.every, self.train.steps)
        curves = {name: values[:, :logs] for name, values in logged.items() if name != "test_loss"}
        return ProgramResult([r.id for r in self.program.runs], steps, logged["test_loss"][:, :logs], stopped,
                             curves)


def _predict_in_blocks(model, x, block: int = 256):
    """Compute the model's outputs on x, `block` samples at a time.

    The test set is evaluated at every log point. In one piece, the hidden activations of
    every run on a device (runs x samples x width floats, 64 MB for 16 runs of width 512
    on 2048 samples) leave the cache between the matmul and the readout. In blocks they
    stay in it, and the reference benchmark's logging became 3.5x cheaper. The result is
    the same up to the order of float additions.
    """
    samples = x.shape[0]
    if samples <= block:
        return model(x)
    full = samples // block * block
    blocks = jax.lax.map(model, x[:full].reshape(samples // block, block, *x.shape[1:])).reshape(full)
    return blocks if full == samples else jnp.concatenate([blocks, model(x[full:])])


def _joined(logged: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {name: np.concatenate([part[name] for part in logged], axis=1) for name in logged[0]}


def _weight_matrices(model) -> tuple:
    return tuple(model.weights)


def _weight_change(model, initial_weights, top: int):
    """Per hidden weight matrix: the `top` largest singular values of W_t - W_0 (zero
    padded) and its Frobenius norm."""
    singular, norms = [], []
    for w, w0 in zip(model.weights, initial_weights):
        singular.append(_top_singular_values(w - w0, top))
        norms.append(jnp.sqrt(jnp.sum((w - w0) ** 2)))
    return jnp.stack(singular), jnp.stack(norms)


def _top_singular_values(matrix, top: int, iterations: int = 40):
    """The `top` largest singular values of a matrix, by power iteration with deflation on
    its smaller Gram matrix.

    Plain matrix products instead of `jnp.linalg.svd`: the LAPACK call of the SVD hung
    (threads idle on a lock) inside the vmapped, sharded training program at width 512,
    while it ran at small sizes. Values of nearly equal singular values are accurate; their
    directions mix, which these measurements do not use.
    """
    gram = matrix.T @ matrix if matrix.shape[0] >= matrix.shape[1] else matrix @ matrix.T
    size = gram.shape[0]
    start = 1.0 + jnp.arange(size, dtype=gram.dtype) / size  # not orthogonal to a generic top vector
    start = start / jnp.linalg.norm(start)

    def power_iteration(deflated):
        def step(vector, _):
            image = deflated @ vector
            return image / (jnp.linalg.norm(image) + 1e-30), None

        return jax.lax.scan(step, start, None, length=iterations)[0]

    values = []
    for _ in range(top):
        vector = power_iteration(gram)
        eigenvalue = jnp.maximum(vector @ gram @ vector, 0.0)
        values.append(jnp.sqrt(eigenvalue))
        gram = gram - eigenvalue * jnp.outer(vector, vector)
    return jnp.stack(values)


def logged_loss_config(config):
    """Return the `test_loss` measurement, whose interval and test set every logged
    measurement of a program shares."""
    # NOTE: one logged loss per program; with several `test_loss` blocks the first one
    # sets the logging interval and test-set size.
    for kind, measure in config.measures.values():
        if kind == "test_loss":
            return measure
    raise ValueError("a program needs a `measure test_loss` block to log its loss")
