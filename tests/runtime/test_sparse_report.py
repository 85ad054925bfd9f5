"""End to end: a spec with two targets, the coefficient, plateau and weight-change
measurements, and mean, fraction and power-law analyses that select runs with `where`."""

from __future__ import annotations

import json

from wall.compiler.plan import build_plans
from wall.runtime.cli import main
from wall.runtime.report import _relapse_note

SPEC = """
wall 0.1
experiment sparse {
  doc = "Two targets in one report"
  let targets = [x1 + x1*x2, x1*x2*x3]
  target { domain = hypercube(d)  f = targets[k - 1] }
  model mlp2 { width = 32 }
  parametrization mean_field {}
  train { lr = 6.4 / d  batch = 8  steps = 80 }
  sweep { grid { k = [1, 2]  d = [8, 16]  seed = 0..1 } }
  measure test_loss { every = 10  samples = 256 }
  measure samples_to_learn { of = test_loss  below = 0.9 }
  measure coefficients {}
  measure plateaus plateau { tolerance = 0.3  min_fraction = 0.2 }
  measure weight_change { top = 4 }
  analyze easy_slope {
    fit = power_law(y = samples_to_learn, x = d, where = k == 1)
    bootstrap = 50
    expect exponent > -100
  }
  analyze in_order {
    fit = fraction(y = coefficients_in_order, where = k == 1)
    expect mean >= 0
  }
  analyze not_a_condition {
    fit = fraction(y = final_test_loss, where = k == 2)
  }
  analyze hard_loss {
    fit = mean(y = final_test_loss, where = k == 2)
    bootstrap = 50
    expect mean > 0
    expect easy_slope.exponent > -100
  }
}
"""


def test_two_targets_in_one_report(write_spec, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(write_spec(SPEC, "sparse.wall")), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "warning: only 2 values of x, so R^2 = 1 by construction" in printed
    folder = out / "sparse"
    summary = json.loads((folder / "summary.json").read_text())

    analyses = {a["name"]: a for a in summary["analyses"]}
    assert analyses["easy_slope"]["result"]["xs"] == [8.0, 16.0]
    assert analyses["easy_slope"]["predicted"] == 1.0
    assert analyses["easy_slope"]["leap"] == 1
    assert 0.0 <= analyses["in_order"]["result"]["mean"] <= 1.0
    assert analyses["hard_loss"]["result"]["mean"] > 0
    assert "`y` of `fraction` must be true or false" in analyses["not_a_condition"]["result"]["undetermined"]
    assert all(e["held"] for e in analyses["hard_loss"]["expectations"])
    assert len(summary["theory"]) == 2

    run = next((folder / "runs").iterdir())
    measurements = json.loads((run / "result.json").read_text())["measurements"]
    assert set(measurements) >= {"coefficients", "coefficients_in_order", "plateau", "weight_change",
                                 "weight_change_stable_rank"}
    assert len(measurements["coefficients"]["terms"]) in (1, 2)

    html = (folder / "report.html").read_text()
    for heading in ("Coefficient trajectories", "Weight change", "Loss curves"):
        assert heading in html, heading
    assert "log factor at Leap 2" not in html  # the targets have leap 1 and 3


def test_relapse_after_learning_is_noted(write_spec):
    run = build_plans(write_spec(SPEC, "sparse.wall"))[0].runs[0]
    learned = {"censored": False, "value": 80, "lower_bound": 80}
    assert _relapse_note("samples_to_learn", learned, run, final_loss=0.95) == [
        "samples_to_learn: the loss first fell below 0.9, then ended above it"]
    assert _relapse_note("samples_to_learn", learned, run, final_loss=0.5) == []
    assert _relapse_note("samples_to_learn", {**learned, "censored": True}, run, final_loss=0.95) == []
