"""The language features beyond the first slice: interpolation, imports, `extends`, named
blocks swept as values, `--set` overrides and syntax-error recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from wall.compiler.plan import build_plans
from wall.lang.diagnostics import SpecError, counted
from wall.lang.parser import parse_text

EXPERIMENT = """\
{top}
experiment e {{
  doc = "plain"
  target {{ domain = hypercube(d)  f = x1*x2 }}
  {model}
  parametrization mean_field {{}}
  {train}
  measure test_loss {{ every = 5 }}
  sweep {{ grid {{ {axes} }} }}
}}
"""


def write(write_spec, top="", model="model mlp2 { width = 16 }",
          train="train { lr = 1.0 / d  batch = 4  steps = 10 * d }", axes="d = [4, 8]", name="spec.wall"):
    return write_spec(EXPERIMENT.format(top=top, model=model, train=train, axes=axes), name)


def codes_of(path, overrides=()):
    return [d.code for d in diagnostics_of(path, overrides)]


def diagnostics_of(path, overrides=()):
    with pytest.raises(SpecError) as caught:
        build_plans(path, list(overrides))
    return caught.value.diagnostics


def parse_diagnostics(text: str, name: str):
    with pytest.raises(SpecError) as caught:
        parse_text(text, name)
    return caught.value.diagnostics


def test_call_without_arguments_is_an_error(write_spec):
    path = write(write_spec, model="model mlp2 { width = sqrt() }")
    (diagnostic,) = diagnostics_of(path)
    assert diagnostic.code == "E0307"
    assert (diagnostic.span.line, diagnostic.span.column) == (5, 24)


# Strings with ${...}.


def test_interpolation_evaluates_expressions(write_spec):
    path = write(write_spec, top='let label = "w=${2 * 8}, lr=${1 / 3}, ok=${true}, t=${30min}"',
                 model="model mlp2 { width = len(label) }")
    plan = build_plans(path)[0]
    assert plan.runs[0].config.model.width == len("w=16, lr=0.333333, ok=true, t=30min")


def test_interpolation_spans_point_into_the_string():
    with pytest.raises(SpecError) as caught:
        parse_text('let s = "a ${1 +} b"', "s.wall")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0001"
    assert (diagnostic.span.line, diagnostic.span.column) == (1, 17)


def test_escaped_dollar_is_literal(write_spec):
    path = write(write_spec, top=r'let label = "\${d}"', model="model mlp2 { width = len(label) }")
    assert build_plans(path)[0].runs[0].config.model.width == 4


def test_unknown_name_in_interpolation_is_located(write_spec):
    path = write(write_spec, top='let label = "${wdth}"', model="model mlp2 { width = len(label) }")
    with pytest.raises(SpecError) as caught:
        build_plans(path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0302"
    assert diagnostic.span.column == len('let label = "${') + 1


# Numbers.


@pytest.mark.parametrize("text, value", [("1_000_000", 1000000), ("2.5e-3", 2.5e-3), ("1E3", 1000.0)])
def test_number_forms(write_spec, text, value):
    path = write(write_spec, train=f"train {{ lr = {text}  batch = 4  steps = 10 }}")
    lr = build_plans(path)[0].runs[0].config.train.lr
    assert lr == pytest.approx(value)


# Named blocks swept as values.


def test_named_targets_and_models_are_swept(write_spec):
    text = """\
experiment e {
  target staircase { domain = hypercube(d)  f = x1 + x1*x2  assert msp(f) }
  target parity { domain = hypercube(d)  f = x1*x2*x3  assert leap(f) == 3 }
  model mlp2 narrow { width = 8 }
  model mlp2 wide extends narrow { width = 32 }
  parametrization mean_field {}
  train { lr = 1.0 / d  batch = 4  steps = 10 }
  measure test_loss { every = 5 }
  sweep { grid { target = [staircase, parity]  model = [narrow, wide]  d = [4] } }
}
"""
    plan = build_plans(write_spec(text))[0]
    chosen = [(str(r.point["target"]), r.config.model.width, r.config.target.expansion().describe())
              for r in plan.runs]
    assert chosen == [("staircase", 8, "x1 + x1*x2"), ("staircase", 32, "x1 + x1*x2"),
                      ("parity", 8, "x1*x2*x3"), ("parity", 32, "x1*x2*x3")]


def test_several_named_blocks_need_an_axis(write_spec):
    path = write(write_spec, model="model mlp2 a { width = 8 }  model mlp2 b { width = 16 }")
    assert codes_of(path) == ["E0112"]


def test_axis_must_name_a_block(write_spec):
    path = write(write_spec, model="model mlp2 a { width = 8 }  model mlp2 b { width = 16 }",
                 axes='d = [4]  model = ["a", "c"]')
    assert codes_of(path) == ["E0403"]


# Imports and extends.


def test_import_with_alias_and_extends(write_spec):
    write_spec('let c = 2.0\ntrain base { lr = c / d  batch = 4  steps = 10 }\n', "common.wall")
    path = write(write_spec, top='import "common.wall" as common', train="train t extends common.base { batch = 8 }")
    runs = build_plans(path)[0].runs
    assert [(r.config.train.lr, r.config.train.batch) for r in runs] == [(0.5, 8), (0.25, 8)]


def test_import_without_alias_shares_lets(write_spec):
    write_spec("let width0 = 12\n", "common.wall")
    path = write(write_spec, top='import "common.wall"', model="model mlp2 { width = width0 }")
    assert build_plans(path)[0].runs[0].config.model.width == 12


def test_import_cycle_is_an_error(write_spec):
    write_spec('import "spec.wall"\n', "other.wall")
    path = write(write_spec, top='import "other.wall"')
    assert "E0113" in codes_of(path)


def test_override_must_be_declared_by_base(write_spec):
    path = write(write_spec, top="model mlp2 base { width = 16 }",
                 model="model mlp2 m extends base { widht = 32 }")
    with pytest.raises(SpecError) as caught:
        build_plans(path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0121"
    assert diagnostic.hint == "did you mean `width`?"


def test_invalid_override_names_its_base(write_spec):
    path = write(write_spec, top="model mlp2 base { width = 16 }",
                 model="model mlp2 m extends base { width = 0 }")
    with pytest.raises(SpecError) as caught:
        build_plans(path)
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0202"
    assert diagnostic.span.line == 5
    assert "overrides the value set at" in diagnostic.notes[0]


# --set overrides.


def test_set_overrides_fields_and_axes(write_spec):
    path = write(write_spec)
    plan = build_plans(path, ["model.width=64", "sweep.grid.d=[2, 3, 5]", "train.lr=0.5/d"])[0]
    assert [r.config.model.width for r in plan.runs] == [64, 64, 64]
    assert [r.point["d"] for r in plan.runs] == [2, 3, 5]
    assert plan.runs[0].config.train.lr == 0.25


def test_set_changes_spec_hash(write_spec):
    path = write(write_spec)
    assert build_plans(path)[0].spec_hash != build_plans(path, ["model.width=64"])[0].spec_hash


def test_set_unknown_field_is_reported(write_spec):
    diagnostic = diagnostics_of(write(write_spec), ["model.widht=64"])[0]
    assert diagnostic.code == "E0102"
    # Marked on the misspelt name in the override, columns 7 to 11 of `model.widht=64`.
    assert (diagnostic.span.column, diagnostic.span.end_column) == (7, 12)


def test_set_without_equals_is_rejected(write_spec):
    assert codes_of(write(write_spec), ["model.width"]) == ["E0114"]


def test_set_value_of_a_block_is_rejected(write_spec):
    # `sweep.grid=1` would add an axis called `grid` beside the grid block.
    diagnostic = diagnostics_of(write(write_spec), ["sweep.grid=1"])[0]
    assert diagnostic.code == "E0114"
    assert diagnostic.message == "`grid` is a block, so an override cannot give it a value"
    assert diagnostic.hint == "set one of its fields, e.g. --set sweep.grid.d=..."


@pytest.mark.parametrize("override, message", [
    ("sweep.d=[16]", "`d` is set in a block inside `sweep`, not in `sweep` itself"),
    ("sweep.grid.where=d>4", "`where` is a keyword, not a field, so an override cannot set it"),
])
def test_set_that_would_add_a_field_is_rejected(write_spec, override, message):
    # Either override would have added a second grid or an axis called `where`.
    diagnostic = diagnostics_of(write(write_spec), [override])[0]
    assert (diagnostic.code, diagnostic.message) == ("E0114", message)


def test_sweep_filter_on_block_field(write_spec):
    models = "model mlp2 narrow { width = 8 }\n  model mlp2 wide { width = 16 }"
    path = write(write_spec, model=models, axes="d = [4]  model = [narrow, wide]  where model.width > 8")
    diagnostic = diagnostics_of(path)[0]
    assert diagnostic.code == "E0304"
    assert diagnostic.hint == "compare the name instead, e.g. `model == narrow`"


def test_axis_missing_from_sibling_sweep_is_explained(write_spec):
    # `d` and `seed` are in sibling blocks, so the grid's points have a seed and no d.
    path = write_spec(EXPERIMENT.format(top="", model="model mlp2 { width = 16 }",
                                        train="train { lr = 1.0 / d  batch = 4  steps = 10 }", axes="seed = [0, 1]")
                      .replace("sweep { grid", "sweep { d = [4]  grid"), "spec.wall")
    diagnostic = diagnostics_of(path)[0]
    assert diagnostic.message == "unknown name `d`"
    assert "sibling sweep blocks are united, not multiplied" in diagnostic.notes[-1]


def test_set_naming_two_blocks_is_rejected(write_spec):
    models = "model mlp2 narrow { width = 8 }\n  model mlp2 wide { width = 16 }"
    path = write(write_spec, model=models, axes="d = [4]  model = [narrow, wide]")
    diagnostic = diagnostics_of(path, ["model.width=32"])[0]
    assert diagnostic.code == "E0114"
    assert diagnostic.hint == "name one by its label: model.narrow.width, model.wide.width"
    assert build_plans(path, ["model.wide.width=32"])[0].runs[1].config.model.width == 32


def test_error_from_an_overridden_let_names_the_override(write_spec):
    path = write(write_spec, top="let c = 1.0", train="train { lr = c  batch = 4  steps = 10 * d }")
    diagnostic = diagnostics_of(path, ["c=2h"])[0]
    assert diagnostic.notes[-1] == "`c` is set by --set c=2h"


def test_set_bare_field_name_is_rejected(write_spec):
    # Without its block the name would only add a `let` that nothing reads.
    diagnostic = diagnostics_of(write(write_spec), ["width=64"])[0]
    assert diagnostic.code == "E0114"
    assert "--set model.width=" in diagnostic.hint


def test_set_top_level_let(write_spec):
    path = write(write_spec, top="let w = 16", model="model mlp2 { width = w }")
    assert build_plans(path, ["w=32"])[0].runs[0].config.model.width == 32


# Syntax-error recovery.


def test_each_slip_gives_one_error():
    text = ("experiment e {\n"
            "  train { lr 0.1  batch = 2d }\n"
            "  target { assert leap(f) = 2 }\n"
            "  model mlp2 { width = [1 2] }\n"
            "}\n")
    with pytest.raises(SpecError) as caught:
        parse_text(text, "slips.wall")
    found = [(d.span.line, d.span.column, d.message) for d in caught.value.diagnostics]
    assert found == [
        (2, 14, "syntax error: missing `=` between `lr` and its value"),
        (2, 27, "syntax error: `2d` is not a number or a name"),
        (3, 27, "syntax error: `=` sets a field; compare with `==`"),
        (4, 27, "syntax error: missing `,` before `2`"),
    ]


@pytest.mark.parametrize("value, operator", [("0..", ".."), ("1e-3 *", "*"), ("0.1 +  # later", "+")])
def test_unfinished_value_is_marked_where_it_stops(value, operator):
    # Without a right side, the next line's field name is read as one, so the parser stops
    # only at its `=`. The error belongs to the operator, not to that `=`.
    text = f"experiment e {{\n  train {{\n    lr = {value}\n    batch = 4\n  }}\n}}\n"
    diagnostic = parse_diagnostics(text, "unfinished.wall")[0]
    assert diagnostic.message == (f"syntax error: nothing follows `{operator}`, so `batch` on line 4 "
                                  "was read as its right side")
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 5 + value.index(operator) + len("lr = "))


@pytest.mark.parametrize("value, hint", [("30 min", "write `30min`"), ("2 hours  cpus = 2", "write `2h`")])
def test_spaced_unit_is_marked(value, hint):
    text = f"experiment e {{\n  resources {{ time = {value} }}\n}}\n"
    diagnostic = parse_diagnostics(text, "units.wall")[0]
    assert diagnostic.message == "syntax error: a quantity is written without a space before its unit"
    assert (diagnostic.span.line, diagnostic.span.column, diagnostic.hint) == (2, 22, hint)


def test_chained_comparison_suggests_and():
    text = "experiment e {\n  target { assert 1 < d < 10 }\n}\n"
    diagnostic = parse_diagnostics(text, "chain.wall")[0]
    assert diagnostic.message == "syntax error: comparisons do not chain: `a < b < c` is not allowed"
    assert diagnostic.hint == "write `a < b and b < c`"


def test_unquoted_import_path_is_one_error():
    # Parsed as written, each later line would also be reported as "expected a string".
    text = "import common.wall as c\nexperiment e {\n  train { lr = 1 }\n}\n"
    diagnostics = parse_diagnostics(text, "imports.wall")
    assert [(d.span.line, d.span.column, d.message) for d in diagnostics] == [
        (1, 8, "syntax error: an import path is a string")]
    assert diagnostics[0].hint == 'write `import "common.wall"`'


def test_unclosed_inner_brace_is_marked():
    # `model` starts at the indentation of the `train` line while train's `{` is open.
    text = "experiment e {\n  train { lr = 1\n  model mlp2 { width = 3 }\n}\n"
    diagnostic = parse_diagnostics(text, "open.wall")[0]
    assert "is not closed" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (2, 9)
    assert diagnostic.hint == "add the missing `}` before line 3"


def test_unclosed_outer_brace_position():
    text = "experiment e {\n  train { lr = 1 }\n  model mlp2 { width = 3 }\n"
    diagnostic = parse_diagnostics(text, "open.wall")[0]
    assert "is not closed" in diagnostic.message
    assert (diagnostic.span.line, diagnostic.span.column) == (3, 27)
    assert diagnostic.notes == ("the `{` at open.wall:1:14 is still open",)


def test_expected_tokens_use_user_words():
    with pytest.raises(SpecError) as caught:
        parse_text("experiment e { train { lr = } }", "x.wall")
    hint = caught.value.diagnostics[0].hint
    assert "a number" in hint
    assert "__ANON" not in hint
    assert "LSQB" not in hint


# The specs shipped with the project.

SPECS = sorted((Path(__file__).resolve().parents[2] / "specs").glob("*.wall"))


@pytest.mark.parametrize("path", SPECS, ids=[p.name for p in SPECS])
def test_shipped_specs_check_clean(path):
    plans = build_plans(path)
    assert plans and all(plan.runs for plan in plans)
    assert [w.code for plan in plans for w in plan.warnings] == []


def test_where_outside_a_sweep_is_rejected(write_spec):
    path = write(write_spec, model="model mlp2 { width = 16  where d > 4 }")
    assert codes_of(path) == ["E0111"]


@pytest.mark.parametrize("count,text", [(0, "0 errors"), (1, "1 error"), (2, "2 errors")])
def test_counted_nouns(count, text):
    assert counted(count, "error") == text
