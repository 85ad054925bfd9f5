"""A results folder with damaged files: `wallc report` and `wallc status` name the file
and go on where they can, instead of stopping with a traceback."""

from __future__ import annotations

import json
import shutil

import pytest

from wall.runtime.cli import main

SPEC = """
wall 0.1
experiment small {
  target { domain = hypercube(d)  f = x1 + x1*x2 }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = 0.1  batch = 4  steps = 20 }
  sweep { grid { d = [4]  seed = 0..2 } }
  measure test_loss { every = 5  samples = 64 }
}
"""


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("damaged")
    spec = root / "small.wall"
    spec.write_text(SPEC)
    assert main(["run", str(spec), "--out", str(root / "out")]) == 0
    return root / "out" / "small"


def copy_of(folder, tmp_path):
    return shutil.copytree(folder, tmp_path / "small")


def test_report_leaves_out_a_run_with_damaged_metrics(trained, tmp_path, caplog):
    folder = copy_of(trained, tmp_path)
    damaged, *_ = sorted((folder / "runs").iterdir())
    (damaged / "metrics.npz").write_bytes(b"PK\x03\x04 truncated")
    assert main(["report", str(folder)]) == 0
    assert f"run {damaged.name} is left out of the report: metrics.npz cannot be read" in caplog.text
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["runs"]["finished"] == 2


def test_report_skips_non_number_measurement(trained, tmp_path, caplog):
    folder = copy_of(trained, tmp_path)
    damaged, *_ = sorted((folder / "runs").iterdir())
    record = json.loads((damaged / "result.json").read_text())
    record["measurements"]["final_test_loss"] = "abc"
    (damaged / "result.json").write_text(json.dumps(record))
    assert main(["report", str(folder)]) == 0
    assert "measurement `final_test_loss` in result.json is 'abc', not a number" in caplog.text


def test_non_record_result_is_untrained(trained, tmp_path, capsys):
    folder = copy_of(trained, tmp_path)
    damaged, *_ = sorted((folder / "runs").iterdir())
    (damaged / "result.json").write_text("[]")
    assert main(["status", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert f"run {damaged.name}" in printed
    assert "damaged result (trains again)" in printed
    assert main(["report", str(folder)]) == 0
    assert json.loads((folder / "summary.json").read_text())["runs"]["finished"] == 2


@pytest.mark.parametrize("text", ["", "{\"runs\": [", "[]", "{}"])
def test_status_names_a_damaged_plan(trained, tmp_path, capsys, text):
    folder = copy_of(trained, tmp_path)
    (folder / "plan.json").write_text(text)
    assert main(["status", str(folder)]) == 1
    error = capsys.readouterr().err
    assert str(folder / "plan.json") in error
    assert f"wallc report {folder}" in error


def test_unwritable_report_is_an_error(trained, tmp_path, capsys):
    folder = copy_of(trained, tmp_path)
    (folder / "report.html").unlink()
    (folder / "report.html").mkdir()  # a folder where the report belongs
    assert main(["report", str(folder)]) == 1
    assert f"cannot write `{folder / 'report.html'}`: Is a directory" in capsys.readouterr().err
    assert len(list((folder / "runs").iterdir())) == 3  # the results are untouched


def test_status_untrained_local_run(trained, tmp_path, capsys):
    folder = copy_of(trained, tmp_path)
    missing, *_ = sorted((folder / "runs").iterdir())
    shutil.rmtree(missing)  # as if the run had not trained before an interrupt
    assert main(["status", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "not trained" in printed
    assert "not submitted" not in printed
