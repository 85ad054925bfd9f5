from __future__ import annotations

import pytest

from wall.lang import syntax as ast
from wall.lang.diagnostics import SpecError, render
from wall.lang.parser import parse_expression, parse_text


def test_block_structure_and_spans():
    tree = parse_text('experiment e {\n  model mlp2 { width = 512 }\n}\n', "s.wall")
    experiment = tree.blocks("experiment")[0]
    model = experiment.blocks("model")[0]
    width = model.attributes()[0]
    assert experiment.labels == ("e",)
    assert model.labels == ("mlp2",)
    assert (width.name_span.line, width.name_span.column) == (2, 16)
    assert (width.value.span.line, width.value.span.column, width.value.span.end_column) == (2, 24, 27)
    assert width.value.span.file == "s.wall"


def test_newlines_are_not_significant():
    one_line = parse_text('experiment e { train { lr = 6.4 / d  batch = 16 } }')
    train = one_line.blocks()[0].blocks("train")[0]
    assert [a.name for a in train.attributes()] == ["lr", "batch"]


@pytest.mark.parametrize("text, expected", [
    ("1_000", 1000),
    ("1e-3", 1e-3),
    ("2.5", 2.5),
    ("true", True),
    ('"relu"', "relu"),
])
def test_literals(text, expected):
    node = parse_expression(text)
    assert isinstance(node, ast.Literal)
    assert node.value == expected


def test_quantities_and_ranges():
    quantity = parse_expression("30min")
    assert isinstance(quantity, ast.QuantityLiteral)
    assert (quantity.value, quantity.unit) == (30.0, "min")
    integer_range = parse_expression("0..7")
    assert isinstance(integer_range, ast.RangeExpr)
    stepped = parse_expression("0 .. 10 step 2")
    assert stepped.step is not None


def test_power_binds_tighter_than_negation():
    node = parse_expression("-d^2")
    assert isinstance(node, ast.Unary)
    assert isinstance(node.operand, ast.Binary) and node.operand.op == "^"


def test_comprehension_and_hermite_call():
    node = parse_expression("sum(i in 1..3: prod(j in 1..i: x[j]))")
    assert isinstance(node, ast.Comprehension)
    call = parse_expression("He2(z1) * z2")
    assert isinstance(call.left, ast.Call)


def test_syntax_error_is_located():
    with pytest.raises(SpecError) as caught:
        parse_text("experiment e {\n  train { lr 0.1 }\n}\n", "bad.wall")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0001"
    assert (diagnostic.span.line, diagnostic.span.column) == (2, 14)
    assert "`=`" in diagnostic.hint


def test_unclosed_block_points_at_end_of_file():
    text = "experiment e {\n  train { lr = 1 }\n"
    with pytest.raises(SpecError) as caught:
        parse_text(text, "open.wall")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.span.line == 2
    assert "end of file" in diagnostic.message


def test_rendered_error_shows_caret():
    text = "experiment e {\n  train { lr 0.1 }\n}\n"
    with pytest.raises(SpecError) as caught:
        parse_text(text, "bad.wall")
    rendered = render(caught.value.diagnostics[0], {"bad.wall": text})
    assert "bad.wall:2:14" in rendered
    assert "2 |   train { lr 0.1 }" in rendered
    assert "             ^^^" in rendered
