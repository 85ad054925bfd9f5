"""Plan-time checks of `analyze` blocks, so a broken analysis fails before training."""

from __future__ import annotations

import pydantic

from wall.lang import schema
from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic, SpecError, did_you_mean
from wall.lang.elaborate import ExperimentSpec

from .scopes import EVALUATOR, experiment_scope
from .sweep import Point

# Names an `expect` may use besides the spec's own names.
FIT_RESULTS = ("exponent", "prefactor", "r2", "exponent_low", "exponent_high", "predicted",
               "mean", "mean_low", "mean_high", "runs")
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
    earlier: list[str] = []
    for block in spec.analyses:
        problems.extend(_check_settings(block, spec, points[0], axes))
        call = next(a.value for a in block.attributes() if a.name == "fit")
        for point in points:
            found = _check_arguments(call, spec, point, measures)
            if found:
                problems.extend(found)
                break
        problems.extend(_check_expectations(block, spec, points[0], earlier))
        earlier.append(analysis_name(block))
    return problems


def _check_settings(block, spec, point, axes) -> list[Diagnostic]:
    try:
        settings = analysis_settings(block, spec, point)
    except SpecError as exc:
        return exc.diagnostics
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        return [Diagnostic("E0202", f"invalid analysis setting `{first['loc'][0]}`: {first['msg']}",
                           block.kind_span)]
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


def _check_expectations(block, spec, point, earlier: list[str]) -> list[Diagnostic]:
    # An expectation may compare with an earlier analysis by name, e.g. `leap3.exponent`.
    scope = experiment_scope(spec, point).child("analysis")
    for name in earlier:
        scope.bind(name, {result: 1.0 for result in FIT_RESULTS})
    for name in FIT_RESULTS:
        scope.bind(name, 1.0)
    problems = []
    for claim in block.claims("expect"):
        try:
            EVALUATOR.eval(claim.condition, scope)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
    return problems
