"""Splitting a program's runs across devices: the flag set-up, padding, and that sharded,
padded runs give the same numbers as the straightforward single-device path."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from wall.lang.diagnostics import WallError
from wall.runtime import devices
from wall.runtime.devices import HOST_DEVICE_FLAG, configure_host_devices, padded_run_count

THREE_SEEDS = """
wall 0.1
experiment three {
  doc = "Three seeds, so two devices need one padding run"
  target { domain = gaussian(d)  f = z1 + z1*z2*z3 }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = 0.1  batch = 8  steps = 30 }
  sweep { grid { d = [6]  seed = 0..2 } }
  measure test_loss { every = 10  samples = 128 }
}
"""

# Runs in a fresh interpreter, because XLA reads the host device count when jax is imported.
COMPARE_SCRIPT = """
import json, sys
from wall.runtime.devices import configure_host_devices
configure_host_devices(2)
import jax
import numpy as np
from wall.compiler.plan import build_plans
from wall.runtime import program as program_module
from wall.runtime.program import CompiledProgram

program = build_plans(sys.argv[1])[0].programs[0]
sharded = CompiledProgram(program)
sharded_loss = sharded.run().test_loss
state, data = sharded.initial_state()
chunk = sharded._chunk.lower(state.model, state.opt_state, sharded.lrs, sharded.keys, sharded._multipliers, data,
                             jax.numpy.asarray(0)).compile().compiled.as_text()
program_module.run_devices = lambda: jax.devices()[:1]
single = CompiledProgram(program).run().test_loss
print(json.dumps({"devices": len(jax.devices()), "padded_runs": int(sharded.keys.shape[0]),
                  "shape": list(sharded_loss.shape),
                  "max_difference": float(np.max(np.abs(sharded_loss - single))),
                  "fused": sharded.native_training, "gathers": "all-gather" in chunk}))
"""


@pytest.mark.parametrize("runs, count, expected", [(1, 1, 1), (3, 2, 4), (4, 2, 4), (5, 4, 8), (32, 2, 32)])
def test_padded_run_count(runs, count, expected):
    assert padded_run_count(runs, count) == expected


def test_user_flag_is_kept(monkeypatch):
    monkeypatch.delenv(devices.ADDED_FLAG_ENV, raising=False)
    monkeypatch.setenv("XLA_FLAGS", f"{HOST_DEVICE_FLAG}=3 --xla_cpu_enable_fast_math=false")
    assert configure_host_devices(2) == 3
    assert os.environ["XLA_FLAGS"] == f"{HOST_DEVICE_FLAG}=3 --xla_cpu_enable_fast_math=false"


def test_inherited_wallc_flag_is_recomputed(monkeypatch):
    monkeypatch.setattr(devices, "_jax_imported", lambda: False)  # as in a fresh process
    monkeypatch.setenv("XLA_FLAGS", f"--xla_cpu_enable_fast_math=false {HOST_DEVICE_FLAG}=2")
    monkeypatch.setenv(devices.ADDED_FLAG_ENV, f"{HOST_DEVICE_FLAG}=2")
    assert configure_host_devices(5) == 5
    assert os.environ["XLA_FLAGS"] == f"--xla_cpu_enable_fast_math=false {HOST_DEVICE_FLAG}=5"


def test_no_flag_once_jax_is_imported(monkeypatch):
    import jax  # noqa: F401  (the test suite has imported it anyway)

    monkeypatch.setenv("XLA_FLAGS", "--xla_cpu_enable_fast_math=false")
    assert configure_host_devices(2) is None
    assert os.environ["XLA_FLAGS"] == "--xla_cpu_enable_fast_math=false"


@pytest.mark.parametrize("text", ["two", "-1", "0"])
def test_invalid_device_count_is_an_error(monkeypatch, text):
    monkeypatch.setattr(devices, "_jax_imported", lambda: False)
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    monkeypatch.delenv(devices.ADDED_FLAG_ENV, raising=False)
    monkeypatch.setenv(devices.DEVICES_ENV, text)
    with pytest.raises(WallError, match=devices.DEVICES_ENV if text != "0" else "at least 1"):
        configure_host_devices()
    assert "XLA_FLAGS" not in os.environ


def test_cache_can_be_turned_off(monkeypatch):
    monkeypatch.setenv(devices.CACHE_ENV, "off")
    assert devices.enable_compilation_cache() is None


# With the fused CPU kernels too: XLA cannot split a foreign call across devices by
# itself, and without `devices.per_device` each device trained every run.
@pytest.mark.parametrize("fused", ["on", "off"])
def test_sharded_padded_runs_match_single_device(tmp_path, fused):
    if fused == "on" and shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler to build the fused kernels")
    spec = tmp_path / "three.wall"
    spec.write_text(textwrap.dedent(THREE_SEEDS))
    environment = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    environment["WALL_NATIVE"] = fused
    completed = subprocess.run([sys.executable, "-c", COMPARE_SCRIPT, str(spec)], capture_output=True, text=True,
                               env=environment, timeout=300)
    assert completed.returncode == 0, completed.stderr[-2000:]
    result = json.loads(completed.stdout.strip().splitlines()[-1])

    assert result["devices"] == 2
    assert result["padded_runs"] == 4
    assert result["shape"] == [3, 4]
    assert result["max_difference"] < 1e-5
    assert result["fused"] is (fused == "on")
    assert not result["gathers"]  # each device trains its own runs
