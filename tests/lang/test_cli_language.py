"""The language commands of `wallc`: check, plan, fmt, explain, --set and --format json."""

from __future__ import annotations

import json

from wall.runtime.cli import main

SPEC = """\
experiment e {
  target { domain = hypercube(d)  f = x1*x2 }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = 1.0 / d  batch = 4  steps = 10 * d }
  measure test_loss { every = 5 }
  sweep { grid { d = [4, 8] } }
}
"""


def test_check_clean_spec_exits_zero(write_spec, capsys):
    assert main(["check", str(write_spec(SPEC))]) == 0
    assert "2 runs" in capsys.readouterr().out


def test_check_reports_json_records(write_spec, capsys):
    path = write_spec(SPEC.replace("width = 16", "widht = 16"))
    assert main(["check", "--format", "json", str(path)]) == 1
    records = json.loads(capsys.readouterr().out)
    assert [r["code"] for r in records] == ["E0102"]
    assert records[0]["span"]["line"] == 3
    assert records[0]["hint"] == "did you mean `width`?"


def test_plan_with_set(write_spec, capsys):
    path = write_spec(SPEC)
    assert main(["plan", str(path), "--set", "sweep.grid.d=[4, 8, 16]", "--set", "model.width=8"]) == 0
    output = capsys.readouterr().out
    assert "3 runs" in output
    assert "width=8" in output


def test_fmt_check_and_rewrite(write_spec, capsys):
    path = write_spec(SPEC.replace("width = 16", "width=16"))
    assert main(["fmt", "--check", str(path)]) == 1
    assert "width=16" in path.read_text()
    assert main(["fmt", str(path)]) == 0
    assert path.read_text() == SPEC
    assert main(["fmt", "--check", str(path)]) == 0


def test_fmt_of_broken_file_reports_syntax_error(write_spec, capsys):
    path = write_spec("experiment e {\n")
    assert main(["fmt", str(path)]) == 1
    assert "E0001" in capsys.readouterr().err


def test_explain_known_and_unknown_codes(capsys):
    assert main(["explain", "E0121"]) == 0
    assert "override" in capsys.readouterr().out
    assert main(["explain", "E9999"]) == 2


def test_set_error_shows_the_override(write_spec, capsys):
    assert main(["check", str(write_spec(SPEC)), "--set", "nothing.width=1"]) == 1
    error = capsys.readouterr().err
    assert "--> --set #1:1:15" in error
    assert "1 | nothing.width=1" in error
