from __future__ import annotations

import math

import numpy as np

from wall.compiler.plan import build_plans
from wall.runtime.analysis import bootstrap_power_law, fit_power_law, selected_runs
from wall.runtime.measures import samples_to_learn


def test_power_law_recovers_known_exponent():
    xs = np.array([16.0, 32.0, 64.0, 128.0])
    exponent, prefactor, r2 = fit_power_law(xs, 3.0 * xs**1.25)
    assert math.isclose(exponent, 1.25, rel_tol=1e-9)
    assert math.isclose(prefactor, 3.0, rel_tol=1e-9)
    assert math.isclose(r2, 1.0)


def test_bootstrap_interval_covers_true_exponent():
    rng = np.random.default_rng(0)
    xs = [16.0, 32.0, 64.0, 128.0]
    groups = [2.0 * x**1.5 * np.exp(rng.normal(0, 0.1, size=8)) for x in xs]
    (low, high), censored = bootstrap_power_law(xs, groups, resamples=400, level=0.95, seed=1)
    assert low < 1.5 < high
    assert high - low < 0.3
    assert censored == 0.0


def test_bootstrap_counts_censored_medians():
    xs = [16.0, 32.0]
    groups = [np.array([10.0, 11.0, 12.0]), np.array([20.0, math.inf, math.inf])]
    (_, _), censored = bootstrap_power_law(xs, groups, resamples=200, level=0.9, seed=0)
    assert 0.5 < censored < 1.0


def test_samples_to_learn_first_crossing_times_batch():
    steps = np.array([0, 10, 20, 30])
    result = samples_to_learn(steps, np.array([1.0, 0.5, 0.05, 0.01]), below=0.1, batch=16)
    assert result == {"value": 320, "censored": False, "step": 20}


def test_samples_to_learn_censored_is_not_invented():
    steps = np.array([0, 10, 20])
    result = samples_to_learn(steps, np.array([1.0, 0.5, 0.3]), below=0.1, batch=16)
    assert result["censored"] is True
    assert result["value"] == math.inf
    assert result["lower_bound"] == 320


def test_samples_to_learn_diverged_is_not_censored():
    steps = np.array([0, 10, 20, 30])
    result = samples_to_learn(steps, np.array([1.0, np.nan, np.nan, np.nan]), below=0.1, batch=16)
    assert result["diverged"] is True
    assert result["censored"] is False
    assert math.isnan(result["value"])
    assert result["diverged_at_step"] == 10


def test_samples_to_learn_divergence_after_learning_keeps_value():
    steps = np.array([0, 10, 20])
    result = samples_to_learn(steps, np.array([1.0, 0.05, np.nan]), below=0.1, batch=16)
    assert result == {"value": 160, "censored": False, "step": 10}


DIVERGED_SPEC = """
wall 0.1
experiment div {
  target { domain = hypercube(d)  f = x1 + x1*x2 }
  model mlp2 { width = 8 }
  parametrization mean_field {}
  train { lr = 0.1  batch = 4  steps = 10 }
  sweep { grid { d = [4, 8] } }
  measure test_loss { every = 5 }
  analyze learned { fit = fraction(y = final_test_loss < 0.3, where = d == 8) }
}
"""


def test_fraction_reads_a_diverged_loss_as_nan(write_spec):
    # The store writes a diverged run's loss as the string "nan"; compared as a string, it
    # stopped the whole report. The run at d = 4 is also outside `where`.
    plan = build_plans(write_spec(DIVERGED_SPEC, "div.wall"))[0]
    call = next(a.value for a in plan.spec.analyses[0].attributes() if a.name == "fit")
    small, large = plan.runs
    results = {small.id: {"measurements": {"final_test_loss": "nan"}},
               large.id: {"measurements": {"final_test_loss": 0.1}}}
    assert [(run.id, values["y"]) for run, values in selected_runs(plan, call, results)] == [(large.id, True)]
    results[large.id]["measurements"]["final_test_loss"] = "nan"
    assert [values["y"] for _, values in selected_runs(plan, call, results)] == [False]


def test_single_run_note_flags_zero_width_intervals():
    from wall.runtime.analysis import MeanResult, PowerLawFit
    from wall.runtime.report import single_run_note

    one_per_x = PowerLawFit(1.0, 1.0, (1.0, 1.0), 0.95, 1.0, [8.0, 16.0, 32.0], [1, 2, 4],
                            [(8.0, 1.0, "a"), (16.0, 2.0, "b"), (32.0, 4.0, "c")], 0, 0.0, None)
    assert single_run_note(one_per_x).startswith("one run per value of x")
    one_per_x.points.append((8.0, 1.1, "d"))
    assert single_run_note(one_per_x) is None
    assert single_run_note(MeanResult(1.0, (1.0, 1.0), 0.95, [(1.0, "a")], None)).startswith("one run,")
    assert single_run_note(MeanResult(1.0, (1.0, 1.0), 0.95, [(1.0, "a"), (0.0, "b")], None)) is None
