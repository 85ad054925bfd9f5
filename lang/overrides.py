"""`--set path=value`: change a field or `let` of a spec from the command line.

The value is parsed with the expression grammar, so `--set train.lr=0.1/d` and
`--set 'sweep.grid.d=[8, 16]'` mean what they would in the file. The path names nested
blocks by kind or name, then a field: `train.lr`, `model.width`, `model.wide.width`,
`sweep.grid.seed`; a single name sets an existing top-level `let`. An override that matches
no block or no `let` is an error, and one that names an unknown field is reported like any
unknown field.
"""

from __future__ import annotations

import dataclasses

from . import syntax as ast
from .diagnostics import Span, error
from .parser import parse_expression


# Words of the language that look like field names in a path.
KEYWORDS = ("where", "extends", "assert", "expect", "import", "let")


def override_sources(overrides: list[str]) -> dict[str, str]:
    """The text of each override under the file name its diagnostics use, for rendering."""
    return {_origin(number): text for number, text in enumerate(overrides, start=1)}


def _origin(number: int) -> str:
    return f"--set #{number}"


def apply_overrides(file: ast.File, overrides: list[str]) -> ast.File:
    for number, text in enumerate(overrides, start=1):
        path, name_span, value = _split(text, number)
        file = _apply(file, path, value, text, name_span)
    return file


def _split(text: str, number: int) -> tuple[list[str], Span, ast.Node]:
    """Split `PATH=VALUE` into the path's names, the span of its last name and the value."""
    origin = _origin(number)
    path, equals, value = text.partition("=")
    if not equals or not path.strip() or not value.strip():
        raise error("E0114", f"invalid override `{text}`", Span(origin, 1, 1, 1, len(text) + 1),
                    hint="write --set PATH=VALUE, e.g. --set train.lr=0.05")
    names = [part.strip() for part in path.split(".")]
    if not all(part.isidentifier() for part in names):
        raise error("E0114", f"invalid override path `{path}`", Span(origin, 1, 1, 1, len(path) + 1),
                    hint="a path is names joined by dots, e.g. model.width")
    # The field's name ends the path: `width` in `model.width=64`.
    path_end = len(path.rstrip()) + 1
    name_span = Span(origin, 1, path_end - len(names[-1]), 1, path_end)
    # Columns of the value count from the start of `PATH=VALUE`, as the user typed it.
    return names, name_span, parse_expression(" " * (len(path) + 1) + value, origin)


def _apply(file: ast.File, path: list[str], value: ast.Node, text: str, name_span: Span) -> ast.File:
    if len(path) == 1:
        if not any(isinstance(item, ast.Let) and item.name == path[0] for item in file.items):
            # A new `let` would be read by nothing, and the run would silently ignore the override.
            raise error("E0114", f"the override `{text}` names no top-level `let`", name_span,
                        hint=_field_hint(file, path[0]))
        return dataclasses.replace(file, items=_set_let(file.items, path[0], value))
    changed, items = False, []
    for item in file.items:
        if isinstance(item, ast.Block) and item.kind == "experiment":
            updated = _set_in_block(item, path[1:] if path[0] in item.labels else path, value, name_span,
                                     text.partition("=")[0].strip())
            changed = changed or updated is not item
            item = updated
        items.append(item)
    if not changed:
        raise error("E0114", f"the override `{text}` matches no block", value.span,
                    hint="name blocks by kind or name: train.lr, model.width, sweep.grid.d")
    return dataclasses.replace(file, items=tuple(items))


def _set_let(items: tuple, name: str, value: ast.Node) -> tuple:
    return tuple(dataclasses.replace(i, value=value) if isinstance(i, ast.Let) and i.name == name else i
                 for i in items)


def _field_hint(file: ast.File, name: str) -> str:
    """Name the paths of the fields called `name`: a bare name most often means one of them."""
    # A field or let directly in an experiment is reached through the experiment's name.
    paths = sorted({".".join((trail or list(item.labels[:1])) + [name])
                    for item in file.items if isinstance(item, ast.Block)
                    for trail in _trails_to(item, name, [])})
    if paths:
        return f"name it by its block: --set {paths[0]}=..." + (
            f" (also {', '.join(paths[1:])})" if len(paths) > 1 else "")
    return "a single name sets a top-level `let`; name a field by its block, e.g. model.width"


def _trails_to(block: ast.Block, name: str, trail: list[str]) -> list[list[str]]:
    """Collect the block paths (kinds below the experiment) of the fields and lets called `name`."""
    found = []
    for member in block.members:
        if isinstance(member, (ast.Attribute, ast.Let)) and member.name == name:
            found.append(trail)
        if isinstance(member, ast.Block):
            found += _trails_to(member, name, trail + [member.kind])
    return found


def _set_in_block(block: ast.Block, path: list[str], value: ast.Node, name_span: Span,
                  written: str) -> ast.Block:
    """Set the field at `path` below a block; return the same object when nothing matched."""
    if len(path) == 1:
        return _set_field(block, path[0], value, name_span, written)
    members, changed = [], False
    _reject_ambiguous(block, path, name_span)
    for member in block.members:
        rest = _match(member, path)
        if rest is not None:
            updated = _set_in_block(member, rest, value, name_span, written)
            changed = changed or updated is not member
            member = updated
        members.append(member)
    return dataclasses.replace(block, members=tuple(members)) if changed else block


def _reject_ambiguous(block: ast.Block, path: list[str], name_span: Span):
    """Reject a path whose first name is the kind of several blocks (two models, two grids):
    the override would change all of them, and usually only one was meant."""
    same_kind = [m for m in block.members if isinstance(m, ast.Block) and m.kind == path[0]
                 and not (len(path) > 2 and path[1] in m.labels)]
    if len(same_kind) < 2 or any(path[0] in m.labels for m in block.members if isinstance(m, ast.Block)):
        return
    rest = ".".join(path[1:])
    choices = [f"{path[0]}.{m.labels[-1]}.{rest}" if m.labels and m.labels[-1] != m.kind else None
               for m in same_kind]
    hint = (f"name one by its label: {', '.join(c for c in choices if c)}" if all(choices)
            else "give the blocks names in the spec, then name one of them in the override")
    raise error("E0114", f"`{path[0]}` names {len(same_kind)} blocks here, so the override is ambiguous",
                name_span, hint=hint)


def _match(member, path: list[str]) -> list[str] | None:
    """Match the head of the path against `member`; return the rest of the path, or None."""
    if not isinstance(member, ast.Block):
        return None
    if path[0] == member.kind and len(path) > 2 and path[1] in member.labels:
        return path[2:]  # model.wide.width: a kind, then a name
    if path[0] in (member.kind, *member.labels):
        return path[1:]
    return None


def _set_field(block: ast.Block, name: str, value: ast.Node, name_span: Span, written: str) -> ast.Block:
    members, found = [], False
    for member in block.members:
        if isinstance(member, ast.Block) and name in (member.kind, *member.labels):
            # A value in place of a block would add a field of that name beside the block.
            fields = [m.name for m in member.members if isinstance(m, (ast.Attribute, ast.Let))]
            example = f"{written}.{fields[0] if fields else 'FIELD'}"
            raise error("E0114", f"`{name}` is a block, so an override cannot give it a value", name_span,
                        hint=f"set one of its fields, e.g. --set {example}=...")
        if isinstance(member, (ast.Attribute, ast.Let)) and member.name == name:
            member, found = dataclasses.replace(member, value=value), True
        members.append(member)
    if not found:
        _reject_new_field(block, name, name_span, written)
        members.append(ast.Attribute(value.span, name, name_span, value))
    return dataclasses.replace(block, members=tuple(members))


def _reject_new_field(block: ast.Block, name: str, name_span: Span, written: str):
    """Reject an override that would add a field the author most likely did not mean to add."""
    if name in KEYWORDS:
        raise error("E0114", f"`{name}` is a keyword, not a field, so an override cannot set it", name_span,
                    hint="edit the spec file to change it")
    nested = [trail for trail in _trails_to(block, name, []) if trail]
    if nested:
        # `--set sweep.d=[16]` beside `sweep { grid { d = ... } }` would add a second grid.
        prefix = written.rsplit(".", 1)[0]
        paths = [f"{prefix}.{'.'.join(trail)}.{name}" for trail in nested]
        also = f" (also {', '.join(paths[1:])})" if len(paths) > 1 else ""
        raise error("E0114", f"`{name}` is set in a block inside `{block.kind}`, not in `{block.kind}` itself",
                    name_span, hint=f"write --set {paths[0]}=...{also}")
