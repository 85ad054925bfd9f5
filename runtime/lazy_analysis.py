"""What the lazy-training theory predicts for a power-law fit, for the report and `predicted`.

At a fixed training time T, the weights of alpha * (h(w) - h(w0)) move by O(1/alpha). The
distance to the linearized twin is alpha times a second-order term in that displacement, and
the drift of the tangent kernel is first order in it, so both fall like 1/alpha: exponent -1.
"""

from __future__ import annotations

import math

from wall.compiler.plan import Plan
from wall.lang import syntax as ast

from .analysis import selected_runs

ALPHA_EXPONENT = -1.0
LAZY_MEASURES = ("twin_gap", "kernel_drift")


def lazy_predicted_exponent(plan: Plan, call: ast.Call, results: dict[str, dict]) -> float | None:
    """Return -1 when the fit is a lazy measurement against alpha in every selected run, else None."""
    y = dict(call.kwargs).get("y")
    if not isinstance(y, ast.Name):
        return None
    selected = list(selected_runs(plan, call, results))
    if not selected:
        return None
    for run, values in selected:
        config = run.config
        kind = config.measures.get(y.name, (None, None))[0]
        if config.parametrization_kind != "lazy" or kind not in LAZY_MEASURES:
            return None
        if not math.isclose(float(values["x"]), config.parametrization.alpha, rel_tol=1e-9):
            return None
    return ALPHA_EXPONENT


def lazy_theory_note(call: ast.Call, predicted: float | None) -> str:
    """Return the sentence a report shows beside an analysis of a lazy experiment."""
    y = dict(call.kwargs).get("y")
    if call.func.name == "mean" and isinstance(y, ast.Name) and y.name.endswith("_growth"):
        return ("Theory: before convergence the gap grows at most linearly in the training time T, "
                "so its growth exponent is at most 1.")
    if predicted is None:
        return "The lazy-training theory gives no exponent for this fit."
    return "Theory: at a fixed training time the gap to the linearized twin and the kernel drift fall like alpha^-1."
