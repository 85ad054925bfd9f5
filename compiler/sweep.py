"""Expand a `sweep` block into its list of points, in a deterministic order.

`grid` is the Cartesian product of its axes (first axis slowest); a nested block is one
compound axis of the product. `zip` pairs equal-length lists. Sibling sub-sweeps are
united. `where` filters points. Duplicate points are reported and dropped.
"""

from __future__ import annotations

import itertools
import json

from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic, SpecError, did_you_mean, error
from wall.lang.elaborate import ExperimentSpec
from wall.lang.evaluate import Scope
from wall.lang.values import Reference, type_name

from .scopes import EVALUATOR, file_scope

Point = dict[str, object]
SCALAR_TYPES = (int, float, str, bool, Reference)


def expand_sweeps(spec: ExperimentSpec) -> tuple[list[Point], list[Diagnostic]]:
    """Return the sweep points and any warnings (duplicates dropped); raise on an error."""
    points, warnings, problems = expand_sweeps_collecting(spec)
    if problems:
        raise SpecError(problems)
    return points, warnings


def expand_sweeps_collecting(spec: ExperimentSpec) -> tuple[list[Point], list[Diagnostic], list[Diagnostic]]:
    """The points of the sub-sweeps without errors, the warnings, and every sub-sweep's error.

    A broken sub-sweep does not hide the others, so the later passes can still check the
    runs of the valid ones and `wallc check` reports every mistake at once.
    """
    problems: list[Diagnostic] = []
    try:
        points, warnings = _expand(spec, problems)
    except SpecError as exc:
        return [], [], problems + exc.diagnostics
    return points, warnings, problems


def _expand(spec: ExperimentSpec, problems: list[Diagnostic]) -> tuple[list[Point], list[Diagnostic]]:
    sweep = spec.blocks.get("sweep")
    if sweep is None:
        _check_choices(spec, [{"seed": 0}], spec.block)
        return [{"seed": 0}], []

    scope = file_scope(spec).child("sweep")
    for kind, named in spec.choices.items():
        for name in named:
            scope.bind(name, Reference(kind, name))
    for let in spec.block.lets():
        scope.bind_lazy(let.name, let.value, let.span)
    points = _union(sweep, scope, problems)
    if not points and problems:
        return [], []
    if not points:
        raise error("E0401", "the sweep produces no runs", sweep.kind_span,
                    hint="check the axis lists and `where` filters")

    unique, warnings = _drop_duplicates(points, sweep)
    for point in unique:
        point.setdefault("seed", 0)
    _check_choices(spec, unique, sweep)
    return unique, warnings


def _check_choices(spec: ExperimentSpec, points: list[Point], anchor: ast.Block):
    """Every point must choose among several named blocks of a kind, and choose a valid one."""
    for kind, named in spec.choices.items():
        names = ", ".join(named)
        for point in points:
            chosen = point.get(kind)
            if chosen is None:
                raise error("E0112", f"the experiment has {len(named)} `{kind}` blocks but no sweep axis "
                            f"`{kind}` chooses one", anchor.kind_span,
                            hint=f"add the axis `{kind} = [{names}]` to the sweep")
            if not (isinstance(chosen, Reference) and chosen.kind == kind and chosen.name in named):
                raise error("E0403", f"sweep axis `{kind}` takes the name of a `{kind}` block, got {chosen!r}",
                            _axis_span(anchor, kind), hint=did_you_mean(str(chosen), named),
                            notes=[f"`{kind}` blocks: {names}"])


def _union(block: ast.Block, scope: Scope, problems: list[Diagnostic]) -> list[Point]:
    """Points of a `sweep` block: its sub-sweeps united, loose axes forming one grid.
    A sub-sweep with an error adds its diagnostics to `problems` and no points."""
    parts = [_without_subblocks(block)] if any(isinstance(m, ast.Attribute) for m in block.members) else []
    points: list[Point] = []
    for part in parts + block.blocks():
        try:
            points.extend(_sub_sweep(part, scope))
        except SpecError as exc:
            problems.extend(exc.diagnostics)
    return _filter(points, block, scope)


def _without_subblocks(block: ast.Block) -> ast.Block:
    members = tuple(m for m in block.members if not isinstance(m, ast.Block))
    return ast.Block(block.span, "grid", (), None, members, block.kind_span)


def _sub_sweep(block: ast.Block, scope: Scope) -> list[Point]:
    if block.kind == "zip":
        return _zip(block, scope)
    return _grid(block, scope)


def _grid(block: ast.Block, scope: Scope) -> list[Point]:
    # Each factor is a list of partial points; the product keeps the first factor slowest.
    factors: list[list[Point]] = []
    for member in block.members:
        if isinstance(member, ast.Attribute):
            values = _axis_values(member, scope)
            factors.append([{member.name: v} for v in values])
        elif isinstance(member, ast.Block):
            factors.append(_sub_sweep(member, scope))
    points = [_merge(parts, block) for parts in itertools.product(*factors)] if factors else []
    return _filter(points, block, scope)


def _zip(block: ast.Block, scope: Scope) -> list[Point]:
    axes = [(m, _axis_values(m, scope)) for m in block.attributes()]
    for nested in block.blocks():
        raise error("E0402", "a `zip` may contain only axes, not nested blocks", nested.kind_span,
                    hint="put the `zip` inside a `grid` instead")
    if not axes:
        return []
    lengths = {len(values) for _, values in axes}
    if len(lengths) > 1:
        details = ", ".join(f"{m.name} has {len(v)}" for m, v in axes)
        raise error("E0402", "the lists of a `zip` must have equal lengths", block.kind_span,
                    hint="give every axis the same number of values", notes=[details])
    points = [{m.name: values[i] for m, values in axes} for i in range(lengths.pop())]
    return _filter(points, block, scope)


def _axis_values(attribute: ast.Attribute, scope: Scope) -> list:
    value = EVALUATOR.eval(attribute.value, scope)
    values = value if isinstance(value, list) else [value]
    if not values:
        raise error("E0401", f"sweep axis `{attribute.name}` has no values", attribute.value.span)
    for item in values:
        if not isinstance(item, SCALAR_TYPES):
            raise error("E0403", f"sweep axis `{attribute.name}` contains {type_name(item)}", attribute.value.span,
                        hint="axis values are numbers, strings, booleans or names of blocks")
    return values


def _merge(parts, block: ast.Block) -> Point:
    point: Point = {}
    for part in parts:
        for axis, value in part.items():
            if axis in point:
                raise error("E0404", f"axis `{axis}` is swept twice in one grid", block.kind_span,
                            hint="sweep each axis in one place")
            point[axis] = value
    return point


def _filter(points: list[Point], block: ast.Block, scope: Scope) -> list[Point]:
    conditions = block.claims("where")
    if not conditions:
        return points
    kept = []
    for point in points:
        inner = scope.child_rebinding_lazy("where", point)
        if all(_holds(c, inner) for c in conditions):
            kept.append(point)
    if points and not kept:
        # Point at the filter, not at the sweep: the axes had values and the filter removed them.
        shown = ", ".join(f"{axis} = {value}" for axis, value in points[0].items())
        raise error("E0401", "the `where` filter removes every point of this block", conditions[0].condition.span,
                    hint="check the condition against the values of the axes",
                    notes=(f"the first point it removes is {shown}",) if shown else ())
    return kept


def _holds(claim: ast.Claim, scope: Scope) -> bool:
    value = EVALUATOR.eval(claim.condition, scope)
    if not isinstance(value, bool):
        raise error("E0313", f"a `where` condition must be true or false, got {type_name(value)}",
                    claim.condition.span)
    return value


def _axis_span(block: ast.Block, axis: str):
    for member in block.members:
        if isinstance(member, ast.Attribute) and member.name == axis:
            return member.value.span
        if isinstance(member, ast.Block):
            found = _axis_span(member, axis)
            if found is not None:
                return found
    return block.kind_span if block.kind == "sweep" else None


def point_key(point: Point) -> str:
    return json.dumps({k: str(v) if isinstance(v, Reference) else v for k, v in point.items()},
                      sort_keys=True)


def _drop_duplicates(points: list[Point], sweep: ast.Block):
    seen, unique, duplicates = set(), [], 0
    for point in points:
        key = point_key(point)
        if key in seen:
            duplicates += 1
            continue
        seen.add(key)
        unique.append(point)
    warnings = []
    if duplicates:
        warnings.append(Diagnostic("W0405", f"the sweep lists {duplicates} duplicate point(s); they run once",
                                   sweep.kind_span, severity="warning"))
    return unique, warnings

