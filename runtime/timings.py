"""Where the wall time of a `wallc` run goes: parse and plan, compile, train, report.

Compile time is the sum of the durations JAX reports through `jax.monitoring` for tracing,
lowering to MLIR and XLA compilation (a load from the persistent cache counts as
compilation), and the C++ build of the fused CPU kernels when they are not yet cached.
Train time is the time spent in the executor less that compile time.
"""

from __future__ import annotations

import contextlib
import time

# JAX's event names (jax/_src/dispatch.py, jax 0.10).
COMPILE_EVENTS = (
    "/jax/core/compile/jaxpr_trace_duration",
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
)
_compile_seconds = 0.0
_listening = False


def _add_compile_time(event: str, duration_secs: float, **_) -> None:
    global _compile_seconds
    if event in COMPILE_EVENTS:
        _compile_seconds += duration_secs


def compile_seconds() -> float:
    """Seconds this process has spent compiling since `listen_to_compiles` was first called,
    with the build of the fused CPU kernels (runtime/native.py)."""
    from .native import build_seconds

    return _compile_seconds + build_seconds()


def listen_to_compiles() -> None:
    global _listening
    if _listening:
        return
    import jax

    jax.monitoring.register_event_duration_secs_listener(_add_compile_time)
    _listening = True


class PhaseTimes:
    """Seconds per phase of one command; `train` excludes the compile time inside it."""

    def __init__(self):
        self.seconds: dict[str, float] = {"parse_plan": 0.0, "compile": 0.0, "train": 0.0, "report": 0.0}

    @contextlib.contextmanager
    def phase(self, name: str):
        compiled_before = compile_seconds()
        started = time.monotonic()
        try:
            yield
        finally:
            elapsed = time.monotonic() - started
            compiled = compile_seconds() - compiled_before
            if name == "train":
                self.seconds["compile"] += compiled
                elapsed -= compiled
            self.seconds[name] += elapsed

    def describe(self) -> str:
        return ", ".join(f"{name.replace('_', '/')} {seconds:.2f} s" for name, seconds in self.seconds.items())
