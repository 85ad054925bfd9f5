"""The parts of a report that are about lazy training: the theory box and the curves in time."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from wall.compiler.plan import Plan

from .figures import to_svg

THEORY = {
    "model": "f<sub>&alpha;</sub>(x; w) = &alpha; (h(x; w) - h(x; w<sub>0</sub>)), trained by full-batch gradient "
             "descent on (1 / (2&alpha;<sup>2</sup>)) mean (f<sub>&alpha;</sub> - y)<sup>2</sup>, beside its "
             "linearization f<sub>lin</sub>(x; v) = &alpha; Dh(x; w<sub>0</sub>)(v - w<sub>0</sub>) trained on the "
             "same samples.",
    "prediction": "The weights move by O(1/&alpha;), so up to a training time T the distance "
                  "max<sub>t &le; T</sub> ||f<sub>&alpha;</sub> - f<sub>lin</sub>|| falls like 1/&alpha; "
                  "(exponent -1 against &alpha;), the drift of the tangent kernel ||K<sub>t</sub> - K<sub>0</sub>|| / "
                  "||K<sub>0</sub>|| falls like 1/&alpha; too, and the distance grows at most linearly in T "
                  "before convergence, so &alpha; = O(T) keeps the two close (an earlier bound needed "
                  "&alpha; = O(T<sup>2</sup>)).",
    "source": "the lazy-training setting of Chizat et al. (2019), whose bound needed alpha = O(T<sup>2</sup>), "
              "and the later result that alpha = O(T) suffices for square loss, a bound shown to be tight.",
}


def lazy_theory(plan: Plan) -> dict | None:
    """Return the theory box of a lazy experiment, or None when the experiment is not lazy."""
    if plan.runs[0].config.parametrization_kind != "lazy":
        return None
    return THEORY


def _median_curve(group, name: str):
    if not all(name in m for m in group.metrics):
        return None
    length = min(len(m[name]) for m in group.metrics)
    steps = group.metrics[0]["step"][:length]
    return steps, np.nanmedian(np.stack([m[name][:length] for m in group.metrics]), axis=0)


def lazy_time_figure(groups: list) -> str:
    """Plot four panels against the step, each a median over seeds per setting.

    The panels are the gap to the twin, alpha times the gap (the curves coincide when the
    gap is proportional to 1/alpha), the kernel drift and the training loss.
    """
    lazy_groups = [g for g in groups if g.config.parametrization_kind == "lazy"]
    if not lazy_groups:
        return ""
    lazy_groups.sort(key=lambda g: (getattr(g.config.model, "width", 0), g.config.parametrization.alpha))
    figure, axes = plt.subplots(1, 4, figsize=(17, 4))
    colors = plt.cm.viridis(np.linspace(0, 0.9, len(lazy_groups)))
    top_gap = None
    for color, group in zip(colors, lazy_groups):
        alpha = group.config.parametrization.alpha
        gap = _median_curve(group, "twin_gap")
        if gap is not None:
            steps, values = gap[0][1:], gap[1][1:]  # step 0 has gap 0, which a log axis cannot show
            width = getattr(group.config.model, "width", "?")
            axes[0].plot(steps, values, color=color, label=f"width {width}, alpha {alpha:.4g}")
            axes[1].plot(steps, alpha * values, color=color)
            top_gap = (steps, values) if top_gap is None or values[-1] > top_gap[1][-1] else top_gap
        drift = _median_curve(group, "kernel_drift")
        if drift is not None:
            axes[2].plot(drift[0][1:], drift[1][1:], color=color)
        train = _median_curve(group, "train_loss")
        if train is not None:
            axes[3].plot(train[0][1:], train[1][1:], color=color)

    if top_gap is not None:
        # Linear growth through the end of the largest curve: the theory's bound in T.
        steps, values = top_gap
        axes[0].plot(steps, values[-1] * steps / steps[-1], "--", color="gray", label="slope 1 (linear in T)")
    titles = ("max over s <= t of ||f_alpha - f_lin||", "alpha x gap (collapses if gap ~ 1/alpha)",
              "kernel drift ||K_t - K_0|| / ||K_0||", "training loss / Var f")
    for axis, title in zip(axes, titles):
        axis.set_xscale("log")
        axis.set_yscale("log")
        # Labels on the minor ticks (2x10^1, 3x10^1, ...) run into each other at this width.
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("step")
        axis.set_title(title, fontsize=9)
    figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=4, fontsize=8,
                  bbox_to_anchor=(0.5, -0.22))
    return to_svg(figure)
