"""The compiled program of runs with a `lazy` parametrization.

Every run trains the centred model alpha * (h(w) - h(w0)) and, with `twin = true`, its
linearization, by full-batch gradient descent on a fixed training set of `train.samples`
points drawn once per run. At every logging interval it records the test loss of the
model, the distance between model and twin on the held-out test set, and the drift of the
empirical NTK on a probe set. The host loop has the same shape as CompiledProgram.run:
chunks of logging intervals, `on_chunk` and `should_stop` callbacks, and a ProgramResult.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np

from wall.compiler.configure import stable_hash
from wall.compiler.plan import Program, Run

from . import lazy
from .data import sample_inputs
from .kernels import empirical_ntk, kernel_drift
from .program import STREAM_INIT, STREAM_NOISE, STREAM_TEST, STREAM_TRAIN, ProgramResult, ProgramSchedule, run_key

STREAM_PROBE = 7  # the probe set of the kernel drift, independent of the other streams


def shared_key(run: Run) -> jax.Array:
    """Derive the root key of a lazy run from a hash of its configuration without alpha.

    Runs that differ only in alpha share w0, the training set, the test set and the probe
    set, so the gap's dependence on alpha is measured without the spread between
    initialisations (common random numbers). The key still depends on nothing but the
    run's own configuration.
    """
    record = run.config.normalized()
    record["parametrization"].pop("alpha")
    return run_key(stable_hash(record))


@dataclasses.dataclass
class LazyState:
    model: eqx.Module  # displacement w - w0 of the model, batched over runs
    twin: eqx.Module  # displacement v - w0 of the linearized twin
    intervals_done: int


class LazyProgram(ProgramSchedule):
    def __init__(self, program: Program):
        super().__init__(program)
        config = program.config
        self.with_twin = config.parametrization.twin
        drift = [m for kind, m in config.measures.values() if kind == "kernel_drift"]
        self.probe_samples = drift[0].samples if drift else 0

        runs = program.runs
        self.keys = jnp.stack([shared_key(run) for run in runs])
        self.lrs = jnp.asarray([run.config.train.lr for run in runs], jnp.float32)
        self.alphas = jnp.asarray([run.config.parametrization.alpha for run in runs], jnp.float32)
        self._chunk = eqx.filter_jit(eqx.filter_vmap(self._run_chunk, in_axes=(eqx.if_array(0),) * 3 + (None,)))
        self._measure = eqx.filter_jit(eqx.filter_vmap(self._measurements))

    # Per-run pieces, written for one run and batched with vmap.

    def _init_run(self, key, alpha, lr):
        model0, multipliers = lazy.init_base_network(jax.random.fold_in(key, STREAM_INIT), self.config)
        train_x = sample_inputs(jax.random.fold_in(key, STREAM_TRAIN), self.domain, self.train.samples)
        train_y = self.target(train_x)
        if self.config.target.noise > 0:
            # The training set is fixed, so its label noise is drawn once.
            noise = jax.random.normal(jax.random.fold_in(key, STREAM_NOISE), train_y.shape)
            train_y = train_y + self.config.target.noise * noise
        test_x = sample_inputs(jax.random.fold_in(key, STREAM_TEST), self.domain, self.test_samples)
        fixed = {"model0": model0, "multipliers": multipliers, "alpha": alpha,
                 "lr": lr, "train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": self.target(test_x)}
        if self.probe_samples:
            fixed["probe_x"] = sample_inputs(jax.random.fold_in(key, STREAM_PROBE), self.domain, self.probe_samples)
            fixed["kernel0"] = empirical_ntk(model0, fixed["probe_x"])
        zero = lazy.zero_displacement(model0)
        return fixed, zero, zero

    def _train_step(self, fixed, model, twin, step):
        args = (fixed["alpha"], fixed["lr"], fixed["multipliers"], fixed["train_x"], fixed["train_y"])
        new_model = lazy.gradient_step(lazy.centred_output, fixed["model0"], model, *args)
        new_twin = lazy.gradient_step(lazy.linearized_output, fixed["model0"], twin, *args) if self.with_twin else twin

        return self.within_budget(step, (new_model, new_twin), (model, twin))

    def _measurements(self, fixed, model, twin):
        """Test and training loss of the model (normalised like `test_loss`), its distance to
        the twin, and the kernel drift, at one time."""
        model0, alpha, test_x = fixed["model0"], fixed["alpha"], fixed["test_x"]
        output = lazy.centred_output(model0, model, alpha, test_x)
        train_output = lazy.centred_output(model0, model, alpha, fixed["train_x"])
        values = {"test_loss": jnp.mean((output - fixed["test_y"]) ** 2) / self.normalizer,
                  "train_loss": jnp.mean((train_output - fixed["train_y"]) ** 2) / self.normalizer}
        if self.with_twin:
            values["twin_distance"] = lazy.rms_distance(output, lazy.linearized_output(model0, twin, alpha, test_x))
        if self.probe_samples:
            kernel = empirical_ntk(lazy.displaced(model0, model), fixed["probe_x"])
            values["kernel_drift"] = kernel_drift(fixed["kernel0"], kernel)
        return values

    def _run_chunk(self, fixed, model, twin, first_interval):
        def interval(carry, interval_index):
            def step(inner, offset):
                return self._train_step(fixed, *inner, interval_index * self.every + offset), None

            carry, _ = jax.lax.scan(step, carry, jnp.arange(self.every))
            return carry, self._measurements(fixed, *carry)

        indices = first_interval + jnp.arange(self.chunk_intervals)
        (model, twin), values = jax.lax.scan(interval, (model, twin), indices)
        return model, twin, values

    # The host loop.

    def initial_state(self) -> tuple[LazyState, dict]:
        fixed, model, twin = eqx.filter_vmap(self._init_run)(self.keys, self.alphas, self.lrs)
        return LazyState(model, twin, 0), fixed

    def run(self, on_chunk: Callable[[int, int], None] | None = None,
            should_stop: Callable[[np.ndarray], bool] | None = None, checkpoints=None) -> ProgramResult:
        # NOTE: lazy programs do not save or resume checkpoints yet; a resumed job
        # retrains the program from step 0 (its runs take seconds at the sizes used).
        state, fixed = self.initial_state()
        logged = [{k: np.asarray(v)[:, None] for k, v in self._measure(fixed, state.model, state.twin).items()}]
        stopped = False
        for chunk in range(self.chunks):
            model, twin, values = self._chunk(fixed, state.model, state.twin,
                                              jnp.asarray(chunk * self.chunk_intervals, jnp.int32))
            state = LazyState(model, twin, (chunk + 1) * self.chunk_intervals)
            logged.append({k: np.asarray(v) for k, v in values.items()})
            if on_chunk is not None:
                on_chunk(chunk + 1, self.chunks)
            if should_stop is not None and should_stop(np.concatenate([v["test_loss"] for v in logged], axis=1)):
                stopped = chunk + 1 < self.chunks
                break
        curves = {k: np.concatenate([v[k] for v in logged], axis=1) for k in logged[0]}
        return self._result(curves, stopped)

    def _result(self, curves: dict[str, np.ndarray], stopped: bool) -> ProgramResult:
        logs = min(curves["test_loss"].shape[1], self.intervals + 1)
        steps = np.minimum(np.arange(logs) * self.every, self.train.steps)
        curves = {k: v[:, :logs] for k, v in curves.items()}
        if "twin_distance" in curves:
            curves["twin_gap"] = np.maximum.accumulate(curves["twin_distance"], axis=1)
        test_loss = curves.pop("test_loss")
        # Curves, each [run, log point]: `twin_gap` is the running maximum over logged times
        # s <= t of `twin_distance`, the RMS distance between model and twin on the test set.
        return ProgramResult([r.id for r in self.program.runs], steps, test_loss, stopped, curves)
