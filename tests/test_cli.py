from __future__ import annotations

import json
import subprocess
import sys

from wall.runtime.cli import main


def run_cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "wall.runtime.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=600)


def test_end_to_end_tiny_spec(tiny_spec, tmp_path):
    out = tmp_path / "out"
    completed = run_cli(tiny_spec, "--out", out)
    assert completed.returncode == 0, completed.stderr
    assert "exponent" in completed.stdout
    folder = out / "tiny"
    for name in ("spec.wall", "plan.json", "provenance.json", "summary.json", "report.html"):
        assert (folder / name).exists(), name

    summary = json.loads((folder / "summary.json").read_text())
    assert summary["runs"] == {"planned": 4, "finished": 4, "diverged": 0, "missing": []}
    assert summary["theory"][0]["leap"] == 2
    analysis = summary["analyses"][0]
    assert analysis["expectations"][0]["claim"] == "exponent > -100"

    run_folders = sorted((folder / "runs").iterdir())
    assert len(run_folders) == 4
    result = json.loads((run_folders[0] / "result.json").read_text())
    assert result["status"] == "done"
    assert set(result["measurements"]) >= {"samples_to_learn", "final_test_loss"}
    assert set(result["code"]) >= {"commit", "dirty"}  # the wall version that trained the run
    html = (folder / "report.html").read_text()
    assert "<svg" in html and "Leap(f) = 2" in html


def test_rerun_skips_finished_runs(tiny_spec, tmp_path):
    out = tmp_path / "out"
    assert run_cli(tiny_spec, "--out", out).returncode == 0
    results = sorted((out / "tiny" / "runs").glob("*/result.json"))
    before = [p.stat().st_mtime_ns for p in results]
    again = run_cli(tiny_spec, "--out", out)
    assert again.returncode == 0
    assert "4 of 4 runs already have results" in again.stderr
    assert [p.stat().st_mtime_ns for p in results] == before


def test_report_command_rebuilds_from_results(tiny_spec, tmp_path):
    out = tmp_path / "out"
    assert run_cli(tiny_spec, "--out", out).returncode == 0
    (out / "tiny" / "report.html").unlink()
    assert main(["report", str(out / "tiny")]) == 0
    html = (out / "tiny" / "report.html").read_text()
    assert f"Spec <code>{tiny_spec}</code>" in html  # the file the user ran, not the stored copy


def test_syntax_error_exits_nonzero_without_traceback(write_spec):
    spec = write_spec("experiment e {\n  train { lr 0.1 }\n}\n", "broken.wall")
    completed = run_cli("check", spec)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert f"{spec}:2:14" in completed.stderr
    assert "error[E0001]" in completed.stderr


def test_unknown_field_is_located_with_suggestion(write_spec, tiny_spec):
    spec = write_spec(tiny_spec.read_text().replace("width = 32", "widht = 32"), "typo.wall")
    completed = run_cli(spec)
    assert completed.returncode == 1
    assert "Traceback" not in completed.stderr
    assert "error[E0102]: unknown field `widht` in `model mlp2`" in completed.stderr
    assert "did you mean `width`?" in completed.stderr
    assert "typo.wall:10:16" in completed.stderr


def test_false_leap_assert_shows_computed_leap(write_spec, tiny_spec):
    spec = write_spec(tiny_spec.read_text().replace("leap(f) == 2", "leap(f) == 1"), "leap.wall")
    completed = run_cli("check", spec)
    assert completed.returncode == 1
    assert "error[E0501]: assertion failed" in completed.stderr
    assert "`leap(f)` evaluates to 2" in completed.stderr
    assert "{x1} (adds 1) -> {x1,x2,x3} (adds 2)" in completed.stderr


def test_json_diagnostics(write_spec, capsys):
    spec = write_spec("experiment e {\n  modle mlp2 {}\n}\n", "kinds.wall")
    assert main(["check", "--format", "json", str(spec)]) == 1
    records = json.loads(capsys.readouterr().out)
    codes = [r["code"] for r in records]
    assert "E0101" in codes
    assert all(r["span"]["file"] == str(spec) for r in records)


def test_explain_known_and_unknown_codes(capsys):
    assert main(["explain", "E0102"]) == 0
    assert "unknown field" in capsys.readouterr().out
    assert main(["explain", "E9999"]) == 2


def test_failed_expectation_exits_three(write_spec, tiny_spec, tmp_path):
    spec = write_spec(tiny_spec.read_text().replace("expect exponent > -100", "expect exponent > 100"),
                      "fails.wall")
    completed = run_cli(spec, "--out", tmp_path / "out")
    assert completed.returncode == 3, completed.stderr
    assert "did not hold" in completed.stdout


def test_expectation_on_partial_results_is_a_preview(write_spec, tiny_spec, tmp_path, capsys):
    spec = write_spec(tiny_spec.read_text().replace("expect exponent > -100", "expect exponent > 100"),
                      "fails.wall")
    assert run_cli(spec, "--out", tmp_path / "out").returncode == 3
    folder = tmp_path / "out" / "tiny"
    next((folder / "runs").iterdir()).joinpath("result.json").unlink()  # as after a kill
    assert main(["report", str(folder)]) == 0
    printed = capsys.readouterr().out
    assert "1 run without results, so the expectations below are a preview" in printed
    assert "did not hold so far (3 of 4 runs)" in printed


def test_report_replays_recorded_overrides(tiny_spec, tmp_path):
    out = tmp_path / "out"
    assert run_cli(tiny_spec, "--out", out, "--set", "train.lr=3.2/d").returncode == 0
    planned = json.loads((out / "tiny" / "plan.json").read_text())
    assert main(["report", str(out / "tiny")]) == 0
    summary = json.loads((out / "tiny" / "summary.json").read_text())
    assert summary["runs"]["finished"] == len(planned["runs"]) == 4
    assert summary["runs"]["missing"] == []


def test_version_flag():
    completed = run_cli("--version")
    assert completed.returncode == 0
    assert completed.stdout.startswith("wallc ")


def test_missing_results_folder_not_found(tmp_path):
    for command in ("report", "status"):
        completed = run_cli(command, tmp_path / "nosuch")
        assert completed.returncode == 1
        assert "not found" in completed.stderr
        assert "Traceback" not in completed.stderr


def test_spec_file_given_as_results_folder(tmp_path):
    spec = tmp_path / "leap2.wall"
    spec.write_text("wall 0.1\n")
    for command in ("report", "status"):
        completed = run_cli(command, spec)
        assert completed.returncode == 1
        assert "is a file, not a results folder" in completed.stderr
        assert f"wallc {spec}" in completed.stderr


def test_changed_spec_removes_the_old_report_first(tiny_spec, tmp_path):
    # A report of the old spec must not outlive a rerun that fails before its own report.
    from wall.compiler.plan import build_plans
    from wall.runtime.execute import prepare_store
    from wall.runtime.store import ExperimentStore

    out = tmp_path / "out"
    assert run_cli(tiny_spec, "--out", out).returncode == 0
    store = ExperimentStore(out, "tiny")
    same = build_plans(tiny_spec)[0]
    prepare_store(same, store, "local")
    assert (out / "tiny" / "report.html").exists()  # the same plan: its report stays

    tiny_spec.write_text(tiny_spec.read_text().replace("seed = 0..1", "seed = 0..2"))
    prepare_store(build_plans(tiny_spec)[0], store, "local")
    assert not (out / "tiny" / "report.html").exists()
    assert not (out / "tiny" / "summary.json").exists()


def test_interrupt_keeps_results_without_traceback(write_spec, tmp_path):
    import signal

    spec = write_spec(TINY_SPEC_LONG, "long.wall")
    process = subprocess.Popen([sys.executable, "-m", "wall.runtime.cli", str(spec), "--out", str(tmp_path / "out")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    # Interrupt once training has begun, which the first progress line shows.
    for line in process.stderr:
        if "% after" in line:
            break
    process.send_signal(signal.SIGINT)
    _, rest = process.communicate(timeout=300)
    assert process.returncode == 130
    assert "interrupted; results written so far are kept" in rest
    assert "Traceback" not in rest


TINY_SPEC_LONG = """
wall 0.1
experiment long {
  target { domain = hypercube(d)  f = x1 + x1*x2 }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = 0.1  batch = 8  steps = 200000 }
  sweep { grid { d = [4] } }
  measure test_loss { every = 1000  samples = 64 }
}
"""
