"""`wallc fmt`: canonical layout, comments kept, idempotent, and the plan unchanged."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from wall.compiler.plan import build_plans
from wall.lang import syntax as ast
from wall.lang.diagnostics import Span
from wall.lang.format import format_text
from wall.lang.parser import parse_text

SPECS = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.wall"))

MESSY = """\
# header comment
wall 0.1   # version


let  base=12.8   # trailing
experiment   e{   # opening
    doc="x"


  target{domain=hypercube( d )
f=x1+x1*x2 # poly
  assert leap(f)==2}
    model mlp2 {width=[1,2,
      3 ,4]   }
  # lonely comment

  sweep {
     grid { d = [ 8,16 ]  seed=0..7 step 2 where d>1 and not false }
  }
  measure test_loss{every=ceil(train.steps/400)
  }
  # before close
}
"""

MESSY_FORMATTED = """\
# header comment
wall 0.1  # version

let base = 12.8  # trailing
experiment e {  # opening
  doc = "x"

  target {
    domain = hypercube(d)
    f = x1+x1*x2  # poly
    assert leap(f)==2
  }
  model mlp2 {
    width = [1, 2,
        3, 4]
  }
  # lonely comment

  sweep {
    grid { d = [8, 16]  seed = 0..7 step 2  where d>1 and not false }
  }
  measure test_loss {
    every = ceil(train.steps/400)
  }
  # before close
}
"""


def without_spans(node):
    """A syntax tree with every span replaced, to compare what two texts mean."""
    if isinstance(node, Span):
        return None
    if isinstance(node, tuple):
        return tuple(without_spans(item) for item in node)
    if dataclasses.is_dataclass(node):
        return type(node)(**{f.name: without_spans(getattr(node, f.name)) for f in dataclasses.fields(node)})
    return node


def test_messy_layout_is_canonical():
    assert format_text(MESSY) == MESSY_FORMATTED


def test_formatting_twice_changes_nothing():
    assert format_text(MESSY_FORMATTED) == MESSY_FORMATTED


def test_every_comment_is_kept():
    formatted = format_text(MESSY)
    for comment in ("# header comment", "# version", "# trailing", "# opening", "# poly",
                    "# lonely comment", "# before close"):
        assert formatted.count(comment) == 1, comment


def test_syntax_tree_is_unchanged():
    assert without_spans(parse_text(format_text(MESSY))) == without_spans(parse_text(MESSY))


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_specs_are_formatted(path):
    text = path.read_text()
    assert format_text(text, str(path)) == text


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_formatting_preserves_plan(path, tmp_path):
    formatted = tmp_path / path.name
    formatted.write_text(format_text(path.read_text(), str(path)))
    before = [[r.id for r in plan.runs] for plan in build_plans(path)]
    after = [[r.id for r in plan.runs] for plan in build_plans(formatted)]
    assert before == after


def test_comments_stay_with_what_they_follow():
    # A member written on the `{` line moves to its own line with its comment. A comment
    # after a `}` that shares a line with the last member stays after the `}`.
    text = """\
wall 0.1
experiment e {
  model mlp2 { width = 64  # narrow
  }
  target { domain = hypercube(d)
           f = x1 }  # target block
}
"""
    assert format_text(text) == """\
wall 0.1
experiment e {
  model mlp2 {
    width = 64  # narrow
  }
  target {
    domain = hypercube(d)
    f = x1
  }  # target block
}
"""


def test_comment_before_brace_moves_after_it():
    # Printed in place, the comment would swallow the `{` and the file would stop parsing.
    text = 'wall 0.1\nexperiment e  # main\n{\n  model mlp2\n    base  # shared\n  { width = 8 }\n}\n'
    formatted = format_text(text)
    assert formatted == 'wall 0.1\nexperiment e {  # main\n  model mlp2 base {  # shared\n    width = 8\n  }\n}\n'
    assert without_spans(parse_text(formatted)) == without_spans(parse_text(text))


def test_comment_inside_list_is_printed_once():
    text = 'wall 0.1\nexperiment e {\n  resources { extra = ["a",  # first\n                "b"] }\n}\n'
    formatted = format_text(text)
    assert formatted.count("# first") == 1
    assert format_text(formatted) == formatted
