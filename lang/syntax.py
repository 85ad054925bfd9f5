"""The abstract syntax tree of a `.wall` file. Every node carries its source span."""

from __future__ import annotations

import dataclasses

from .diagnostics import Span


@dataclasses.dataclass(frozen=True)
class Node:
    span: Span


# Expressions.


@dataclasses.dataclass(frozen=True)
class Literal(Node):
    """A number, string or boolean written in the source."""

    value: object


@dataclasses.dataclass(frozen=True)
class Interpolation(Node):
    """A string with `${expr}` pieces: text pieces are str, the others expressions."""

    parts: tuple


@dataclasses.dataclass(frozen=True)
class QuantityLiteral(Node):
    value: float
    unit: str


@dataclasses.dataclass(frozen=True)
class Name(Node):
    name: str


@dataclasses.dataclass(frozen=True)
class ListExpr(Node):
    items: tuple


@dataclasses.dataclass(frozen=True)
class ObjectExpr(Node):
    members: tuple


@dataclasses.dataclass(frozen=True)
class Unary(Node):
    op: str
    operand: Node


@dataclasses.dataclass(frozen=True)
class Binary(Node):
    op: str
    left: Node
    right: Node


@dataclasses.dataclass(frozen=True)
class RangeExpr(Node):
    """`start .. stop [step s]`: inclusive; integers iterate, floats form an interval."""

    start: Node
    stop: Node
    step: Node | None


@dataclasses.dataclass(frozen=True)
class Call(Node):
    func: Node
    args: tuple
    kwargs: tuple  # of (name, Node) pairs, in source order


@dataclasses.dataclass(frozen=True)
class Comprehension(Node):
    """`sum(i in 1..k: body)`: the iteration header and the body of a bounded reduction."""

    func: Node
    header: Node
    body: Node


@dataclasses.dataclass(frozen=True)
class AttributeOf(Node):
    target: Node
    name: str


@dataclasses.dataclass(frozen=True)
class Index(Node):
    target: Node
    index: Node


@dataclasses.dataclass(frozen=True)
class InModule(Node):
    """An expression inherited from another file, evaluated with that file's lets in sight."""

    expr: Node
    lets: tuple


# Statements.


@dataclasses.dataclass(frozen=True)
class Attribute(Node):
    name: str
    name_span: Span
    value: Node


@dataclasses.dataclass(frozen=True)
class Let(Node):
    name: str
    value: Node


@dataclasses.dataclass(frozen=True)
class Claim(Node):
    """An `assert` (checked at plan time), `expect` (checked on results) or `where` filter."""

    keyword: str
    condition: Node


@dataclasses.dataclass(frozen=True)
class Block(Node):
    kind: str
    labels: tuple[str, ...]
    extends: str | None
    members: tuple
    kind_span: Span
    # Where inherited or overridden fields came from, as (field, note) pairs; set by `extends`.
    origins: tuple = ()
    label_spans: tuple = ()  # one Span per label, where the parser saw it
    extends_span: Span | None = None  # the base's name after `extends`

    @property
    def name(self) -> str:
        """The block's name: its last label, or its kind when it has none."""
        return self.labels[-1] if self.labels else self.kind

    @property
    def label_span(self) -> Span:
        """The span of the first label, or of the kind keyword when there is no label."""
        return self.label_spans[0] if self.label_spans else self.kind_span

    def origin_notes(self, field: str) -> tuple[str, ...]:
        return tuple(note for name, note in self.origins if name == field)

    def attributes(self) -> list[Attribute]:
        return [m for m in self.members if isinstance(m, Attribute)]

    def blocks(self, kind: str | None = None) -> list["Block"]:
        return [m for m in self.members if isinstance(m, Block) and kind in (None, m.kind)]

    def claims(self, keyword: str) -> list[Claim]:
        return [m for m in self.members if isinstance(m, Claim) and m.keyword == keyword]

    def lets(self) -> list[Let]:
        return [m for m in self.members if isinstance(m, Let)]


@dataclasses.dataclass(frozen=True)
class Import(Node):
    path: str
    alias: str | None


@dataclasses.dataclass(frozen=True)
class File(Node):
    version: str | None
    items: tuple

    def blocks(self, kind: str | None = None) -> list[Block]:
        return [i for i in self.items if isinstance(i, Block) and kind in (None, i.kind)]

    def lets(self) -> list[Let]:
        return [i for i in self.items if isinstance(i, Let)]


def nodes_of(node, kind: type) -> list:
    """Collect every node of one class inside a syntax node (or a list of them), in source order."""
    found = [node] if isinstance(node, kind) else []
    if isinstance(node, (list, tuple)):
        for item in node:
            found += nodes_of(item, kind)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            found += nodes_of(getattr(node, field.name), kind)
    return found


def names_in(node) -> list[Name]:
    """Collect every name node inside a syntax node (or a list of them), in source order."""
    return nodes_of(node, Name)
