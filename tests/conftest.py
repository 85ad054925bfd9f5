"""Shared fixtures: small specs written to temporary files."""

from __future__ import annotations

import textwrap

import pytest

TINY_SPEC = """
wall 0.1
experiment tiny {
  doc = "A tiny leap-2 run for tests"
  target {
    domain = hypercube(d)
    f = x1 + x1*x2*x3
    assert leap(f) == 2
  }
  model mlp2 { width = 32 }
  parametrization mean_field {}
  train { lr = 3.2 / d  batch = 8  steps = 60 }
  sweep { grid { d = [8, 16]  seed = 0..1 } }
  measure test_loss { every = 20  samples = 256 }
  measure samples_to_learn { of = test_loss  below = 0.7 }
  analyze sample_exponent {
    fit = power_law(y = samples_to_learn, x = d)
    bootstrap = 50
    expect exponent > -100
  }
}
"""


@pytest.fixture
def write_spec(tmp_path):
    """Write spec text to a file in a temporary folder and return its path."""

    def write(text: str, name: str = "spec.wall"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return write


@pytest.fixture
def tiny_spec(write_spec):
    return write_spec(TINY_SPEC, "tiny.wall")
