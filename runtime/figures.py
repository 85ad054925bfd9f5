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
    censored = [x for x, y, _ in fit.points if y == math.inf]
    diverged = [x for x, y, _ in fit.points if math.isnan(y)]
    if finished:
        axes.scatter(*zip(*finished), s=14, alpha=0.5, color="tab:blue", label="runs")
    if censored:
        ceiling = max((y for _, y in finished), default=1.0) * 1.5
        axes.scatter(censored, [ceiling] * len(censored), marker="^", color="tab:red",
                     label="censored (did not learn)")
    if diverged:
        ceiling = max((y for _, y in finished), default=1.0) * 1.5
        axes.scatter(diverged, [ceiling] * len(diverged), marker="x", color="tab:purple",
                     label="diverged (NaN loss), not fitted")
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


def _panel_grid(count: int, width_in: float = 3.6, height_in: float = 2.8):
    columns = min(3, count)
    rows = math.ceil(count / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(width_in * columns, height_in * rows), squeeze=False)
    for extra in axes.flat[count:]:
        extra.set_visible(False)
    return figure, axes.flat


def coefficient_figure(panels: list[dict]) -> str:
    """Plot each target coefficient E[f_net chi_S] against samples, one panel per group of
    runs, as the median over seeds. Target values are dashed, and a dotted line marks the
    median step at which each term first reaches the declared fraction of its target."""
    figure, axes_list = _panel_grid(len(panels))
    for axes, panel in zip(axes_list, panels):
        samples = panel["steps"] * panel["batch"]
        colors = plt.cm.tab10(np.arange(len(panel["names"])) % 10)
        for term, (name, target, color) in enumerate(zip(panel["names"], panel["targets"], colors)):
            values = panel["coefficients"][:, :, term]
            axes.plot(samples, np.nanmedian(values, axis=0), color=color, label=name)
            axes.fill_between(samples, *np.nanpercentile(values, [25, 75], axis=0), color=color, alpha=0.15)
            axes.axhline(target, color=color, linestyle="--", linewidth=0.8)
            learned = panel["learned_step"][:, term]
            if np.median(learned) < np.inf:
                axes.axvline(np.median(learned) * panel["batch"], color=color, linestyle=":", linewidth=1)
        axes.set_title(panel["label"], fontsize=9)
        axes.set_xlabel("samples processed (steps x batch)")
        axes.set_ylabel("coefficient")
        axes.legend(fontsize=7)
    figure.tight_layout()
    return to_svg(figure)


def grouped_loss_figure(panels: list[dict], threshold: float | None) -> str:
    """Plot loss curves with one panel per setting of the axes other than d, so curves of
    different targets are not drawn over each other. Detected plateaus are drawn as
    thick translucent segments."""
    figure, axes_list = _panel_grid(len(panels), 4.2, 3.2)
    for axes, panel in zip(axes_list, panels):
        colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(panel["curves"]))))
        for color, (label, curve) in zip(colors, panel["curves"].items()):
            samples = np.maximum(curve["steps"], 1) * curve["batch"]
            losses = curve["losses"]
            axes.plot(samples, np.nanmedian(losses, axis=0), color=color, label=label)
            axes.fill_between(samples, *np.nanpercentile(losses, [25, 75], axis=0), color=color, alpha=0.2)
            for start, end, level in curve.get("plateaus", []):
                axes.plot([max(start, 1) * curve["batch"], end * curve["batch"]], [level, level],
                          color=color, linewidth=10, alpha=0.3, solid_capstyle="butt")
        if threshold is not None:
            axes.axhline(threshold, color="gray", linestyle=":", label=f"threshold {threshold:g}")
        # Plateaus are stretches of linear time; a log time axis would squeeze the late ones.
        if not any(curve.get("plateaus") for curve in panel["curves"].values()):
            axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_title(panel["label"], fontsize=9)
        axes.set_xlabel("samples processed (steps x batch)")
        axes.set_ylabel("normalised test loss")
        axes.legend(fontsize=7)
    figure.tight_layout()
    return to_svg(figure)


def weight_change_figure(panels: list[dict]) -> str:
    """Stable rank of W_t - W_0 per layer over training (median over seeds), and the final
    top singular values of the first layer's change."""
    figure, (rank_axes, spectrum_axes) = plt.subplots(1, 2, figsize=(10, 3.6))
    colors = plt.cm.viridis(np.linspace(0, 0.9, max(1, len(panels))))
    for color, panel in zip(colors, panels):
        samples = np.maximum(panel["steps"], 1) * panel["batch"]
        for layer in range(panel["ranks"].shape[2]):
            style = ["-", "--", ":", "-."][layer % 4]
            rank_axes.plot(samples[1:], np.nanmedian(panel["ranks"][:, 1:, layer], axis=0), style, color=color,
                           label=f"{panel['label']}, layer {layer + 1}")
        spectrum = np.median(panel["singular"][:, -1, 0, :], axis=0)
        spectrum_axes.plot(np.arange(1, spectrum.size + 1), spectrum, "o-", color=color, label=panel["label"])
    rank_axes.set_xscale("log")
    rank_axes.set_xlabel("samples processed (steps x batch)")
    rank_axes.set_ylabel("stable rank of W_t - W_0")
    rank_axes.legend(fontsize=7)
    spectrum_axes.set_yscale("log")
    spectrum_axes.set_xlabel("index")
    spectrum_axes.set_ylabel("singular value of W_T - W_0 (layer 1)")
    spectrum_axes.legend(fontsize=7)
    figure.tight_layout()
    return to_svg(figure)


def mean_figure(values: list[tuple[float, str]], mean: float, interval: tuple[float, float], label: str) -> str:
    """Plot every selected run's value with the mean and its interval."""
    figure, axes = plt.subplots(figsize=(4.5, 1.6))
    ys = [y for y, _ in values if math.isfinite(y)]
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(ys))
    axes.scatter(ys, jitter, s=14, alpha=0.6, color="tab:blue", label="runs")
    if math.isfinite(mean):
        axes.errorbar([mean], [0], xerr=[[mean - interval[0]], [interval[1] - mean]], fmt="o", color="black",
                      capsize=4, label="mean and interval")
    axes.set_yticks([])
    axes.set_ylim(-0.5, 0.5)
    # Few, short labels: the default ones for values like 0.00175 overlap at this width.
    axes.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    axes.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
    axes.set_xlabel(label)
    axes.legend(fontsize=7, loc="upper right")
    return to_svg(figure)


def power_law_overlay(named_fits: list[tuple[str, PowerLawFit]], x_label: str, y_label: str) -> str:
    """Plot the medians and fitted lines of several power-law analyses on one log-log
    plot, so their slopes can be compared at a glance."""
    figure, axes = plt.subplots(figsize=(5.5, 4))
    colors = plt.cm.tab10(np.arange(len(named_fits)) % 10)
    for color, (name, fit) in zip(colors, named_fits):
        finite = [(x, m) for x, m in zip(fit.xs, fit.medians) if math.isfinite(m)]
        if not finite:
            continue
        axes.plot(*zip(*finite), "o", color=color)
        if math.isfinite(fit.exponent):
            grid = np.geomspace(min(fit.xs), max(fit.xs), 50)
            axes.plot(grid, fit.prefactor * grid**fit.exponent, color=color,
                      label=f"{name}: exponent {fit.exponent:.2f}")
    axes.set_xscale("log")
    axes.set_yscale("log")
    xs = sorted({x for _, fit in named_fits for x in fit.xs})
    if xs:
        axes.set_xticks(xs, [f"{x:g}" for x in xs])
        axes.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axes.set_xlabel(x_label)
    axes.set_ylabel(y_label)
    axes.legend(fontsize=8)
    return to_svg(figure)
