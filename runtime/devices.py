"""The devices a program's runs are split across, and the persistent compilation cache.

On a CPU, XLA runs each of these small per-step matmuls on about one core, so a program
uses every core only when XLA exposes several host devices and the run axis is split
across them. `configure_host_devices` sets that up; it must run before jax is imported,
because XLA reads its flags once. On GPUs the same sharding splits runs across the GPUs.
"""

from __future__ import annotations

import logging
import math
import os
import sys
from pathlib import Path

from wall.compiler.plan import Program
from wall.lang.diagnostics import WallError

logger = logging.getLogger(__name__)

DEVICES_ENV = "WALL_DEVICES"  # host devices to expose on a CPU; default: the usable cores
CACHE_ENV = "WALL_CACHE_DIR"  # persistent compilation cache; "off" disables it
HOST_DEVICE_FLAG = "--xla_force_host_platform_device_count"
# The flag text wallc itself added. Child processes inherit XLA_FLAGS, e.g. a SLURM job
# submitted from a login node, so they recompute the count for their own machine.
ADDED_FLAG_ENV = "WALL_ADDED_XLA_FLAG"


def usable_cores() -> int:
    """Cores this process may run on: the affinity mask, which SLURM and taskset narrow."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def configure_host_devices(count: int | None = None) -> int | None:
    """Ask XLA for `count` CPU host devices (default: $WALL_DEVICES, else the usable cores).

    Returns the host device count in effect, or None when it could not be set: a flag the
    user put in XLA_FLAGS wins, and once jax is imported the flag no longer takes effect.
    """
    flags = os.environ.get("XLA_FLAGS", "")
    added = os.environ.get(ADDED_FLAG_ENV)
    if added and added in flags.split() and not _jax_imported():
        flags = " ".join(flag for flag in flags.split() if flag != added)
    if HOST_DEVICE_FLAG in flags:
        logger.debug("XLA_FLAGS already sets %s; leaving it", HOST_DEVICE_FLAG)
        return _flag_value(flags)
    if _jax_imported():
        logger.debug("jax is already imported, so the host device count stays as it is")
        return None

    if count is None:
        count = _count_from_environment()
    if count is None:
        count = usable_cores()
    if count < 1:
        raise WallError(f"the device count must be at least 1, not {count}")
    os.environ["XLA_FLAGS"] = f"{flags} {HOST_DEVICE_FLAG}={count}".strip()
    os.environ[ADDED_FLAG_ENV] = f"{HOST_DEVICE_FLAG}={count}"
    return count


def _count_from_environment() -> int | None:
    text = os.environ.get(DEVICES_ENV, "").strip()
    if not text:
        return None
    if not text.isdigit():
        raise WallError(f"{DEVICES_ENV}={text!r} is not a device count; set it to a whole number such as 2, "
                        "or unset it to use every usable core")
    return int(text)


def _jax_imported() -> bool:
    return "jax" in sys.modules


def planned_device_count() -> int:
    """The CPU host device count `wallc` will use, found without importing jax."""
    flagged = _flag_value(os.environ.get("XLA_FLAGS", ""))
    return flagged or _count_from_environment() or usable_cores()


def _flag_value(flags: str) -> int | None:
    for flag in flags.split():
        if flag.startswith(HOST_DEVICE_FLAG + "="):
            return int(flag.split("=", 1)[1])
    return None


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "wall" / "jax"


def enable_compilation_cache(folder: str | Path | None = None) -> Path | None:
    """Keep compiled programs on disk, so a re-run of an unchanged spec skips compiling.

    The folder is `folder`, else $WALL_CACHE_DIR, else ~/.cache/wall/jax; $WALL_CACHE_DIR=off
    turns the cache off. Returns the folder in use, or None when off.
    """
    import jax

    setting = str(folder) if folder is not None else os.environ.get(CACHE_ENV, "")
    if setting.lower() == "off":
        return None
    path = Path(setting) if setting else default_cache_dir()
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    # Training programs compile in 0.4 to 4 s on a CPU; keep every one of them.
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def run_devices() -> list:
    """The devices that share a program's runs: every device of JAX's default backend,
    so GPUs when JAX sees them, else the CPU host devices."""
    import jax

    return jax.devices()


def host_cpu_devices() -> int | None:
    """Count the devices this process splits runs across, or return None on GPUs."""
    devices = run_devices()
    return len(devices) if devices[0].platform == "cpu" else None


# On a CPU, a program trains fastest while each device's share of one step's hidden
# activations (runs x batch x width floats) stays within about 2 MB of cache. 128 seeds of
# the reference net trained 1.6x faster as four programs of 32 runs than as one program
# (docs/benchmarks.md). GPUs want large batches, so programs for them are not split.
# NOTE: the 2 MB was measured on one 2-core AMD EPYC; other CPUs may prefer other sizes.
CPU_ACTIVATIONS_PER_DEVICE = 2**19


def split_for_cpu(program: Program, devices: int) -> list[Program]:
    """Split a program into equal parts that `devices` CPU devices train in cache.

    Runs are independent, so splitting does not change their numbers."""
    config = program.config
    step_activations = config.train.batch * config.model.width
    limit = devices * max(1, CPU_ACTIVATIONS_PER_DEVICE // step_activations)
    parts = math.ceil(len(program.runs) / limit)
    if parts <= 1:
        return [program]
    size = math.ceil(len(program.runs) / parts)
    return [Program(f"{program.id}-{index + 1}", program.runs[index * size:(index + 1) * size])
            for index in range(parts)]


def padded_run_count(runs: int, devices: int) -> int:
    """The run count rounded up to a multiple of the device count, so each device gets an
    equal share of the run axis."""
    return -(-runs // devices) * devices


def run_mesh(devices: list):
    import numpy as np
    from jax.sharding import Mesh

    return Mesh(np.asarray(devices), ("runs",))


def per_device(function, devices: list, replicated: int = 0):
    """Run `function` on each device's share of the run axis, with its leading arguments
    split along that axis and the last `replicated` arguments whole on every device.

    The partitioner splits plain XLA kernels this way by itself, but it cannot see into
    a foreign function call (runtime/native.py): it would gather every run onto every
    device first, and each device would train all of them.
    """
    import jax
    from jax.sharding import PartitionSpec

    if len(devices) == 1:
        return function

    def split(*args):
        specs = tuple(PartitionSpec("runs") for _ in args[:len(args) - replicated])
        specs += tuple(PartitionSpec() for _ in args[len(args) - replicated:])
        # check_vma off: a foreign call's outputs carry no record of varying over devices,
        # and nothing here communicates between devices.
        return jax.shard_map(function, mesh=run_mesh(devices), in_specs=specs, out_specs=PartitionSpec("runs"),
                             check_vma=False)(*args)

    return split


def shard_runs(tree, devices: list):
    """Place every array of `tree` with its leading (run) axis split across `devices`.

    Arrays whose leading axis does not divide evenly stay where they are.
    """
    import jax
    from jax.sharding import NamedSharding, PartitionSpec

    if len(devices) == 1:
        return tree
    sharding = NamedSharding(run_mesh(devices), PartitionSpec("runs"))

    def place(leaf):
        if isinstance(leaf, jax.Array) and leaf.ndim > 0 and leaf.shape[0] % len(devices) == 0:
            return jax.device_put(leaf, sharding)
        return leaf

    return jax.tree.map(place, tree)
