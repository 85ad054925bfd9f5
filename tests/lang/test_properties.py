"""Property tests over generated and mutated specs.

- The parser and the checker raise nothing but SpecError, whatever the text.
- `fmt` is idempotent and leaves the plan unchanged on every spec that checks clean.

Example counts are 150 generated specs, 300 mutated specs and 200 random token strings.
They are kept small so the suite stays fast, because each example is a full parse and, for
a valid spec, a full plan.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wall.compiler.plan import plan_experiment
from wall.lang.diagnostics import SpecError
from wall.lang.elaborate import elaborate
from wall.lang.format import format_text
from wall.lang.parser import parse_text

FEATURES = """\
wall 0.1
# Named targets swept as values, extends, interpolation and a zip.
let c = 2.0
model mlp2 base { width = 8  activation = "relu" }
experiment features {
  doc = "features"
  target staircase { domain = hypercube(d)  f = sum(i in 1..3: prod(j in 1..i: x[j])) / sqrt(3) }
  target parity { domain = hypercube(d)  f = x1*x2*x3  assert leap(f) == 3 }
  model mlp2 narrow extends base { width = 4 }
  model mlp2 wide extends narrow { width = 2^4 }
  parametrization mean_field { readout_init = 1e-1 }
  train { lr = c / d  batch = 4  steps = 5 * d }
  let label = "d=${d}"
  sweep {
    grid { target = [staircase, parity]  model = [narrow, wide]  d = [4, 6]  where len(label) > 2 }
    zip { target = [parity, staircase]  model = [wide, narrow]  d = 8..9 }
  }
  measure test_loss { every = 5  samples = 64 }
}
"""

# Mutations start from the first shipped spec and from one that uses the newer features.
# Planning every shipped spec per example would make the test slow.
BASES = [(Path(__file__).resolve().parents[2] / "specs" / "leap2.wall").read_text(), FEATURES]
# No example database: the runs leave no files in the repository.
FAST = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


def plan_ids(text: str):
    """Run ids per experiment, or the sorted diagnostic codes when the spec has problems."""
    try:
        specs = elaborate(parse_text(text, "generated.wall"))
        return [[run.id for run in plan_experiment(spec, text).runs] for spec in specs]
    except SpecError as exc:
        return sorted(d.code for d in exc.diagnostics)


# Generated specs.

spaces = st.sampled_from([" ", "  ", "\n", " \n  ", "\t"])
comments = st.sampled_from(["", "", "  # note", " #x"])


@st.composite
def monomials(draw):
    size = draw(st.integers(1, 3))
    return "*".join(f"x{i}" for i in sorted(draw(st.sets(st.integers(1, 4), min_size=size, max_size=size))))


@st.composite
def specs(draw):
    gap = draw(spaces)
    terms = draw(st.lists(monomials(), min_size=1, max_size=3))
    f = " + ".join(terms)
    width = draw(st.one_of(st.integers(-2, 64), st.just("2 ^ 4"), st.just("w")))
    lr = draw(st.sampled_from(["1.0 / d", "0.5", "1e-2", "2 * 0.1", "0"]))
    ds = draw(st.lists(st.integers(1, 12), min_size=1, max_size=3))
    kind = draw(st.sampled_from(["grid", "zip"]))
    seeds = draw(st.sampled_from(["0..1", "[0]", "0..4 step 2", "[0, 1]"]))
    where = draw(st.sampled_from(["", "  where d > 2", "  where d != 3 or seed == 0"]))
    assertion = draw(st.sampled_from(["", "  assert degree(f) <= 3", "  assert leap(f) >= 1"]))
    comment = draw(comments)
    return (
        f"wall 0.1{comment}\nlet w = 8\nexperiment g {{{gap}"
        f"target {{ domain = hypercube(d){gap}f = {f}{assertion} }}{comment}\n"
        f"  model mlp2 {{ width = {width} }}{gap}parametrization mean_field {{}}\n"
        f"  train {{ lr = {lr}  batch = 4{gap}steps = 3 * d }}\n"
        f"  measure test_loss {{ every = 2 }}{comment}\n"
        f"  sweep {{ {kind} {{ d = {ds}  seed = {seeds}{where} }} }}\n}}\n"
    )


@settings(FAST, max_examples=150)
@given(specs())
def test_generated_specs_format_idempotently_and_keep_plan(text):
    outcome = plan_ids(text)
    formatted = format_text(text)
    assert format_text(formatted) == formatted
    assert plan_ids(formatted) == outcome


# Mutated specs.

TOKENS = ["{", "}", "(", ")", "[", "]", "=", "==", ",", "..", "step", "let", "assert", "where",
          "extends", "import", '"', "${", "#", "\n", "x0", "d", "1e", "2d", "-", "^", ":", "sum(i in 1..3: x[i])",
          "He2(z1)", "model", "train", "sweep", "grid", "zip", "target", "experiment", "30min", "1_0"]


@st.composite
def mutated(draw):
    text = draw(st.sampled_from(BASES))
    for _ in range(draw(st.integers(1, 3))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "replace"]))
        if action == "insert":
            text = text[:position] + draw(st.sampled_from(TOKENS)) + text[position:]
        elif action == "delete":
            text = text[:position] + text[position + draw(st.integers(1, 8)):]
        else:
            text = text[:position] + draw(st.sampled_from(TOKENS)) + text[position + 1:]
    return text


@settings(FAST, max_examples=300)
@given(mutated())
def test_mutated_specs_raise_only_spec_errors(text):
    outcome = plan_ids(text)  # any exception but SpecError fails the test
    if isinstance(outcome, list) and outcome and isinstance(outcome[0], list):
        formatted = format_text(text)
        assert format_text(formatted) == formatted
        assert plan_ids(formatted) == outcome


@settings(FAST, max_examples=200)
@given(st.lists(st.sampled_from(TOKENS + [" ", "a", "1", "0.5"]), max_size=30))
def test_token_soup_raises_only_spec_errors(tokens):
    try:
        parse_text(" ".join(tokens), "soup.wall")
    except SpecError:
        pass
