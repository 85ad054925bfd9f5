"""The fused CPU kernels (runtime/native.py) train the runs XLA's kernels train, to float
rounding, and the program falls back to XLA wherever they do not apply or cannot be built.

The shapes reach every block size of the kernels. A width of 24 is a block of two vectors
and one of one. A batch of 10 is a block of 6 rows and one of 4. In the outputs test,
1100 samples at d = 64 make three row tiles of inputs (128 KB each).
"""

from __future__ import annotations

import logging
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from wall.compiler.plan import build_plans
from wall.runtime import native
from wall.runtime.models import Network
from wall.runtime.program import CompiledProgram, _predict_in_blocks

# The kernels need a C++ compiler; without one, training falls back to XLA (tested below).
needs_compiler = pytest.mark.skipif(shutil.which("c++") is None and shutil.which("g++") is None,
                                    reason="no C++ compiler to build the fused kernels")

SPEC = """
wall 0.1
experiment fused {{
  target {{ domain = {domain}  f = x1 + x1*x2*x3  noise = 0.1 }}
  model mlp2 {{ width = {width}  bias = {bias} }}
  parametrization {parametrization} {{}}
  train {{ optimizer = "{optimizer}"  lr = 0.3  batch = 10  steps = 12 {extra} }}
  sweep {{ grid {{ seed = [0, 1] }} }}
  measure test_loss {{ every = 4  samples = 600 }}
}}
"""


def spec_text(domain="hypercube(7)", width=24, bias="true", parametrization="mean_field", optimizer="sgd",
              extra=""):
    return SPEC.format(domain=domain, width=width, bias=bias, parametrization=parametrization,
                       optimizer=optimizer, extra=extra)


def train(path, setting, monkeypatch):
    monkeypatch.setenv(native.NATIVE_ENV, setting)
    compiled = CompiledProgram(build_plans(path)[0].programs[0])
    return compiled, compiled.run().test_loss


@needs_compiler
@pytest.mark.parametrize("text", [
    spec_text(),
    spec_text(domain="gaussian(7)", bias="false"),
    spec_text(parametrization="ntk"),  # a first-layer multiplier of 1 / sqrt(d)
    spec_text(extra="samples = 40"),  # ERM: batches from a fixed training set
], ids=["hypercube", "gaussian-no-bias", "ntk", "erm"])
def test_fused_step_matches_xla(write_spec, monkeypatch, text):
    path = write_spec(text.replace("x1 + x1*x2*x3", "z1 + z1*z2*z3") if "gaussian" in text else text)
    fused, fused_loss = train(path, "on", monkeypatch)
    plain, plain_loss = train(path, "off", monkeypatch)

    assert fused.native_training
    assert not plain.native
    assert fused_loss.shape == (2, 4)
    np.testing.assert_allclose(fused_loss, plain_loss, rtol=1e-4, atol=1e-7)


@needs_compiler
@pytest.mark.parametrize("width,optimizer,extra", [
    (24, "adam", ""),
    (24, "sgd", 'loss = "logistic"'),
    (24, "sgd", "weight_decay = 0.01"),
    (24, "sgd", "halve_every = 5"),
])
def test_other_training_rules_stay_on_xla(write_spec, monkeypatch, width, optimizer, extra):
    path = write_spec(spec_text(width=width, optimizer=optimizer, extra=extra))
    compiled, loss = train(path, "on", monkeypatch)

    assert compiled.native
    assert not compiled.native_training
    assert np.all(np.isfinite(loss))


def test_width_of_12_stays_on_xla(write_spec, monkeypatch):
    path = write_spec(spec_text(width=12))
    _, fused_loss = train(path, "on", monkeypatch)
    _, plain_loss = train(path, "off", monkeypatch)

    # Both ran XLA's kernels, so the numbers are the same to the last bit.
    np.testing.assert_array_equal(fused_loss, plain_loss)


def random_network(key, d: int, width: int, bias: bool) -> Network:
    kw, kb, ka = jax.random.split(key, 3)
    weights = jax.random.normal(kw, (d, width)) / np.sqrt(d)
    biases = jax.random.normal(kb, (width,)) if bias else None
    readout = jnp.sign(jax.random.normal(ka, (width,)))
    return Network((weights,), (biases,), readout, (0.7,), 1.0 / width, "relu", False)


@needs_compiler
@pytest.mark.parametrize("bias", [True, False])
def test_fused_outputs_match_xla(monkeypatch, bias):
    monkeypatch.setenv(native.NATIVE_ENV, "on")
    assert native.enabled()
    model = random_network(jax.random.PRNGKey(3), d=64, width=40, bias=bias)
    x = jax.random.normal(jax.random.PRNGKey(4), (1100, 64))

    fused = jax.jit(native.predict)(model, x)
    np.testing.assert_allclose(fused, _predict_in_blocks(model, x), rtol=1e-5, atol=1e-6)


@needs_compiler
def test_kernel_rejects_width_of_12(monkeypatch):
    monkeypatch.setenv(native.NATIVE_ENV, "on")
    assert native.enabled()
    model = random_network(jax.random.PRNGKey(3), d=5, width=12, bias=True)

    with pytest.raises(Exception, match="width 12 is not a multiple of 8"):
        jax.block_until_ready(jax.jit(native.predict)(model, jnp.ones((4, 5))))


@needs_compiler
def test_library_is_built_once(tmp_path):
    first = native.build_library(tmp_path)
    built_at = first.stat().st_mtime_ns

    assert native.build_library(tmp_path) == first
    assert first.stat().st_mtime_ns == built_at
    assert list(tmp_path.iterdir()) == [first]  # no scratch folder left behind


def test_no_compiler_falls_back_to_xla(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(native.shutil, "which", lambda name: None)
    with caplog.at_level(logging.INFO, logger=native.__name__):
        assert native.build_library(tmp_path) is None
    assert "no C++ compiler" in caplog.text


def test_unwritable_cache_falls_back_to_xla(tmp_path, caplog):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    with caplog.at_level(logging.WARNING, logger=native.__name__):
        assert native.build_library(blocked / "native") is None
    assert "building the fused CPU kernels" in caplog.text


@needs_compiler
def test_failed_build_falls_back_to_xla(tmp_path, monkeypatch, caplog, write_spec):
    broken = tmp_path / "broken.cc"
    broken.write_text("this is not C++\n")
    monkeypatch.setattr(native, "SOURCE", broken)
    monkeypatch.setattr(native, "_registered", None)
    monkeypatch.setattr(native, "default_cache_dir", lambda: tmp_path / "jax")
    monkeypatch.setenv(native.NATIVE_ENV, "on")

    with caplog.at_level(logging.WARNING, logger=native.__name__):
        compiled, loss = train(write_spec(spec_text()), "on", monkeypatch)
    assert "compiling the fused CPU kernels failed" in caplog.text
    assert list((tmp_path / "native").iterdir()) == []  # the scratch folder is removed
    assert not compiled.native
    assert np.all(np.isfinite(loss))


@pytest.mark.parametrize("flags,suited", [
    ("fpu sse2 avx avx2 fma", True),
    ("fpu sse2 avx avx2 fma avx512f avx512bw", False),  # XLA's matmuls reach the peak there
    ("fpu sse2 avx", False),
])
def test_cpus_the_kernels_suit(monkeypatch, flags, suited):
    monkeypatch.setattr(native, "_cpu_features", lambda: f"flags\t\t: {flags}\nmodel name\t: some CPU")
    assert native.suited_cpu() is suited
