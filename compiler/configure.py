"""Evaluate and validate every block of an experiment for each sweep point, giving one
typed run configuration per point, and check the `assert` claims."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re

import pydantic
from pydantic import BaseModel, ConfigDict

from wall.lang import schema
from wall.lang import syntax as ast
from wall.lang.diagnostics import Diagnostic, SpecError, did_you_mean
from wall.lang.elaborate import ExperimentSpec, schema_for
from wall.lang.evaluate import BlockValue, CallContext, unknown_name
from wall.lang.values import Domain, Quantity, Reference, type_name

from . import theory
from .builtins import expansion_in_scope
from .lazy_checks import check_lazy
from .scopes import EVALUATOR, block_value, experiment_scope
from .sweep import Point


class RunConfig(BaseModel):
    """Everything that decides one run's numbers. Its hash is the run id."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    experiment: str
    seed: int
    target: schema.TargetConfig
    model_kind: str
    model: schema.BlockConfig
    parametrization_kind: str
    parametrization: schema.BlockConfig
    train: schema.TrainConfig
    measures: dict[str, tuple[str, schema.BlockConfig]]

    def normalized(self) -> dict:
        """A canonical, JSON-ready form: the same numbers always give the same text."""
        return {
            "experiment": self.experiment,
            "seed": self.seed,
            "target": self.target.hashed_record(),
            "model": {"kind": self.model_kind, **self.model.hashed_record()},
            "parametrization": {"kind": self.parametrization_kind,
                                **self.parametrization.hashed_record()},
            "train": self.train.hashed_record(),
            "measures": {name: {"kind": kind, **config.hashed_record()}
                         for name, (kind, config) in sorted(self.measures.items())},
        }

    def run_id(self) -> str:
        return stable_hash(self.normalized())


def stable_hash(record) -> str:
    text = json.dumps(record, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


class _Collector:
    """Gathers diagnostics from every point, keeping one copy of each."""

    def __init__(self):
        self.seen: dict[tuple, Diagnostic] = {}

    def add(self, diagnostics):
        for d in diagnostics:
            self.seen.setdefault((d.code, d.span, d.message), d)

    def raise_if_any(self):
        errors = [d for d in self.seen.values() if d.severity == "error"]
        if errors:
            raise SpecError(list(self.seen.values()))


def configure_runs(spec: ExperimentSpec, points: list[Point]) -> list[tuple[Point, RunConfig]]:
    collector = _Collector()
    runs = []
    axes = {axis for point in points for axis in point}
    for point in points:
        try:
            config = configure_point(spec, point)
        except SpecError as exc:
            collector.add([_missing_axis_note(d, point, axes) for d in exc.diagnostics])
            continue
        runs.append((point, config))
    collector.raise_if_any()
    return runs


def _missing_axis_note(diagnostic: Diagnostic, point: Point, axes: set[str]) -> Diagnostic:
    """Explain an unknown name that is an axis of other sweep points: sibling sub-sweeps
    are united, so the points of one do not set the axes of the other."""
    name = unknown_name(diagnostic)
    if name is None or name not in axes or name in point:
        return diagnostic
    where = ", ".join(f"{axis} = {value}" for axis, value in point.items()) or "with no axes"
    note = (f"`{name}` is a sweep axis, but the point {where} does not set it: sibling sweep blocks are "
            f"united, not multiplied, so put `{name}` in the same grid")
    return dataclasses.replace(diagnostic, notes=diagnostic.notes + (note,))


def configure_point(spec: ExperimentSpec, point: Point) -> RunConfig:
    scope = experiment_scope(spec, point)
    problems: list[Diagnostic] = []

    def validated(block: ast.Block):
        return validate_block(block, scope, problems)

    chosen = {kind: spec.block_for(kind, point) for kind in spec.blocks}
    target = validated(chosen["target"])
    model = validated(chosen["model"])
    parametrization = validated(chosen["parametrization"])
    train = validated(chosen["train"])
    measures = {}
    for block in spec.measures:
        config = validated(block)
        if config is not None:
            measures[spec.measure_name(block)] = (block.labels[0], config)
    _check_measure_references(spec, measures, problems)
    _check_layer_order(chosen, model, train, problems)
    problems.extend(check_lazy(spec, spec.blocks["parametrization"].labels[0], parametrization, train, measures))
    for block in chosen.values():
        _check_asserts(block, scope, problems)
    if len(point) > 1 or "seed" not in point:
        # An assert can hold at some sweep points and fail at others; name the first failing one.
        where = ", ".join(f"{axis} = {value}" for axis, value in point.items())
        problems[:] = [dataclasses.replace(d, notes=d.notes + (f"first fails at the sweep point {where}",))
                       if d.code == "E0501" else d for d in problems]

    # A block can fail validation with nothing new to report: its problems (a missing or
    # unknown field) were reported by the structural pass, which then fails the plan.
    if problems or None in (target, model, parametrization, train):
        raise SpecError(problems)
    seed = point.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise SpecError([Diagnostic("E0202", f"seed must be a non-negative integer, got {seed!r}",
                                    spec.blocks["sweep"].kind_span if "sweep" in spec.blocks else spec.block.kind_span)])
    return RunConfig(experiment=spec.name, seed=seed, target=target,
                     model_kind=chosen["model"].labels[0], model=model,
                     parametrization_kind=chosen["parametrization"].labels[0],
                     parametrization=parametrization, train=train, measures=measures)


def validate_block(block: ast.Block, scope, problems: list[Diagnostic]):
    """Evaluate a block's fields in `scope` and validate them with its schema; return the
    config, or None after adding the problems found."""
    model = schema_for(block)
    value = block_value(block, scope)
    fields, spans = {}, {}
    for attribute in block.attributes():
        if attribute.name not in model.model_fields:
            continue  # an unknown field, already reported with "did you mean" (E0102)
        spans[attribute.name] = attribute.value.span
        try:
            evaluated = value.get(attribute.name, attribute.span)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        fields[attribute.name] = str(evaluated) if isinstance(evaluated, Reference) else evaluated
    try:
        return model.model_validate(fields)
    except pydantic.ValidationError as exc:
        problems.extend(_validation_diagnostics(exc, block, fields, spans))
        return None


def _validation_diagnostics(exc: pydantic.ValidationError, block: ast.Block, fields, spans):
    diagnostics = []
    title = " ".join((block.kind,) + block.labels)
    for item in exc.errors():
        name = str(item["loc"][0]) if item["loc"] else ""
        if name not in fields and item["type"] == "missing":
            continue  # reported by the structural pass, or a field that failed to evaluate
        if name not in fields:
            continue
        span = spans.get(name, block.kind_span)
        message = f"invalid `{name}` in `{title}`: {_describe(item, fields.get(name))}"
        diagnostics.append(Diagnostic("E0201" if "type" in item["type"] or item["type"] == "literal_error"
                                      else "E0202", message, span, hint=_close_choice(item, fields.get(name)) or _fix_for(item, fields.get(name)),
                                      notes=block.origin_notes(name)))
    return diagnostics


# The values a field of each value class accepts, named when a field got another kind of value.
EXPECTED_VALUES = {
    "Quantity": "a quantity with a unit, such as 30min, 2h or 16GB",
    "Domain": "a domain: hypercube(d), biased_hypercube(d, p) or gaussian(d)",
    "Polynomial": "a polynomial in the coordinates, such as x1 + x1*x2",
}


# Pydantic's type-error kinds (int_type, float_parsing, ...) by their stem, in spec words.
NEEDED_TYPES = {"int": "an integer", "float": "a number", "string": "a string", "bool": "true or false",
                "list": "a list"}


def _describe(item: dict, value) -> str:
    if hasattr(value, "terms"):
        shown = "the target polynomial"
    elif isinstance(value, BlockValue):
        shown = f"the `{value.kind}` block"
    elif isinstance(value, (Quantity, Domain)):
        shown = str(value)  # as written in a spec: 30min, hypercube(8)
    elif isinstance(value, str):
        shown = json.dumps(value)  # spec strings use double quotes
    elif isinstance(value, bool):
        shown = "true" if value else "false"
    elif isinstance(value, Reference):
        shown = f"the block `{value}`"
    elif isinstance(value, dict):
        shown = "{ " + "  ".join(f"{key} = {item!r}" for key, item in value.items()) + " }"
    else:
        shown = repr(value)
    kind = item["type"]
    context = item.get("ctx", {})
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        bound = next(iter(context.values()))
        relation = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<",
                    "less_than_equal": "<="}[kind]
        return f"{shown} is out of range; it must be {relation} {bound}"
    needed = NEEDED_TYPES.get(kind.removesuffix("_parsing").removesuffix("_type"))
    if needed is not None and kind.endswith(("_type", "_parsing")):
        return f"{shown} is {type_name(value)}, but {needed} is needed"
    if kind == "literal_error":
        return f"{shown} is not one of {_choices(item)}"
    expected = context.get("class") or context.get("class_name")
    if kind in ("is_instance_of", "dataclass_exact_type") and expected in EXPECTED_VALUES:
        return f"{shown} is not {EXPECTED_VALUES[expected]}"
    if kind == "value_error" and "error" in context:
        # The schema's own checks raise full sentences; pydantic's "Value error, " adds nothing.
        return f"{shown}: {context['error']}"
    return f"{shown}: {item['msg']}"


def _close_choice(item: dict, value) -> str | None:
    # A misspelt choice such as "rleu": name the closest allowed one.
    if item["type"] != "literal_error" or not isinstance(value, str):
        return None
    return did_you_mean(value, re.findall(r"'([^']*)'", str(item.get("ctx", {}).get("expected", ""))))


def _fix_for(item: dict, value) -> str | None:
    kind = item["type"]
    if kind == "int_type" and isinstance(value, float):
        return "write a whole number, or wrap the expression in round(...)"
    if kind == "literal_error":
        return f"use one of {_choices(item)}"
    return None


def _choices(item: dict) -> str:
    # Pydantic quotes the allowed strings as Python does; a spec writes them in double quotes.
    return str(item.get("ctx", {}).get("expected", "")).replace("'", '"')


def _check_layer_order(chosen: dict, model, train, problems: list[Diagnostic]):
    """Check that layerwise training names only layers the model has (readout included)."""
    if model is None or train is None or not train.layer_order:
        return
    layers = 2 if chosen["model"].labels[0] == "mlp2" else model.depth
    wrong = [layer for layer in train.layer_order if layer > layers]
    if wrong:
        span = next((a.value.span for a in chosen["train"].attributes() if a.name == "layer_order"),
                    chosen["train"].kind_span)
        problems.append(Diagnostic("E0202", f"invalid `layer_order` in `train`: layer {wrong[0]} does not exist, "
                                            f"because the model has {layers} weight layers", span,
                                   hint=f"use layers 1 to {layers}; {layers} is the readout"))


def _check_measure_references(spec: ExperimentSpec, measures, problems: list[Diagnostic]):
    for block in spec.measures:
        name = spec.measure_name(block)
        if name not in measures:
            continue
        kind, config = measures[name]
        if kind == "samples_to_learn":
            source = measures.get(config.of)
            if source is None or source[0] != "test_loss":
                span = next((a.value.span for a in block.attributes() if a.name == "of"), block.kind_span)
                logged = [n for n, (k, _) in measures.items() if k == "test_loss"]
                problems.append(Diagnostic("E0602", f"`of = {config.of}` does not name a logged loss measurement",
                                           span, hint=f"add `measure test_loss {{ every = ... }}`" if not logged
                                           else f"use one of: {', '.join(logged)}"))


def _check_asserts(block: ast.Block, scope, problems: list[Diagnostic]):
    claims = block.claims("assert")
    if not claims:
        return
    inner = block_value(block, scope).scope
    for claim in claims:
        try:
            value = EVALUATOR.eval(claim.condition, inner)
        except SpecError as exc:
            problems.extend(exc.diagnostics)
            continue
        if value is not True:
            problems.append(_failed_assert(claim, inner, value))


def _failed_assert(claim: ast.Claim, scope, value) -> Diagnostic:
    notes = []
    condition = claim.condition
    if isinstance(condition, ast.Binary):
        for side in (condition.left, condition.right):
            if isinstance(side, ast.Literal):
                continue
            try:
                notes.append(f"`{_source_of(side)}` evaluates to {EVALUATOR.eval(side, scope)!r}")
            except SpecError:
                pass
            notes.extend(_leap_notes(side, scope))
    message = "assertion failed" if value is False else f"an assertion must be true or false, got {value!r}"
    return Diagnostic("E0501", message, claim.condition.span, notes=tuple(notes),
                      hint="the spec's claim about its own target does not hold")


def _leap_notes(node: ast.Node, scope) -> list[str]:
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.name == "leap"):
        return []
    try:
        f = EVALUATOR.eval(node.args[0], scope)
        expansion = expansion_in_scope(CallContext(node.span, scope, ()), f)
    except (SpecError, IndexError):
        return []
    result = theory.leap(expansion)
    return [f"f = {expansion.describe()}",
            f"leap {result.leap} is achieved by the ordering {theory.format_order(result, expansion.basis)}"]


def _source_of(node: ast.Node) -> str:
    span = node.span
    try:
        with open(span.file) as handle:
            lines = handle.read().splitlines()
        if span.line == span.end_line:
            return lines[span.line - 1][span.column - 1:span.end_column - 1]
    except (OSError, IndexError):
        pass
    return "expression"
