"""`--set path=value`: change a field or `let` of a spec from the command line.

The value is parsed with the expression grammar, so `--set train.lr=0.1/d` and
`--set 'sweep.grid.d=[8, 16]'` mean what they would in the file. The path names nested
blocks by kind or name, then a field: `train.lr`, `model.width`, `model.wide.width`,
`sweep.grid.seed`; a single name sets a top-level `let`. An override that matches no block
is an error, and one that names an unknown field is reported like any unknown field.
"""

from __future__ import annotations

import dataclasses

from . import syntax as ast
from .diagnostics import Span, error
from .parser import parse_expression


def override_sources(overrides: list[str]) -> dict[str, str]:
    """The text of each override under the file name its diagnostics use, for rendering."""
    return {_origin(number): text for number, text in enumerate(overrides, start=1)}


def _origin(number: int) -> str:
    return f"--set #{number}"


def apply_overrides(file: ast.File, overrides: list[str]) -> ast.File:
    for number, text in enumerate(overrides, start=1):
        path, value = _split(text, number)
        file = _apply(file, path, value, text)
    return file


def _split(text: str, number: int) -> tuple[list[str], ast.Node]:
    origin = _origin(number)
    path, equals, value = text.partition("=")
    if not equals or not path.strip() or not value.strip():
        raise error("E0114", f"invalid override `{text}`", Span(origin, 1, 1, 1, len(text) + 1),
                    hint="write --set PATH=VALUE, e.g. --set train.lr=0.05")
    names = [part.strip() for part in path.split(".")]
    if not all(part.isidentifier() for part in names):
        raise error("E0114", f"invalid override path `{path}`", Span(origin, 1, 1, 1, len(path) + 1),
                    hint="a path is names joined by dots, e.g. model.width")
    # Columns of the value count from the start of `PATH=VALUE`, as the user typed it.
    return names, parse_expression(" " * (len(path) + 1) + value, origin)


def _apply(file: ast.File, path: list[str], value: ast.Node, text: str) -> ast.File:
    if len(path) == 1:
        return dataclasses.replace(file, items=_set_let(file.items, path[0], value))
    changed, items = False, []
    for item in file.items:
        if isinstance(item, ast.Block) and item.kind == "experiment":
            updated = _set_in_block(item, path[1:] if path[0] in item.labels else path, value)
            changed = changed or updated is not item
            item = updated
        items.append(item)
    if not changed:
        raise error("E0114", f"the override `{text}` matches no block", value.span,
                    hint="name blocks by kind or name: train.lr, model.width, sweep.grid.d")
    return dataclasses.replace(file, items=tuple(items))


def _set_let(items: tuple, name: str, value: ast.Node) -> tuple:
    replaced = tuple(dataclasses.replace(i, value=value) if isinstance(i, ast.Let) and i.name == name else i
                     for i in items)
    if replaced != items:
        return replaced
    return (ast.Let(value.span, name, value),) + items


def _set_in_block(block: ast.Block, path: list[str], value: ast.Node) -> ast.Block:
    """Set the field at `path` below a block; return the same object when nothing matched."""
    if len(path) == 1:
        return _set_field(block, path[0], value)
    members, changed = [], False
    for member in block.members:
        rest = _match(member, path)
        if rest is not None:
            updated = _set_in_block(member, rest, value)
            changed = changed or updated is not member
            member = updated
        members.append(member)
    return dataclasses.replace(block, members=tuple(members)) if changed else block


def _match(member, path: list[str]) -> list[str] | None:
    """Match the head of the path against `member`; return the rest of the path, or None."""
    if not isinstance(member, ast.Block):
        return None
    if path[0] == member.kind and len(path) > 2 and path[1] in member.labels:
        return path[2:]  # model.wide.width: a kind, then a name
    if path[0] in (member.kind, *member.labels):
        return path[1:]
    return None


def _set_field(block: ast.Block, name: str, value: ast.Node) -> ast.Block:
    members, found = [], False
    for member in block.members:
        if isinstance(member, (ast.Attribute, ast.Let)) and member.name == name:
            member, found = dataclasses.replace(member, value=value), True
        members.append(member)
    if not found:
        members.append(ast.Attribute(value.span, name, value.span, value))
    return dataclasses.replace(block, members=tuple(members))
