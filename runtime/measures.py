"""Per-run measurements computed on the host from the logged curves."""

from __future__ import annotations

import math

import numpy as np

from wall.compiler import theory

from .data import TargetFunction
from .program import ProgramResult


def samples_to_learn(steps: np.ndarray, loss: np.ndarray, below: float, batch: int) -> dict:
    """Samples until the logged loss first drops below `below`: first such step times batch.

    A run that never gets there is censored: the value is +inf and `lower_bound` is the
    number of samples it did see. It is never dropped or replaced by a guess. A run whose
    loss became NaN or inf first diverged: its value is NaN, because raising the budget
    would not help it and counting it as "above the budget" would bias a fit.
    """
    below_threshold = np.flatnonzero(np.isfinite(loss) & (loss < below))
    first_crossing = below_threshold[0] if below_threshold.size else len(loss)
    if not np.all(np.isfinite(loss[:first_crossing])):
        step = int(steps[np.flatnonzero(~np.isfinite(loss))[0]])
        return {"value": math.nan, "censored": False, "diverged": True, "diverged_at_step": step}
    if below_threshold.size:
        step = int(steps[first_crossing])
        return {"value": step * batch, "censored": False, "step": step}
    return {"value": math.inf, "censored": True, "lower_bound": int(steps[-1]) * batch}


def crossing_steps(steps: np.ndarray, coefficients: np.ndarray, targets: np.ndarray, fraction: float) -> list[float]:
    """For each term, the first logged step at which its coefficient reaches `fraction` of
    its target value (sign included); +inf when it never does."""
    reached = np.isfinite(coefficients) & (coefficients / targets[None, :] >= fraction)
    times = []
    for term in range(targets.size):
        hits = np.flatnonzero(reached[:, term])
        times.append(float(steps[hits[0]]) if hits.size else math.inf)
    return times


def staircase_order(target: TargetFunction, expansion) -> list[int]:
    """Indices of the target's non-constant terms in the order that achieves its leap."""
    positions = {_term_key(target, t): t for t in range(len(target.coefficient))}
    return [positions[term] for term in theory.leap(expansion).order if term in positions]


def _term_key(target: TargetFunction, t: int) -> tuple:
    return tuple((int(i) + 1, int(k)) for i, k in zip(target.index[t], target.degree[t]) if k > 0)


def coefficient_measurement(steps: np.ndarray, coefficients: np.ndarray, config, fraction: float) -> dict:
    """Learning times of every target term and whether they follow the staircase order.

    Ties (two terms crossing within one logging interval) count as in order, since the
    log cannot tell them apart. `ratio` is the last learning time over the first: how much
    later the hardest term is learned than the easiest.
    """
    expansion = config.target.expansion()
    target = TargetFunction.from_expansion(expansion)
    order = staircase_order(target, expansion)
    names = target.term_names()
    times = crossing_steps(steps, coefficients, target.coefficient, fraction)
    ordered_times = [times[t] for t in order]
    learned = [math.isfinite(t) for t in ordered_times]
    in_order = all(learned) and all(a <= b for a, b in zip(ordered_times, ordered_times[1:]))
    # A term learned before the first log counts as learned at the first log, so the
    # ratio stays finite.
    first_log = float(steps[1]) if len(steps) > 1 else 1.0
    ratio = math.inf
    if ordered_times and all(learned):
        ratio = ordered_times[-1] / max(ordered_times[0], first_log)
    return {
        "value": float(in_order),
        "terms": [names[t] for t in order],
        "targets": [float(target.coefficient[t]) for t in order],
        "learned_step": ordered_times,
        "final": [float(coefficients[-1, t]) for t in order],
        "in_order": in_order,
        "fraction_learned": float(np.mean(learned)) if learned else math.nan,
        "ratio": ratio,
    }


def running_median(values: np.ndarray, window: int) -> np.ndarray:
    """Median over a centred window (shrunk at the ends), which removes single-log noise
    of the test loss without moving the edges of a drop."""
    half = window // 2
    return np.array([np.median(values[max(0, i - half):i + half + 1]) for i in range(len(values))])


def find_plateaus(steps: np.ndarray, loss: np.ndarray, tolerance: float, min_steps: float,
                  window: int = 5) -> list[dict]:
    """Find the maximal stretches of the logged loss, after a running median over `window`
    logs, where max / min stays within 1 + tolerance for at least `min_steps`. Each comes
    with its start, end and median level."""
    loss = running_median(np.asarray(loss, float), window)
    plateaus, start, count = [], 0, len(loss)
    while start < count:
        end = start
        while end + 1 < count and _flat(loss[start:end + 2], tolerance):
            end += 1
        if end > start and steps[end] - steps[start] >= min_steps:
            plateaus.append({"start": int(steps[start]), "end": int(steps[end]),
                             "level": float(np.median(loss[start:end + 1]))})
            start = end + 1
        else:
            start += 1
    return plateaus


def _flat(values: np.ndarray, tolerance: float) -> bool:
    if not np.all(np.isfinite(values)) or np.min(values) <= 0:
        return False
    return np.max(values) / np.min(values) <= 1 + tolerance


def plateau_measurement(steps: np.ndarray, loss: np.ndarray, measure, total_steps: int) -> dict:
    plateaus = find_plateaus(steps, loss, measure.tolerance, measure.min_fraction * total_steps)
    inside = [p for p in plateaus if measure.above < p["level"] < measure.below]
    longest = max(inside, key=lambda p: p["end"] - p["start"], default=None)
    return {"value": longest["level"] if longest else math.nan,
            "steps": longest["end"] - longest["start"] if longest else 0,
            "plateaus": plateaus}


def stable_rank(singular_values: np.ndarray, frobenius: np.ndarray) -> np.ndarray:
    """||dW||_F^2 / ||dW||_2^2 per layer; nan where dW is zero."""
    top = singular_values[..., 0]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(top > 0, frobenius**2 / np.maximum(top, 1e-30) ** 2, math.nan)


def weight_change_measurement(singular_values: np.ndarray, frobenius: np.ndarray) -> dict:
    """Final stable rank and norm of W_t - W_0 for each hidden layer (layer 1 is the value)."""
    ranks = stable_rank(singular_values[-1], frobenius[-1])
    return {"value": float(ranks[0]), "stable_rank": [float(r) for r in ranks],
            "norm": [float(n) for n in frobenius[-1]],
            "singular_values": [[float(v) for v in row] for row in singular_values[-1]]}


# Measurement kind -> the curve of a lazy program it reads (runtime/lazy_program.py).
LAZY_CURVES = {"twin_gap": "twin_gap", "kernel_drift": "kernel_drift"}


def final_value(curve: np.ndarray) -> dict:
    """The last logged value of a curve, and its maximum over the run."""
    return {"value": float(curve[-1]), "max": float(np.nanmax(curve))}


def growth_exponent(steps: np.ndarray, curve: np.ndarray, start_fraction: float) -> float:
    """Slope of log(curve) against log(step) over the logged steps from start_fraction * T to T.

    NaN when fewer than three logged points with positive values lie in the window.
    """
    window = (steps >= start_fraction * steps[-1]) & (steps > 0) & np.isfinite(curve) & (curve > 0)
    if window.sum() < 3:
        return math.nan
    slope, _ = np.polyfit(np.log(steps[window]), np.log(curve[window]), 1)
    return float(slope)


def run_measurements(result: ProgramResult, index: int, config) -> dict:
    """Compute every scalar measurement of run `index` of a program."""
    loss = result.test_loss[index]
    finite = np.isfinite(loss)
    scalars = {
        "final_test_loss": float(loss[-1]) if finite[-1] else math.nan,
        "diverged": bool(not finite.all()),
    }
    curves = getattr(result, "curves", {})
    for name, (kind, measure) in config.measures.items():
        if kind == "samples_to_learn":
            scalars[name] = samples_to_learn(result.steps, loss, measure.below, config.train.batch)
        if kind in LAZY_CURVES:
            scalars[name] = final_value(result.curves[LAZY_CURVES[kind]][index])
        if kind == "twin_gap":
            scalars[f"{name}_growth"] = growth_exponent(result.steps, result.curves["twin_gap"][index],
                                                        measure.growth_from)
        elif kind == "coefficients" and "coefficients" in curves:
            found = coefficient_measurement(result.steps, curves["coefficients"][index], config, measure.fraction)
            scalars[name] = found
            scalars.update({f"{name}_in_order": float(found["in_order"]),
                            f"{name}_learned": found["fraction_learned"], f"{name}_ratio": found["ratio"]})
        elif kind == "plateaus":
            found = plateau_measurement(result.steps, loss, measure, config.train.steps)
            scalars[name] = found
            scalars.update({f"{name}_steps": found["steps"], f"{name}_count": len(found["plateaus"])})
        elif kind == "weight_change" and "singular_values" in curves:
            found = weight_change_measurement(curves["singular_values"][index], curves["weight_change_norm"][index])
            scalars[name] = found
            scalars.update({f"{name}_stable_rank": found["value"], f"{name}_norm": found["norm"][0]})
    return scalars


def all_learned(config, losses: np.ndarray) -> bool:
    """Check whether every run has crossed every `stop = true` threshold (for early stopping)."""
    thresholds = [m.below for kind, m in config.measures.values() if kind == "samples_to_learn" and m.stop]
    if not thresholds:
        return False
    reached = np.nanmin(np.where(np.isfinite(losses), losses, np.inf), axis=1)
    return bool(all((reached < t).all() for t in thresholds))
