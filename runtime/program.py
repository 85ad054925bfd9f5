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

from .data import TargetFunction, sample_inputs
from .models import init_model

# Independent random streams of a run, derived from its key by `fold_in`.
STREAM_INIT, STREAM_TEST, STREAM_TRAIN, STREAM_NOISE = 0, 1, 2, 3
HOST_SYNCS = 40  # chunks per program: often enough for progress and checkpoints


def run_key(run_id: str) -> jax.Array:
    """The root random key of a run, derived from its id alone, so a run's numbers do not
    depend on which other runs share its program."""
    return jax.random.PRNGKey(int(run_id[:8], 16))


@dataclasses.dataclass
class ProgramResult:
    """Logged curves of every run of a program, as host arrays indexed [run, log point]."""

    run_ids: list[str]
    steps: np.ndarray  # (logs,) step count at each log point; 0 is the initial model
    test_loss: np.ndarray  # (runs, logs)
    stopped_early: bool


@dataclasses.dataclass
class TrainingState:
    model: eqx.Module
    opt_state: object
    intervals_done: int


class CompiledProgram:
    def __init__(self, program: Program):
        config = program.config
        self.program = program
        self.config = config
        self.domain = config.target.domain
        self.train = config.train
        expansion = config.target.expansion()
        self.target = TargetFunction.from_expansion(expansion)
        self.variance = expansion.variance()
        self.loss_name, loss_config = _logged_loss(config)
        self.every = loss_config.every
        self.test_samples = loss_config.samples
        self.normalizer = self.variance if loss_config.normalized and self.variance > 0 else 1.0
        self.intervals = math.ceil(self.train.steps / self.every)
        self.chunk_intervals = max(1, math.ceil(self.intervals / HOST_SYNCS))
        self.chunks = math.ceil(self.intervals / self.chunk_intervals)

        self.keys = jnp.stack([run_key(run.id) for run in program.runs])
        self.lrs = jnp.asarray([run.config.train.lr for run in program.runs], jnp.float32)
        self._multipliers = None
        self._chunk = eqx.filter_jit(self._chunk_all_runs)
        self._evaluate = eqx.filter_jit(eqx.filter_vmap(self._test_loss))

    # Per-run pieces, written for one run and batched with vmap.

    def _init_run(self, key):
        model, multipliers = init_model(jax.random.fold_in(key, STREAM_INIT), self.config)
        test_x = sample_inputs(jax.random.fold_in(key, STREAM_TEST), self.domain, self.test_samples)
        return model, multipliers, test_x, self.target(test_x)

    def _optimizer(self, lr):
        return optax.sgd(lr)

    def _test_loss(self, model, test_x, test_y):
        return jnp.mean((model(test_x) - test_y) ** 2) / self.normalizer

    def _train_step(self, model, opt_state, lr, key, multipliers, step):
        step_key = jax.random.fold_in(jax.random.fold_in(key, STREAM_TRAIN), step)
        x = sample_inputs(step_key, self.domain, self.train.batch)
        y = self.target(x)
        if self.config.target.noise > 0:
            noise_key = jax.random.fold_in(jax.random.fold_in(key, STREAM_NOISE), step)
            y = y + self.config.target.noise * jax.random.normal(noise_key, y.shape)

        def loss_fn(m):
            return 0.5 * jnp.mean((m(x) - y) ** 2)

        grads = eqx.filter_grad(loss_fn)(model)
        grads = jax.tree.map(lambda g, scale: g * scale, grads, multipliers)
        updates, new_opt_state = self._optimizer(lr).update(grads, opt_state, model)
        new_model = eqx.apply_updates(model, updates)

        # Steps past the budget (padding of the last chunk) leave the state unchanged.
        active = step < self.train.steps
        keep = lambda new, old: jnp.where(active, new, old)  # noqa: E731
        return jax.tree.map(keep, new_model, model), jax.tree.map(keep, new_opt_state, opt_state)

    def _run_chunk(self, model, opt_state, lr, key, multipliers, test_x, test_y, first_interval):
        def interval(carry, interval_index):
            def step(inner, offset):
                m, o = inner
                return self._train_step(m, o, lr, key, multipliers, interval_index * self.every + offset), None

            carry, _ = jax.lax.scan(step, carry, jnp.arange(self.every))
            return carry, self._test_loss(carry[0], test_x, test_y)

        indices = first_interval + jnp.arange(self.chunk_intervals)
        (model, opt_state), losses = jax.lax.scan(interval, (model, opt_state), indices)
        return model, opt_state, losses

    def _chunk_all_runs(self, model, opt_state, lrs, keys, multipliers, test_x, test_y, first_interval):
        batched = eqx.filter_vmap(self._run_chunk, in_axes=(0, 0, 0, 0, None, 0, 0, None))
        return batched(model, opt_state, lrs, keys, multipliers, test_x, test_y, first_interval)

    # The host loop.

    def initial_state(self) -> tuple[TrainingState, tuple]:
        model, multipliers, test_x, test_y = eqx.filter_vmap(self._init_run)(self.keys)
        # Multipliers are Python floats, the same for every run, so vmap leaves them unbatched.
        self._multipliers = multipliers
        opt_state = eqx.filter_vmap(lambda lr, m: self._optimizer(lr).init(eqx.filter(m, eqx.is_array)))(
            self.lrs, model)
        return TrainingState(model, opt_state, 0), (test_x, test_y)

    def run(self, on_chunk: Callable[[int, int], None] | None = None,
            should_stop: Callable[[np.ndarray], bool] | None = None) -> ProgramResult:
        state, (test_x, test_y) = self.initial_state()
        losses = [np.asarray(self._evaluate(state.model, test_x, test_y))[:, None]]
        stopped = False
        for chunk in range(self.chunks):
            model, opt_state, chunk_losses = self._chunk(
                state.model, state.opt_state, self.lrs, self.keys, self._multipliers, test_x, test_y,
                jnp.asarray(chunk * self.chunk_intervals, jnp.int32))
            state = TrainingState(model, opt_state, (chunk + 1) * self.chunk_intervals)
            losses.append(np.asarray(chunk_losses))
            if on_chunk is not None:
                on_chunk(chunk + 1, self.chunks)
            if should_stop is not None and should_stop(np.concatenate(losses, axis=1)):
                stopped = chunk + 1 < self.chunks
                break
        return self._result(np.concatenate(losses, axis=1), stopped)

    def _result(self, losses: np.ndarray, stopped: bool) -> ProgramResult:
        logs = min(losses.shape[1], self.intervals + 1)
        steps = np.minimum(np.arange(logs) * self.every, self.train.steps)
        return ProgramResult([r.id for r in self.program.runs], steps, losses[:, :logs], stopped)


def _logged_loss(config):
    # NOTE: one logged loss per program; with several `test_loss` blocks the first one
    # sets the logging interval and test-set size.
    for name, (kind, measure) in config.measures.items():
        if kind == "test_loss":
            return name, measure
    raise ValueError("a program needs a `measure test_loss` block to log its loss")
