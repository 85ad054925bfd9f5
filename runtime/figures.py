"""Figures for reports, rendered with matplotlib to inline SVG so a report is one file."""

from __future__ import annotations

import io
import math

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")  # reports are rendered without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .analysis import PowerLawFit  # noqa: E402

plt.rcParams.update({"figure.dpi": 100, "font.size": 10, "axes.grid": True, "grid.alpha": 0.3,
                     "svg.fonttype": "none"})


def to_svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def power_law_figure(fit: PowerLawFit, predicted: float | None, x_label: str, y_label: str) -> str:
    """Log-log plot of every run, the per-x medians, the fitted line and the predicted slope."""
    figure, axes = plt.subplots(figsize=(5.5, 4))
    finished = [(x, y) for x, y, _ in fit.points if math.isfinite(y)]
    censored = [x for x, y, _ in fit.points if not math.isfinite(y)]
    if finished:
        axes.scatter(*zip(*finished), s=14, alpha=0.5, color="tab:blue", label="runs")
    if censored:
        ceiling = max((y for _, y in finished), default=1.0) * 1.5
        axes.scatter(censored, [ceiling] * len(censored), marker="^", color="tab:red",
                     label="censored (did not learn)")
    finite_medians = [(x, m) for x, m in zip(fit.xs, fit.medians) if math.isfinite(m)]
    if finite_medians:
        axes.plot(*zip(*finite_medians), "o", color="black", label="median over seeds")

    grid = np.geomspace(min(fit.xs), max(fit.xs), 50) if fit.xs else np.array([])
    if math.isfinite(fit.exponent):
        axes.plot(grid, fit.prefactor * grid**fit.exponent, color="tab:blue",
                  label=f"fit: exponent {fit.exponent:.2f}")
    if predicted is not None and finite_medians:
        # Anchor the predicted slope at the geometric mean of the medians.
        x0 = math.exp(np.mean(np.log([x for x, _ in finite_medians])))
        y0 = math.exp(np.mean(np.log([m for _, m in finite_medians])))
        axes.plot(grid, y0 * (grid / x0) ** predicted, "--", color="tab:orange",
                  label=f"theory: slope {predicted:g}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    if fit.xs:
        # Label the swept values themselves; log-axis minor labels overlap at these ranges.
        axes.set_xticks(fit.xs, [f"{x:g}" for x in fit.xs])
        axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.legend(fontsize=8)
    return to_svg(figure)


def loss_curves_figure(curves: dict[str, tuple[np.ndarray, np.ndarray]], threshold: float | None,
                       samples_per_step: int) -> str:
    """Median loss over seeds per group, with the 25-75% band, on log axes."""
    figure, axes = plt.subplots(figsize=(6, 4))
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(curves))))
    for color, (label, (steps, losses)) in zip(colors, curves.items()):
        samples = np.maximum(steps, 1) * samples_per_step
        median = np.nanmedian(losses, axis=0)
        low, high = np.nanpercentile(losses, [25, 75], axis=0)
        axes.plot(samples, median, color=color, label=label)
        axes.fill_between(samples, low, high, color=color, alpha=0.2)
    if threshold is not None:
        axes.axhline(threshold, color="gray", linestyle=":", label=f"threshold {threshold:g}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("samples seen")
    axes.set_ylabel("normalised test loss")
    axes.legend(fontsize=8)
    return to_svg(figure)
