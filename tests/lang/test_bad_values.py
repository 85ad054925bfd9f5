"""Bad values, names and files: each must give a located diagnostic with its code, never
a traceback or a mistake accepted in silence."""

from __future__ import annotations

import pytest

from wall.compiler.plan import build_plans
from wall.lang.diagnostics import SpecError

SPEC = """wall 0.1
experiment t {
  target { domain = hypercube(d)  f = TARGET  NOISE }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = LR  batch = 4  steps = 20 }
  sweep { grid { d = [4]  seed = 0..1 } }
  measure test_loss { every = 5 }
}
"""


def spec_text(lr="1.0", target="x1", noise=""):
    return SPEC.replace("LR", lr).replace("TARGET", target).replace("NOISE", noise)


def with_analyses(analyses: str) -> str:
    """Return the spec with analyze blocks (ending in the experiment's `}`) added at its end."""
    return spec_text().rstrip().removesuffix("}") + analyses


def diagnostics_of(path):
    with pytest.raises(SpecError) as caught:
        build_plans(path)
    return caught.value.diagnostics


def codes(write_spec, **fields):
    return [(d.code, d.span.line if d.span else None) for d in diagnostics_of(write_spec(spec_text(**fields)))]


@pytest.mark.parametrize("lr, code", [
    ("exp(1000)", "E0314"),
    ("ceil(1e400)", "E0314"),
    ("logspace(0, 400, 3)[2]", "E0314"),
    ("2^100000", "E0314"),
    ('sum(i in 1..3: "a")', "E0313"),
    ("linspace(0, 1, 10^9)[1]", "E0315"),
    ("9" * 2000, "E0001"),
    ("1e999", "E0202"),  # inf
])
def test_bad_number_is_located(write_spec, lr, code):
    assert codes(write_spec, lr=lr, target="x1 + x1*x2") == [(code, 6)]


@pytest.mark.parametrize("target, noise, code", [
    ("x1^(10^20)", "", "E0314"),
    ("He999(z1)", "", "E0312"),
    ("x1", "noise = 30min / 0", "E0314"),
    ("x1", "noise = len(1.0..x1)", "E0313"),
    ("x5", "", "E0202"),  # the domain has only 4 coordinates
    ("x1*x1 + x2*x2", "", "E0202"),  # the constant 2 on the hypercube
    ("He2(x1)", "", "E0202"),  # 0 on the hypercube
    ("[x1, x1*x2][d - 5]", "", "E0310"),  # index -1: no wrapping around to the last item
    ("max(x1, x2)", "", "E0313"),  # no function of numbers takes a polynomial
    ("sqrt(x1)", "", "E0313"),
    ("floor(x1)", "", "E0313"),
])
def test_bad_target_value_is_located(write_spec, target, noise, code):
    assert codes(write_spec, target=target, noise=noise) == [(code, 3)]


def test_long_flat_sum_is_planned(write_spec):
    # Each `+` is one level of recursion in the parser and the evaluator.
    plan = build_plans(write_spec(spec_text(lr="+".join(["0.001"] * 800))))[0]
    assert plan.runs[0].config.train.lr == pytest.approx(0.8)


def test_experiment_name_stays_in_out(write_spec):
    path = write_spec(spec_text().replace("experiment t", 'experiment "../x"'))
    assert [d.code for d in diagnostics_of(path)] == ["E0108"]


def test_two_experiments_with_one_name(write_spec):
    experiment = spec_text()
    (diagnostic,) = diagnostics_of(write_spec(experiment + experiment.replace("wall 0.1\n", "")))
    assert diagnostic.code == "E0106"
    assert diagnostic.span.line == 10


@pytest.mark.parametrize("make, reason", [
    (lambda path: path.mkdir(), "it is a directory"),
    (lambda path: path.write_bytes(b"wall 0.1\n\xff\xfe"), "byte 0xff on line 2 is not UTF-8"),
])
def test_unreadable_spec_file(tmp_path, make, reason):
    path = tmp_path / "spec.wall"
    make(path)
    (diagnostic,) = diagnostics_of(path)
    assert diagnostic.code == "E0002"
    assert reason in diagnostic.message


def test_resources_checked_before_submitting(write_spec):
    resources = '  resources { time = 30  cpus = 0  executor = "ssh" }\n  measure test_loss'
    messages = [d.message for d in diagnostics_of(write_spec(spec_text().replace("  measure test_loss", resources)))]
    assert len(messages) == 3
    assert "`time` in `resources`: 30 is not a quantity with a unit" in messages[0]
    assert "`cpus` in `resources`: 0 is out of range" in messages[1]
    assert '`executor` in `resources`: "ssh" is not one of' in messages[2]


def test_block_extending_itself(write_spec):
    text = spec_text().replace("model mlp2 { width = 16 }", "model mlp2 m extends m { width = 16 }")
    (diagnostic,) = diagnostics_of(write_spec(text))
    assert diagnostic.code == "E0120"
    assert diagnostic.message == "`model mlp2 m` extends itself"


def test_fit_arguments_by_position(write_spec):
    analysis = "  analyze a { fit = power_law(final_test_loss, d) }\n  measure test_loss"
    (diagnostic,) = diagnostics_of(write_spec(spec_text().replace("  measure test_loss", analysis)))
    assert diagnostic.code == "E0602"
    assert diagnostic.hint == "write `power_law(y = ..., x = ...)`"


def test_polynomial_argument_message(write_spec):
    diagnostic = diagnostics_of(write_spec(spec_text(target="max(x1, x2)")))[0]
    assert diagnostic.message == "`max` takes numbers, not a polynomial"
    assert "Polynomial" not in diagnostic.message + (diagnostic.hint or "")


@pytest.mark.parametrize("width, message", [
    ("2_0min", "20min is a quantity, but an integer is needed"),
    ('"wide"', '"wide" is a string, but an integer is needed'),
    ("[1]", "[1] is a list, but an integer is needed"),
])
def test_wrong_type_is_named_in_spec_words(write_spec, width, message):
    text = spec_text().replace("width = 16", f"width = {width}")
    assert diagnostics_of(write_spec(text))[0].message == f"invalid `width` in `model mlp2`: {message}"


def test_underscore_outside_digits_is_a_syntax_error(write_spec):
    diagnostic = diagnostics_of(write_spec(spec_text().replace("width = 16", "width = 16_")))[0]
    assert (diagnostic.code, diagnostic.hint) == (
        "E0001", "an underscore may only stand between two digits, as in `100_000`")


@pytest.mark.parametrize("fields", ["layer_steps = 5  layer_order = [3, 1]", "layer_steps = 5  layer_order = []",
                                    "layer_order = [2, 1]"])
def test_layer_order_must_fit_the_model(write_spec, fields):
    # mlp2 has 2 weight layers; without layer_steps the order would be ignored.
    text = spec_text().replace("steps = 20", f"steps = 20  {fields}")
    assert [(d.code, d.span.line) for d in diagnostics_of(write_spec(text))] == [("E0202", 6)]


def test_choice_in_other_case_suggests_that_choice(write_spec):
    # `gelu` is one edit from `Relu` as well, but a change of case is the likelier slip.
    text = spec_text().replace("width = 16", 'width = 16  activation = "Relu"')
    assert diagnostics_of(write_spec(text))[0].hint == "did you mean `relu`?"


@pytest.mark.parametrize("fields, message, hint", [
    ("width = true", "invalid `width` in `model mlp2`: true is a boolean, but an integer is needed", None),
    ("width = { a = 1 }", "invalid `width` in `model mlp2`: { a = 1 } is an inline object, but an integer is needed",
     None),
    ("width = 10.0^400", "the value is too large for a float", "check the magnitudes: floats end near 1.8e308"),
    ("width = train[0]", "cannot index the `train` block", None),
    ("width = 16  activation = relu", "unknown name `relu`", 'a choice of `activation` is a string: write "relu"'),
    ("width = x1x2", "unknown name `x1x2`", "write `x1*x2` for the product"),
])
def test_message_uses_spec_words(write_spec, fields, message, hint):
    diagnostic = diagnostics_of(write_spec(spec_text().replace("width = 16", fields)))[0]
    assert diagnostic.message == message
    assert diagnostic.hint == hint


def test_expectation_names_the_results_of_its_fit(write_spec):
    # `mean` is a result of mean() and fraction(), not of a power-law fit.
    analysis = "  analyze a {\n    fit = power_law(y = final_test_loss, x = d)\n    expect mean > 1\n  }\n}\n"
    text = with_analyses(analysis)
    diagnostic = diagnostics_of(write_spec(text))[0]
    assert diagnostic.message == "`mean` is not a result of `power_law`"
    assert diagnostic.hint == "a power_law fit gives exponent, prefactor, r2, exponent_low, exponent_high, predicted"


def test_reversed_range_in_expectation_is_an_error(write_spec):
    # `in 2.0 .. 1.0` is false for every exponent, so the expectation could never hold.
    analysis = "  analyze a {\n    fit = power_law(y = final_test_loss, x = d)\n    expect exponent in 2.0 .. 1.0\n  }\n}\n"
    text = with_analyses(analysis)
    diagnostic = diagnostics_of(write_spec(text))[0]
    assert (diagnostic.code, diagnostic.hint) == ("E0311", "write the smaller end first")


def test_expectation_naming_a_later_analysis_says_so(write_spec):
    analyses = ("  analyze a {\n    fit = mean(y = final_test_loss)\n    expect b.mean < 1\n  }\n"
                "  analyze b { fit = mean(y = final_test_loss) }\n}\n")
    text = with_analyses(analyses)
    diagnostic = diagnostics_of(write_spec(text))[0]
    assert diagnostic.message == "the analysis `b` comes after this one"


@pytest.mark.parametrize("block", ["resources { time = 0s }", "resources { mem = 0.5KB }",
                                   "measure plateaus { above = 0.9  below = 0.1 }"])
def test_setting_that_cannot_work_is_rejected(write_spec, block):
    # A zero time limit, memory SLURM cannot take, a plateau window that contains no level.
    text = spec_text().replace("measure test_loss { every = 5 }", f"measure test_loss {{ every = 5 }}\n  {block}")
    assert [(d.code, d.span.line) for d in diagnostics_of(write_spec(text))] == [("E0202", 9)]


def test_misspelt_required_block_is_one_error(write_spec):
    # Not also "has no `model` block": the unknown `modle` with its suggestion is enough.
    diagnostics = diagnostics_of(write_spec(spec_text().replace("model mlp2", "modle mlp2")))
    assert [(d.code, d.hint) for d in diagnostics] == [("E0101", "did you mean `model`?")]


def test_missing_result_of_earlier_analysis(write_spec):
    analyses = ("  analyze a { fit = power_law(y = final_test_loss, x = d) }\n"
                "  analyze b {\n    fit = mean(y = final_test_loss)\n    expect a.mean < 1\n  }\n}\n")
    text = with_analyses(analyses)
    diagnostic = diagnostics_of(write_spec(text))[0]
    assert diagnostic.message == "the analysis `a` has no result `mean`"
    assert diagnostic.hint.startswith("it gives exponent, prefactor")
