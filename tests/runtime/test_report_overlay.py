"""The report's combined power-law plot: drawn only for fits of one quantity against one axis."""

from __future__ import annotations

from wall.runtime.analysis import PowerLawFit
from wall.runtime.report import _overlay_figure


def fit(exponent: float) -> PowerLawFit:
    xs = [16.0, 32.0, 64.0]
    medians = [x**exponent for x in xs]
    return PowerLawFit(exponent, 1.0, (exponent - 0.1, exponent + 0.1), 0.95, 1.0, xs, medians,
                       [(x, m, "run") for x, m in zip(xs, medians)], 0, 0.0, None)


def analysis(name: str, x: str, y: str, exponent: float) -> dict:
    return {"name": name, "function": "power_law", "result": fit(exponent), "labels": {"x": x, "y": y}}


def test_overlay_of_one_quantity_uses_its_labels():
    svg = _overlay_figure([analysis("leap1", "d", "samples_to_learn", 1.0),
                           analysis("leap2", "d", "samples_to_learn", 1.3)])
    assert "samples_to_learn (median over seeds)" in svg
    assert "leap2: exponent 1.30" in svg


def test_no_overlay_for_different_quantities():
    # A gap against alpha and a gap against the width on one plot would mislabel both.
    assert _overlay_figure([analysis("gap_vs_alpha", "scale", "twin_gap", -1.0),
                            analysis("gap_vs_width", "m", "twin_gap", -0.3)]) == ""
