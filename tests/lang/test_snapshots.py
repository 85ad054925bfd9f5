"""Rendered diagnostics, pinned as text: the exact output shown to a user."""

from __future__ import annotations

import pytest

from wall.compiler.plan import build_plans
from wall.lang.diagnostics import SpecError, render_all
from wall.lang.parser import parse_text

SPEC = """\
experiment e {
  target { domain = hypercube(d)  f = x1*x2  assert leap(f) == 1 }
  model mlp2 { widht = 16 }
  parametrization mean_field {}
  train { lr = 1.0 / d  batch = 4.5  steps = 10 * d }
  measure test_loss { every = 5 }
  sweep { zip { d = [4, 8]  seed = [0, 1, 2] } }
}
"""


@pytest.fixture
def rendered(tmp_path, monkeypatch):
    """Plan a spec written to ./snap.wall and render its diagnostics."""
    monkeypatch.chdir(tmp_path)

    def render_spec(text: str) -> str:
        (tmp_path / "snap.wall").write_text(text)
        with pytest.raises(SpecError) as caught:
            build_plans("snap.wall")
        return render_all(caught.value.diagnostics, {"snap.wall": text})

    return render_spec


def test_unknown_field_snapshot():
    text = SPEC.replace("  sweep { zip { d = [4, 8]  seed = [0, 1, 2] } }\n", "")
    text = text.replace("d)", "8)").replace("/ d", "/ 8").replace("* d", "* 8")
    with pytest.raises(SpecError) as caught:
        parse_and_check(text)
    assert render_all(caught.value.diagnostics, {"snap.wall": text}) == """\
error[E0102]: unknown field `widht` in `model mlp2`
 --> snap.wall:3:16
  |
3 |   model mlp2 { widht = 16 }
  |                ^^^^^ did you mean `width`?
  = note: `model mlp2` accepts: activation, bias, width"""


def parse_and_check(text):
    from wall.lang.elaborate import elaborate

    return elaborate(parse_text(text, "snap.wall"))


def test_syntax_error_snapshot():
    text = "experiment e {\n  target { assert leap(f) = 2 }\n  train { lr 0.1 }\n"
    with pytest.raises(SpecError) as caught:
        parse_text(text, "snap.wall")
    assert render_all(caught.value.diagnostics, {"snap.wall": text}) == """\
error[E0001]: syntax error: `=` sets a field; compare with `==`
 --> snap.wall:2:27
  |
2 |   target { assert leap(f) = 2 }
  |                           ^ write `==` here

error[E0001]: syntax error: missing `=` between `lr` and its value
 --> snap.wall:3:14
  |
3 |   train { lr 0.1 }
  |              ^^^ add `=`: `lr = 0.1`

error[E0001]: syntax error: unexpected end of file: a `{` is not closed
 --> snap.wall:3:19
  |
3 |   train { lr 0.1 }
  |                   ^ add the missing `}`
  = note: the `{` at snap.wall:1:14 is still open"""


def test_unequal_zip_snapshot(rendered):
    text = SPEC.replace("widht", "width").replace("batch = 4.5", "batch = 4")
    assert rendered(text) == """\
error[E0402]: the lists of a `zip` must have equal lengths
 --> snap.wall:7:11
  |
7 |   sweep { zip { d = [4, 8]  seed = [0, 1, 2] } }
  |           ^^^ give every axis the same number of values
  = note: d has 2, seed has 3"""


def test_float_for_integer_and_leap_snapshot(rendered):
    text = SPEC.replace("widht", "width").replace("seed = [0, 1, 2]", "seed = [0, 1]")
    assert rendered(text) == """\
error[E0501]: assertion failed
 --> snap.wall:2:53
  |
2 |   target { domain = hypercube(d)  f = x1*x2  assert leap(f) == 1 }
  |                                                     ^^^^^^^^^^^^ the spec's claim about its own target does not hold
  = note: `leap(f)` evaluates to 2
  = note: f = x1*x2
  = note: leap 2 is achieved by the ordering {x1,x2} (adds 2)
  = note: first fails at the sweep point d = 4, seed = 0

error[E0201]: invalid `batch` in `train`: 4.5 is a number, but an integer is needed
 --> snap.wall:5:33
  |
5 |   train { lr = 1.0 / d  batch = 4.5  steps = 10 * d }
  |                                 ^^^ write a whole number, or wrap the expression in round(...)"""
