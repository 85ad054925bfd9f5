"""Plan-time checks of `analyze` blocks, so a broken analysis fails before training."""

from __future__ import annotations

import pydantic

from wall.lang import schema
from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic, SpecError, did_you_mean
from wall.lang.elaborate import ExperimentSpec
from wall.lang.evaluate import unknown_name

from .scopes import EVALUATOR, experiment_scope
from .sweep import Point

# Names an `expect` may use besides the spec's own names, by the fit that gives them.
POWER_LAW_RESULTS = ("exponent", "prefactor", "r2", "exponent_low", "exponent_high", "predicted")
MEAN_RESULTS = ("mean", "mean_low", "mean_high", "runs")
FIT_RESULTS = POWER_LAW_RESULTS + MEAN_RESULTS
RUN_SCALARS = ("final_test_loss",)


def analysis_settings(block: ast.Block, spec: ExperimentSpec, point: Point) -> schema.AnalyzeConfig:
    """Evaluate an analysis block's settings; `over` names an axis, so a bare name is taken literally."""
    scope = experiment_scope(spec, point)
    values = {}
    for attribute in block.attributes():
        if attribute.name == "fit":
            continue
        if attribute.name == "over" and isinstance(attribute.value, ast.Name):
            values["over"] = attribute.value.name
        else:
            values[attribute.name] = EVALUATOR.eval(attribute.value, scope)
    return schema.AnalyzeConfig.model_validate(values)


def check_analyses(spec: ExperimentSpec, points: list[Point]) -> list[Diagnostic]:
    problems: list[Diagnostic] = []
    axes = set().union(*(p.keys() for p in points)) if points else set()
    measures = [spec.measure_name(b) for b in spec.measures]
    measures += [name for b in spec.measures if b.labels and b.labels[0] in schema.MEASURE_KINDS
                 for name in schema.derived_scalars(b.labels[0], spec.measure_name(b))]
    earlier: dict[str, tuple[str, ...]] = {}
    for block in spec.analyses:
        problems.extend(_check_settings(block, spec, points[0], axes))
        call = next(a.value for a in block.attributes() if a.name == "fit")
        for point in points:
            found = _check_arguments(call, spec, point, measures)
            if found:
                problems.extend(found)
                break
        else:
            problems.extend(_check_selection(call, spec, points, measures))
        later = [analysis_name(b) for b in spec.analyses[spec.analyses.index(block) + 1:]]
        problems.extend(_check_expectations(block, spec, points[0], earlier, later))
        earlier[analysis_name(block)] = _results_of(call)
    return problems


def _check_settings(block, spec, point, axes) -> list[Diagnostic]:
    try:
        settings = analysis_settings(block, spec, point)
    except SpecError as exc:
        return exc.diagnostics
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else ""
        span = next((a.value.span for a in block.attributes() if a.name == name), block.kind_span)
        return [Diagnostic("E0202", f"invalid analysis setting `{name}`: {first['msg']}", span)]
    if settings.over not in axes:
        span = next(a.value.span for a in block.attributes() if a.name == "over") \
            if any(a.name == "over" for a in block.attributes()) else block.kind_span
        return [Diagnostic("E0603", f"`over = {settings.over}` is not a sweep axis", span,
                           hint=did_you_mean(settings.over, axes),
                           notes=(f"sweep axes: {', '.join(sorted(axes))}",))]
    return []


def _check_arguments(call: ast.Call, spec, point, measures) -> list[Diagnostic]:
    # Measurements are not known before training; a placeholder value checks the names.
    scope = experiment_scope(spec, point).child("results")
    for name in list(measures) + list(RUN_SCALARS):
        scope.bind(name, 1.0)
    problems = []
    for name, node in call.kwargs:
        try:
            value = EVALUATOR.eval(node, scope)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        if name == "where" and isinstance(value, bool):
            continue  # `where` selects runs, so it is true or false for each
        if not isinstance(value, (int, float)) or isinstance(value, bool) and name != "y":
            problems.append(Diagnostic("E0313", f"`{name}` of a fit must be a number for each run",
                                       node.span, hint="use a measurement or a sweep axis, e.g. `x = d`"))
    return problems


def analysis_name(block: ast.Block) -> str:
    return block.labels[0] if block.labels else "analysis"


def _results_of(call: ast.Call) -> tuple[str, ...]:
    return POWER_LAW_RESULTS if fit_function(call) == "power_law" else MEAN_RESULTS


def fit_function(call: ast.Call) -> str | None:
    """Return the name of the analysis function a `fit` calls, such as `power_law`."""
    return call.func.name if isinstance(call.func, ast.Name) else None


def _check_expectations(block, spec, point, earlier: dict[str, tuple[str, ...]], later: list[str]) -> list[Diagnostic]:
    # An expectation may compare with an earlier analysis by name, e.g. `leap3.exponent`.
    call = next(a.value for a in block.attributes() if a.name == "fit")
    results = _results_of(call)
    scope = experiment_scope(spec, point).child("analysis")
    for name, their_results in earlier.items():
        scope.bind(name, {result: 1.0 for result in their_results})
    for name in results:
        scope.bind(name, 1.0)
    problems = []
    for claim in block.claims("expect"):
        wrong = _wrong_earlier_result(claim.condition, earlier)
        if wrong is not None:
            problems.append(wrong)
            continue
        try:
            EVALUATOR.eval(claim.condition, scope)
        except SpecError as exc:
            problems.extend(_explain_result_names(exc.diagnostics, fit_function(call), results, later))
    return problems


def _wrong_earlier_result(condition, earlier: dict[str, tuple[str, ...]]) -> Diagnostic | None:
    """Find `a.mean` where the earlier analysis `a` gives no `mean`. Evaluated, it would
    only report that an inline object has no such attribute."""
    for node in ast.nodes_of(condition, ast.AttributeOf):
        if isinstance(node.target, ast.Name) and node.target.name in earlier \
                and node.name not in earlier[node.target.name]:
            results = earlier[node.target.name]
            return Diagnostic("E0304", f"the analysis `{node.target.name}` has no result `{node.name}`", node.span,
                              hint=f"it gives {', '.join(results)}")
    return None


def _explain_result_names(diagnostics, function: str | None, results: tuple[str, ...],
                          later: list[str]) -> list[Diagnostic]:
    """Explain an unknown name in an expectation: a result of another fit (`mean` of a
    power law), or an analysis that comes later in the experiment."""
    explained = []
    for diagnostic in diagnostics:
        name = unknown_name(diagnostic)
        if name in FIT_RESULTS:
            diagnostic = Diagnostic("E0302", f"`{name}` is not a result of `{function}`", diagnostic.span,
                                    hint=f"a {function} fit gives {', '.join(results)}")
        elif name in later:
            diagnostic = Diagnostic("E0302", f"the analysis `{name}` comes after this one", diagnostic.span,
                                    hint=f"an expectation can name only the analyses above it; move `{name}` up")
        explained.append(diagnostic)
    return explained


def _check_selection(call: ast.Call, spec, points: list[Point], measures) -> list[Diagnostic]:
    """Warn when `where` selects no planned run. Only a `where` of sweep axes can be judged
    before training: one that reads a measurement depends on the results."""
    where = next((node for name, node in call.kwargs if name == "where"), None)
    if where is None or {name.name for name in ast.names_in(where)} & (set(measures) | set(RUN_SCALARS)):
        return []
    for point in points:
        try:
            if EVALUATOR.eval(where, experiment_scope(spec, point)) is True:
                return []
        except SpecError:
            return []  # reported by the argument check
    return [Diagnostic("W0605", "`where` selects none of the planned runs", where.span, severity="warning",
                       hint="compare with values that the sweep axes take")]

