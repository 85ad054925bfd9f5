"""One case per diagnostic code: a small spec with one mistake, the code it must produce,
and the source text under the reported span."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from wall.compiler.plan import build_plans
from wall.lang.codes import CODES
from wall.lang.diagnostics import SpecError

BASE = """\
experiment e {
  target { domain = hypercube(d)  f = x1*x2 }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = 1.0 / d  batch = 4  steps = 10 * d }
  measure test_loss { every = 5 }
  sweep { grid { d = [4, 8] } }
  # extra
}
"""


def spec(*replacements: tuple[str, str], top: str = "") -> str:
    text = BASE
    for old, new in replacements:
        assert old in text, old
        text = text.replace(old, new, 1)
    return top + text


EXTRA = "# extra"

# (code, files, span text or None, span line or None, overrides)
CASES = [
    ("E0001", spec(("width = 16", "width 16")), "16", 3, ()),
    ("E0003", spec(top="wall 9.9\n"), "9.9", 1, ()),
    ("E0101", spec((EXTRA, "optimizer {}")), "optimizer", 8, ()),
    ("E0102", spec(("width = 16", "widht = 16")), "widht", 3, ()),
    ("E0103", spec(("batch = 4  ", "")), "train", 5, ()),
    ("E0104", spec(("  train { lr = 1.0 / d  batch = 4  steps = 10 * d }\n", "")), "experiment", 1, ()),
    ("E0105", spec(("width = 16", "width = 16  width = 32")), "width", 3, ()),
    ("E0106", spec((EXTRA, "train { lr = 1.0  batch = 4  steps = 10 }")), "train", 8, ()),
    ("E0107", spec(("model mlp2", "model mlp9")), "mlp9", 3, ()),
    ("E0108", spec(("experiment e {", "experiment e f {")), "experiment", 1, ()),
    ("E0110", spec(top='import "missing.wall"\n'), 'import "missing.wall"', 1, ()),
    ("E0111", spec((EXTRA, "assert true")), "assert true", 8, ()),
    ("E0112", spec(("target {", "target main {"),
                   (EXTRA, "target other { domain = hypercube(d)  f = x1 }")), "sweep", 7, ()),
    ("E0113", {"spec.wall": spec(top='import "other.wall"\n'), "other.wall": 'import "spec.wall"\n'},
     'import "spec.wall"', 1, ()),
    ("E0114", spec(), None, 1, ("nothing.width=1",)),
    ("E0115", {"spec.wall": spec(top='import "a.wall"\nimport "b.wall"\n'), "a.wall": "let c = 1\n",
               "b.wall": "let c = 2\n"}, 'import "b.wall"', 2, ()),
    ("E0120", spec(("model mlp2 {", "model mlp2 m extends nobase {")), "nobase", 3, ()),
    ("E0121", spec(("model mlp2 { width = 16 }", "model mlp2 m extends base { widht = 32 }"),
                   top="model mlp2 base { width = 16 }\n"), "widht", 4, ()),
    ("E0122", spec(("model mlp2 { width = 16 }", "model mlp2 m extends base { width = 32 }"),
                   top="model resnet base { width = 16 }\n"), "model", 4, ()),
    ("E0201", spec(("width = 16", "width = 1.5")), "1.5", 3, ()),
    ("E0202", spec(("width = 16", "width = -3")), "-3", 3, ()),
    ("E0301", spec(("width = 16", "width = a"), (EXTRA, "let a = b + 1  let b = a")), "a", 8, ()),
    ("E0302", spec(("width = 16", "width = wdth")), "wdth", 3, ()),
    ("E0303", spec(("width = 16", "width = sqr(16)")), "sqr", 3, ()),
    ("E0304", spec(("batch = 4", "batch = model.widht")), "model.widht", 5, ()),
    ("E0305", spec(("width = 16", "width = sqrt")), "sqrt", 3, ()),
    ("E0306", spec(("width = 16", "width = { assert true }")), "assert true", 3, ()),
    ("E0307", spec(("width = 16", "width = sqrt(1, 2)")), "sqrt(1, 2)", 3, ()),
    ("E0308", spec(("width = 16", "width = max(i in 1..3: i)")), "max(i in 1..3: i)", 3, ()),
    ("E0309", spec(("width = 16", "width = sum(i in 5: i)")), "5", 3, ()),
    ("E0310", spec(("f = x1*x2", "f = x[0]")), "0", 2, ()),
    ("E0311", spec(("width = 16", "width = len(0..5 step 0)")), "0..5 step 0", 3, ()),
    ("E0312", spec(("f = x1*x2", "f = He2(z1*z2)")), "He2(z1*z2)", 2, ()),
    ("E0313", spec(("width = 16", 'width = "a" * 2')), '"a" * 2', 3, ()),
    ("E0314", spec(("width = 16", "width = 1 / 0")), "1 / 0", 3, ()),
    ("E0315", spec(("width = 16", "width = len(linspace(0, 1, 0))")), "linspace(0, 1, 0)", 3, ()),
    ("E0401", spec(("d = [4, 8] }", "d = [4, 8]  where d > 100 }")), "d > 100", 7, ()),
    ("E0402", spec(("grid { d = [4, 8] }", "zip { d = [4, 8]  seed = [1] }")), "zip", 7, ()),
    ("E0403", spec(("d = [4, 8]", "d = [[4], 8]")), "[[4], 8]", 7, ()),
    ("E0404", spec(("grid { d = [4, 8] }", "grid { d = [4]  grid { d = [8] } }")), "grid", 7, ()),
    ("W0405", spec(("d = [4, 8]", "d = [4, 4, 8]")), "sweep", 7, ()),
    ("W0207", spec((EXTRA, "measure samples_to_learn { below = 1.5 }")), "1.5", 8, ()),
    ("W0204", spec(("batch = 4", "batch = 4  momentum = 0.5")), "momentum", 5, ()),
    ("W0605", spec((EXTRA, "analyze a { fit = mean(y = final_test_loss, where = d == 5) }")), "d == 5", 8, ()),
    ("W0203", spec(("f = x1*x2", "f = x1*z2")), "z2", 2, ()),
    ("W0406", spec(("d = [4, 8]", "d = [4, 8]  lr = [0.1]")), "lr", 7, ()),  # one value, read by nothing
    ("W0406", spec(("d = [4, 8]", "d = [4, 8]  dd = [1, 2]")), "dd", 7, ()),
    ("E0501", spec(("f = x1*x2 }", "f = x1*x2  assert leap(f) == 3 }")), "leap(f) == 3", 2, ()),
    ("E0601", spec((EXTRA, "analyze a { fit = nonsense(y = 1) }")), "nonsense", 8, ()),
    ("E0602", spec((EXTRA, 'measure samples_to_learn { of = "nothing"  below = 0.1 }')), '"nothing"', 8, ()),
    ("E0603", spec((EXTRA, "measure samples_to_learn { below = 0.1 }  "
                           "analyze a { fit = power_law(y = samples_to_learn, x = d)  over = sed }")),
     "sed", 8, ()),
    ("E0604", spec(("parametrization mean_field {}", "parametrization lazy { alpha = 1.0 }")), None, None, ()),
]


def run_case(tmp_path: Path, files, overrides):
    files = {"spec.wall": files} if isinstance(files, str) else files
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    try:
        plans = build_plans(tmp_path / "spec.wall", list(overrides))
    except SpecError as exc:
        return exc.diagnostics
    return [w for plan in plans for w in plan.warnings]


def span_text(span) -> str:
    lines = Path(span.file).read_text().splitlines()
    line = lines[span.line - 1]
    end = span.end_column if span.end_line == span.line else len(line) + 1
    return line[span.column - 1:end - 1]


@pytest.mark.parametrize("code, files, text, line, overrides", CASES, ids=[c[0] for c in CASES])
def test_code_and_span(tmp_path, code, files, text, line, overrides):
    diagnostics = run_case(tmp_path, files, overrides)
    matching = [d for d in diagnostics if d.code == code]
    assert matching, [(d.code, d.message) for d in diagnostics]
    diagnostic = matching[0]
    assert diagnostic.severity == ("warning" if code.startswith("W") else "error")
    if line is not None:
        assert diagnostic.span.line == line
    if text is not None:
        assert span_text(diagnostic.span) == text


def test_unreadable_file_has_code_and_no_span(tmp_path):
    with pytest.raises(SpecError) as caught:
        build_plans(tmp_path / "missing.wall")
    diagnostic = caught.value.diagnostics[0]
    assert diagnostic.code == "E0002"
    assert diagnostic.span is None


def test_override_span_points_into_the_override(tmp_path):
    diagnostic = run_case(tmp_path, spec(), ("nothing.width=1",))[0]
    assert diagnostic.span.file == "--set #1"
    assert diagnostic.span.column == len("nothing.width=") + 1


def test_every_code_has_a_case():
    covered = {case[0] for case in CASES} | {"E0002"}
    assert sorted(set(CODES) - covered) == []


def test_every_code_used_is_documented():
    root = Path(__file__).resolve().parents[2]
    used = set()
    for folder in ("lang", "compiler", "runtime"):
        for path in (root / folder).rglob("*.py"):
            used |= set(re.findall(r'"([EW]0\d{3})"', path.read_text()))
    assert sorted(used - set(CODES)) == []
