"""Lexical scopes for one sweep point: file lets, then the experiment (axes, lets and
blocks), then each block's own attributes."""

from __future__ import annotations

from wall.lang import schema
from wall.lang import syntax as ast
from wall.lang.elaborate import ExperimentSpec, schema_for
from wall.lang.evaluate import BlockValue, Evaluator, Scope
from wall.lang.values import Reference

from .builtins import BUILTINS

EVALUATOR = Evaluator(BUILTINS)


def file_scope(spec: ExperimentSpec) -> Scope:
    scope = EVALUATOR.root()
    for let in spec.file_lets:
        scope.bind_lazy(let.name, let.value, let.span)
    aliases = spec.module.aliases if spec.module is not None else {}
    for alias, module in aliases.items():
        # `import "common.wall" as c` makes the file's lets readable as `c.name`.
        inner = scope.child(f"import {alias}")
        for let in module.lets:
            inner.bind_lazy(let.name, let.value, let.span)
        scope.bind(alias, BlockValue("import", alias, inner))
    return scope


def experiment_scope(spec: ExperimentSpec, point: dict) -> Scope:
    """The scope in which an experiment's fields are evaluated for one sweep point."""
    scope = file_scope(spec).child(f"experiment {spec.name}")
    for axis, value in point.items():
        scope.bind(axis, value)
    for let in spec.block.lets():
        scope.bind_lazy(let.name, let.value, let.span)

    for kind, named in spec.choices.items():
        for name, block in named.items():
            scope.bind(name, block_value(block, scope))
    for kind in spec.blocks:
        if kind != "sweep":
            scope.bind(kind, block_value(spec.block_for(kind, point), scope))
    for block in spec.measures:
        scope.bind(spec.measure_name(block), Reference("measure", spec.measure_name(block)))
    return scope


def block_value(block: ast.Block, parent: Scope) -> BlockValue:
    """A block's attributes as lazy bindings in a child scope, with schema defaults."""
    scope = parent.child(" ".join((block.kind,) + block.labels))
    for let in block.lets():
        scope.bind_lazy(let.name, let.value, let.span)
    for attribute in block.attributes():
        scope.bind_lazy(attribute.name, attribute.value, attribute.span)
    model = schema_for(block)
    defaults = {}
    if model is not None:
        defaults = {name: field.default for name, field in model.model_fields.items()
                    if not field.is_required()}
    name = block.labels[-1] if block.labels else block.kind
    return BlockValue(block.kind, name, scope, defaults)


def is_schema_block(kind: str) -> bool:
    return kind in schema.SINGLE_BLOCKS or kind in schema.REPEATED_BLOCKS
