"""Cross-run analyses: power-law fits with bootstrap intervals, and `expect` claims."""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from wall.compiler.analyses import analysis_settings, fit_function
from wall.compiler.plan import Plan, Run
from wall.compiler.scopes import EVALUATOR, experiment_scope
from wall.compiler.sweep import point_key
from wall.compiler.theory import leap, predicted_sample_exponent
from wall.lang import syntax as ast
from wall.lang.diagnostics import SpecError

from .store import read_number


@dataclasses.dataclass
class PowerLawFit:
    """y = prefactor * x^exponent, fitted to the per-x median of y over replicates."""

    exponent: float
    prefactor: float
    interval: tuple[float, float]
    level: float
    r2: float
    xs: list[float]
    medians: list[float]
    points: list[tuple[float, float, str]]  # (x, y, run id); y is inf when censored, NaN when diverged
    censored_runs: int
    censored_replicates: float  # fraction of bootstrap resamples with a censored median
    undetermined: str | None  # why no exponent could be fitted, if so
    diverged_runs: int = 0  # runs left out because their loss became NaN or inf


def fit_power_law(xs: np.ndarray, ys: np.ndarray) -> tuple[float, float, float]:
    """Least squares of log y on log x; returns (exponent, prefactor, r^2)."""
    log_x, log_y = np.log(xs), np.log(ys)
    slope, intercept = np.polyfit(log_x, log_y, 1)
    residual = log_y - (slope * log_x + intercept)
    total = np.sum((log_y - log_y.mean()) ** 2)
    r2 = 1.0 - np.sum(residual**2) / total if total > 0 else 1.0
    return float(slope), float(math.exp(intercept)), float(r2)


def _medians(groups: list[np.ndarray]) -> np.ndarray:
    # A censored value is +inf: it counts as above every finished one, so the median is
    # exact while fewer than half of a group is censored, and +inf otherwise.
    return np.array([np.median(g) for g in groups])


def bootstrap_power_law(x_values: list[float], groups: list[np.ndarray], resamples: int,
                        level: float, seed: int) -> tuple[tuple[float, float], float]:
    """Percentile interval of the exponent, resampling replicates within each x with replacement."""
    rng = np.random.default_rng(seed)
    xs = np.asarray(x_values, float)
    exponents, censored = [], 0
    for _ in range(resamples):
        resampled = [rng.choice(g, size=g.size, replace=True) for g in groups]
        medians = _medians(resampled)
        # A zero median has no logarithm: such a resample is left out like a censored one.
        if not np.all(np.isfinite(medians)) or np.any(medians <= 0):
            censored += 1
            continue
        exponents.append(fit_power_law(xs, medians)[0])
    if not exponents:
        return (math.nan, math.nan), 1.0
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(exponents, [tail, 100 - tail])
    return (float(low), float(high)), censored / resamples


# The store's spellings of non-finite floats, which JSON cannot hold.
NON_FINITE = ("nan", "inf", "-inf")


def run_values(spec, run: Run, scalars: dict, expressions: dict[str, ast.Node]) -> dict:
    """Evaluate analysis expressions for one run, with its measurements in scope."""
    scope = _results_scope(spec, run, scalars)
    return {key: EVALUATOR.eval(node, scope) for key, node in expressions.items()}


def _results_scope(spec, run: Run, scalars: dict):
    scope = experiment_scope(spec, run.point).child("results")
    for name, value in scalars.items():
        if isinstance(value, dict) and "value" in value:
            value = read_number(value["value"])
        elif isinstance(value, str) and value in NON_FINITE:
            value = read_number(value)  # a diverged run's loss is stored as "nan"
        scope.bind(name, value)
    return scope


@dataclasses.dataclass
class MeanResult:
    """Mean of y over the selected runs, with a bootstrap interval that resamples runs.
    For `fraction`, y is true or false, so the mean is the fraction of runs where it is true."""

    mean: float
    interval: tuple[float, float]
    level: float
    values: list[tuple[float, str]]  # (y, run id)
    undetermined: str | None


def selected_runs(plan: Plan, call: ast.Call, results: dict[str, dict]):
    """(run, evaluated arguments) for each finished run that the call's `where` keeps."""
    expressions = dict(call.kwargs)
    where = expressions.pop("where", None)
    for run in plan.runs:
        if run.id not in results:
            continue
        scope = _results_scope(plan.spec, run, results[run.id]["measurements"])
        # The filter comes first, so that a run it leaves out is never evaluated.
        if where is not None and EVALUATOR.eval(where, scope) is not True:
            continue
        yield run, {key: EVALUATOR.eval(node, scope) for key, node in expressions.items()}


def analyze_mean(plan: Plan, block: ast.Block, call: ast.Call, results: dict[str, dict]) -> MeanResult:
    settings = analysis_settings(block, plan.spec, plan.runs[0].point)
    values = [(float(v["y"]), run.id) for run, v in selected_runs(plan, call, results)]
    result = MeanResult(math.nan, (math.nan, math.nan), settings.level, values, None)
    ys = np.array([y for y, _ in values])
    if ys.size == 0:
        result.undetermined = "no finished run is selected"
        return result
    if not np.all(np.isfinite(ys)):
        result.undetermined = f"{int(np.sum(~np.isfinite(ys)))} selected runs have no finite value"
        return result
    if fit_function(call) == "fraction" and not np.all((ys == 0) | (ys == 1)):
        # A fraction counts runs where a condition holds; the mean of other numbers is not one.
        result.undetermined = ("`y` of `fraction` must be true or false for each run, but some runs "
                               "give other numbers; write a condition such as `final_test_loss < 0.1`")
        return result
    result.mean = float(ys.mean())
    rng = np.random.default_rng(int(plan.spec_hash[:8], 16))
    means = [rng.choice(ys, size=ys.size, replace=True).mean() for _ in range(settings.bootstrap)]
    tail = (1 - settings.level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    result.interval = (float(low), float(high))
    return result


def analyze_power_law(plan: Plan, block: ast.Block, call: ast.Call, results: dict[str, dict]) -> PowerLawFit:
    settings = analysis_settings(block, plan.spec, plan.runs[0].point)
    points, replicate_groups = [], {}
    for run, values in selected_runs(plan, call, results):
        x, y = float(values["x"]), float(values["y"])
        points.append((x, y, run.id))
        if math.isnan(y):
            continue  # a diverged run has no value to fit; it is counted and reported
        # Replicates are runs that differ only in the `over` axis (the seed, usually).
        key = point_key({k: v for k, v in run.point.items() if k != settings.over})
        replicate_groups.setdefault(key, (x, []))[1].append(y)

    ordered = sorted(replicate_groups.values(), key=lambda group: group[0])
    x_values = [x for x, _ in ordered]
    groups = [np.array(ys) for _, ys in ordered]
    censored_runs = sum(1 for _, y, _ in points if y == math.inf)
    diverged = [x for x, y, _ in points if math.isnan(y)]
    fit = PowerLawFit(math.nan, math.nan, (math.nan, math.nan), settings.level, math.nan, x_values,
                      [], points, censored_runs, 0.0, None, len(diverged))
    if len(set(x_values)) < 2:
        fit.undetermined = "fewer than two values of x have finished runs that did not diverge"
        if diverged:
            at = ", ".join(f"{x:g}" for x in sorted(set(diverged)))
            fit.undetermined += (f"; {len(diverged)} runs diverged (NaN or inf loss) at x = {at}, "
                                 "so try a smaller learning rate")
        return fit

    medians = _medians(groups)
    fit.medians = [float(m) for m in medians]
    if not np.all(np.isfinite(medians)):
        bad = [f"{x:g}" for x, m in zip(x_values, medians) if not math.isfinite(m)]
        fit.undetermined = f"half or more of the runs are censored at x = {', '.join(bad)}"
        return fit
    if np.any(medians <= 0):
        bad = [f"{x:g}" for x, m in zip(x_values, medians) if m <= 0]
        fit.undetermined = (f"the median is 0 at x = {', '.join(bad)} (learned before the first log point), "
                            "so no power law can be fitted on log axes; log more often or raise the threshold")
        return fit
    fit.exponent, fit.prefactor, fit.r2 = fit_power_law(np.array(x_values), medians)
    seed = int(plan.spec_hash[:8], 16)
    fit.interval, fit.censored_replicates = bootstrap_power_law(x_values, groups, settings.bootstrap,
                                                                settings.level, seed)
    return fit


def result_bindings(result, predicted: float | None) -> dict:
    """Map the names an `expect` may use to the values of one analysis result."""
    if isinstance(result, MeanResult):
        return {"mean": result.mean, "mean_low": result.interval[0], "mean_high": result.interval[1],
                "runs": len(result.values)}
    return {"exponent": result.exponent, "prefactor": result.prefactor, "r2": result.r2,
            "exponent_low": result.interval[0], "exponent_high": result.interval[1],
            "predicted": math.nan if predicted is None else predicted}


def evaluate_expectations(plan: Plan, block: ast.Block, result, predicted: float | None,
                          earlier: dict[str, dict] | None = None) -> list[dict]:
    """Evaluate each `expect` of an analysis with its results in scope, and the results of
    earlier analyses under their names (`leap3.exponent`).

    An expectation about `exponent` is checked on the point estimate; the interval is
    reported beside it. With no estimate the expectation has not held.
    """
    scope = experiment_scope(plan.spec, plan.runs[0].point).child("analysis")
    for name, bindings in (earlier or {}).items():
        scope.bind(name, bindings)
    for name, value in result_bindings(result, predicted).items():
        scope.bind(name, value)

    outcomes = []
    for claim in block.claims("expect"):
        text = source_text(plan.source, claim.condition)
        if result.undetermined:
            outcomes.append({"claim": text, "held": False, "reason": result.undetermined})
            continue
        try:
            value = EVALUATOR.eval(claim.condition, scope)
        except SpecError as exc:
            outcomes.append({"claim": text, "held": False, "reason": exc.diagnostics[0].message})
            continue
        outcomes.append({"claim": text, "held": value is True,
                         "reason": "" if isinstance(value, bool) else "the claim is not true or false",
                         "values": _values_used(claim.condition, scope)})
    return outcomes


def _values_used(node: ast.Node, scope) -> dict[str, float]:
    """Collect the numbers a claim compared, by name (`exponent_low`, `leap2.exponent`), so
    the report can show them beside the verdict."""
    values = {}
    for part in _walk(node):
        if isinstance(part, (ast.Name, ast.AttributeOf)):
            try:
                value = EVALUATOR.eval(part, scope)
            except SpecError:
                continue
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                values[source_name(part)] = float(value)
    return values


def _walk(node: ast.Node):
    yield node
    for field in dataclasses.fields(node):
        child = getattr(node, field.name)
        children = child if isinstance(child, tuple) else (child,)
        for item in children:
            if isinstance(item, ast.Node) and not isinstance(item, ast.AttributeOf):
                yield from _walk(item)
            elif isinstance(item, ast.AttributeOf):
                yield item


def source_name(node: ast.Node) -> str:
    if isinstance(node, ast.AttributeOf):
        return f"{source_name(node.target)}.{node.name}"
    return getattr(node, "name", "?")


def selected_target(plan: Plan, call: ast.Call, results: dict[str, dict]):
    """Return the target expansion of the runs an analysis selects, or None when they do
    not share one target."""
    targets = {}
    for run, _ in selected_runs(plan, call, results):
        expansion = run.config.target.expansion()
        targets[expansion.describe()] = expansion
    return next(iter(targets.values())) if len(targets) == 1 else None


def source_text(source: str, node: ast.Node) -> str:
    lines = source.splitlines()
    span = node.span
    if span.line == span.end_line:
        return lines[span.line - 1][span.column - 1:span.end_column - 1]
    first = lines[span.line - 1][span.column - 1:]
    return " ".join([first] + lines[span.line:span.end_line - 1] + [lines[span.end_line - 1][:span.end_column - 1]])


ANALYZERS = {"power_law": analyze_power_law, "mean": analyze_mean, "fraction": analyze_mean}


def analyze_all(plan: Plan, results: dict[str, dict]) -> list[dict]:
    """Run every `analyze` block of the plan's experiment on the finished runs."""
    summaries, earlier = [], {}
    for block in plan.spec.analyses:
        fit_attribute = next(a for a in block.attributes() if a.name == "fit")
        call = fit_attribute.value
        result = ANALYZERS[call.func.name](plan, block, call, results)
        target = selected_target(plan, call, results) if call.func.name == "power_law" else None
        predicted = None if target is None else float(predicted_sample_exponent(target))
        theory_note = None
        if plan.runs[0].config.parametrization_kind == "lazy":
            from .lazy_analysis import lazy_predicted_exponent, lazy_theory_note  # they import this module

            if call.func.name == "power_law":
                predicted = lazy_predicted_exponent(plan, call, results)
            theory_note = lazy_theory_note(call, predicted)
        name = block.labels[0] if block.labels else "analysis"
        summaries.append({
            "name": name,
            "function": call.func.name,
            "fit": source_text(plan.source, call),
            "result": result,
            "predicted": predicted,
            "leap": None if target is None else leap(target).leap,
            "theory_note": theory_note,
            "labels": {argument: source_text(plan.source, node) for argument, node in call.kwargs},
            "expectations": evaluate_expectations(plan, block, result, predicted, earlier),
        })
        earlier[name] = result_bindings(result, predicted)
    return summaries
