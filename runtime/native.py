"""Fused CPU kernels for the two-layer ReLU network, called from the training program through
XLA's foreign function interface.

On a CPU, XLA runs one SGD step of the two-layer net as a dozen kernels, each a pass over
the batch x width activations, and its matmuls reach about 70% of an AVX2 core's peak at
d = 30. `native/mlp2.cc` does the step in two cache-resident passes and the test-set
outputs in one (docs/benchmarks.md has the measurements). The file is compiled on first
use on the machine that runs it, with -march=native, into ~/.cache/wall/native, so a
SLURM node with another CPU compiles its own copy. The numbers are XLA's up to the order
of float additions.

The kernels use 8-float vectors. They were measured faster than XLA on x86 CPUs with AVX2
and FMA but without AVX-512; on AVX-512 CPUs XLA's matmuls reach the machine's peak with
16-float vectors, so those CPUs, and other architectures, stay on XLA by default.
$WALL_NATIVE=on uses the kernels on any CPU, $WALL_NATIVE=off never. Without a C++
compiler, the program stays on XLA.
"""

from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from .devices import default_cache_dir

logger = logging.getLogger(__name__)

NATIVE_ENV = "WALL_NATIVE"  # "on": the kernels on any CPU; "off": never; unset: where measured faster
SOURCE = Path(__file__).with_name("native") / "mlp2.cc"
STEP_TARGET = "wall_mlp2_sgd_step"
PREDICT_TARGET = "wall_mlp2_predict"
LANES = 8  # the kernels work on vectors of 8 floats, so the width must be a multiple of 8
FLAGS = ["-O3", "-march=native", "-ffp-contract=fast", "-std=c++17", "-shared", "-fPIC", "-w"]

_registered: bool | None = None  # None: not tried yet in this process
_build_seconds = 0.0


def enabled() -> bool:
    """Tell whether this process uses the fused kernels: on a CPU backend, on a CPU they
    suit (or with $WALL_NATIVE=on), once the library is built and registered."""
    setting = os.environ.get(NATIVE_ENV, "").strip().lower()
    if setting == "off" or (setting != "on" and not suited_cpu()):
        return False
    import jax

    if jax.default_backend() != "cpu":
        return False
    return _register()


def suited_cpu() -> bool:
    """Tell whether the CPU has AVX2 and FMA and no AVX-512, where the kernels beat XLA."""
    flags = set()
    for line in _cpu_features().splitlines():
        if line.startswith("flags"):
            flags.update(line.split(":", 1)[1].split())
    return {"avx2", "fma"} <= flags and "avx512f" not in flags


def build_seconds() -> float:
    """Seconds this process spent compiling the library (0 when it came from the cache)."""
    return _build_seconds


def _register() -> bool:
    global _registered
    if _registered is None:
        library = build_library()
        _registered = library is not None and _register_targets(library)
    return _registered


def _register_targets(library: Path) -> bool:
    import jax

    try:
        loaded = ctypes.cdll.LoadLibrary(str(library))
        for target, symbol in ((STEP_TARGET, loaded.WallMlp2SgdStep), (PREDICT_TARGET, loaded.WallMlp2Predict)):
            jax.ffi.register_ffi_target(target, jax.ffi.pycapsule(symbol), platform="cpu")
    except (OSError, AttributeError) as error:
        logger.warning("the fused CPU kernels could not be loaded (%s); training uses XLA's kernels", error)
        return False
    return True


def build_library(cache: Path | None = None) -> Path | None:
    """Compile native/mlp2.cc for this machine, or find it compiled in the cache.

    The file name hashes the source, the flags, the compiler, jaxlib's version and the CPU,
    so an edit, an upgrade or another node's CPU each get their own build.
    """
    global _build_seconds
    compiler = shutil.which(os.environ.get("CXX", "c++")) or shutil.which("g++")
    if compiler is None:
        logger.info("no C++ compiler found; training uses XLA's kernels")
        return None
    folder = cache or default_cache_dir().with_name("native")
    started = time.perf_counter()
    try:
        library = folder / f"libwall_mlp2-{_build_key(compiler)}.so"
        if library.exists():
            return library
        built = _compile(compiler, folder, library.name)
        if built is None:
            return None
        # Another process may build the same file at the same time; the rename is atomic.
        os.replace(built, library)
        built.parent.rmdir()
    except OSError as error:  # an unwritable cache folder, a compiler that cannot start
        logger.warning("building the fused CPU kernels in %s failed (%s); training uses XLA's kernels",
                       folder, error)
        return None
    _build_seconds += time.perf_counter() - started
    return library


def _compile(compiler: str, folder: Path, name: str) -> Path | None:
    """Compile the source into a new file in `folder`; return it, or None if the compiler failed."""
    folder.mkdir(parents=True, exist_ok=True)
    built = Path(tempfile.mkdtemp(dir=folder)) / name
    command = [compiler, *FLAGS, f"-I{_ffi_headers()}", str(SOURCE), "-o", str(built)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        logger.warning("compiling the fused CPU kernels failed; training uses XLA's kernels.\n%s",
                       result.stderr[-2000:])
        shutil.rmtree(built.parent, ignore_errors=True)
        return None
    return built


def _build_key(compiler: str) -> str:
    import jaxlib

    version = subprocess.run([compiler, "--version"], capture_output=True, text=True).stdout
    parts = [SOURCE.read_bytes(), " ".join(FLAGS).encode(), version.encode(), jaxlib.__version__.encode(),
             platform.machine().encode(), _cpu_features().encode()]
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part + b"\0")
    return digest.hexdigest()[:16]


def _cpu_features() -> str:
    """Read the CPU's model and feature flags, which -march=native compiles for."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    lines = [line for line in text.splitlines() if line.startswith(("model name", "flags", "Features"))]
    return "\n".join(sorted(set(lines)))


def _ffi_headers() -> str:
    import jax

    return jax.ffi.include_dir()


# Which programs the kernels cover, and the calls.


def supports_network(model) -> bool:
    """Tell whether the model is a two-layer ReLU net (one hidden layer) whose width the
    kernels' vectors divide."""
    from .models import Network

    return (isinstance(model, Network) and len(model.weights) == 1 and model.activation == "relu"
            and model.readout.shape[-1] % LANES == 0 and model.weights[0].dtype.name == "float32")


def supports_training(train) -> bool:
    """Tell whether the training rule is plain SGD on the squared loss, with a constant
    learning rate and none of the gradient adjustments of `CompiledProgram._adjust_gradient`."""
    return (train.optimizer == "sgd" and train.loss == "mse" and train.weight_decay == 0
            and train.halve_every is None and train.layer_steps is None)


def sgd_step(model, x, y, lr, multipliers):
    """Return the model after one SGD step on 0.5 * mean((f(x) - y)^2) with learning rate
    `lr` times each parameter's multiplier, for one run (vmap adds the run axis)."""
    import jax
    import jax.numpy as jnp
    import numpy as np

    from .models import _shaped_like

    weights, bias = model.weights[0], _bias_or_zeros(model)
    shapes = tuple(jax.ShapeDtypeStruct(array.shape, array.dtype) for array in (weights, bias, model.readout))
    call = jax.ffi.ffi_call(STEP_TARGET, shapes, vmap_method="broadcast_all",
                            input_output_aliases={2: 0, 3: 1, 4: 2})
    lr_bias = multipliers.biases[0] if model.biases[0] is not None else 0.0
    new_weights, new_bias, new_readout = call(
        x, y, weights, bias, model.readout, jnp.asarray(lr, jnp.float32),
        c_w=np.float32(model.multipliers[0]), c_a=np.float32(model.readout_multiplier),
        lr_w=np.float32(multipliers.weights[0]), lr_b=np.float32(lr_bias), lr_a=np.float32(multipliers.readout))
    # A net without biases gets its None back.
    return _shaped_like(model, [new_weights], [new_bias], new_readout)


def predict(model, x):
    """Compute the network's outputs on x (samples x d), for one run."""
    import jax
    import numpy as np

    call = jax.ffi.ffi_call(PREDICT_TARGET, jax.ShapeDtypeStruct(x.shape[:-1], x.dtype),
                            vmap_method="broadcast_all")
    return call(x, model.weights[0], _bias_or_zeros(model), model.readout, c_w=np.float32(model.multipliers[0]),
                c_a=np.float32(model.readout_multiplier))


def _bias_or_zeros(model):
    """Return the hidden layer's bias, or zeros for a net without one (the kernels always add one)."""
    import jax.numpy as jnp

    return model.biases[0] if model.biases[0] is not None else jnp.zeros_like(model.readout)
