"""Per-run measurements computed on the host from the logged curves."""

from __future__ import annotations

import math

import numpy as np

from .program import ProgramResult


def samples_to_learn(steps: np.ndarray, loss: np.ndarray, below: float, batch: int) -> dict:
    """Samples until the logged loss first drops below `below`: first such step times batch.

    A run that never gets there is censored: the value is +inf and `lower_bound` is the
    number of samples it did see. It is never dropped or replaced by a guess.
    """
    below_threshold = np.flatnonzero(np.isfinite(loss) & (loss < below))
    if below_threshold.size:
        step = int(steps[below_threshold[0]])
        return {"value": step * batch, "censored": False, "step": step}
    return {"value": math.inf, "censored": True, "lower_bound": int(steps[-1]) * batch}


def run_measurements(result: ProgramResult, index: int, config) -> dict:
    """All scalar measurements of run `index` of a program."""
    loss = result.test_loss[index]
    finite = np.isfinite(loss)
    scalars = {
        "final_test_loss": float(loss[-1]) if finite[-1] else math.nan,
        "diverged": bool(not finite.all()),
    }
    for name, (kind, measure) in config.measures.items():
        if kind == "samples_to_learn":
            scalars[name] = samples_to_learn(result.steps, loss, measure.below, config.train.batch)
    return scalars


def all_learned(config, losses: np.ndarray) -> bool:
    """Whether every run has crossed every `stop = true` threshold (for early stopping)."""
    thresholds = [m.below for kind, m in config.measures.values() if kind == "samples_to_learn" and m.stop]
    if not thresholds:
        return False
    reached = np.nanmin(np.where(np.isfinite(losses), losses, np.inf), axis=1)
    return bool(all((reached < t).all() for t in thresholds))
