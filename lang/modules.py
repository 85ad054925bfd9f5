"""`import` of other `.wall` files and `extends` between blocks.

A file may declare named blocks outside any experiment (`model mlp2 base { ... }`) and
`let` bindings; `import "common.wall"` makes them visible, and `import "common.wall" as c`
makes them visible as `c.base` and `c.name`. Import paths are relative to the importing
file. Reading imports is the only file access of evaluating a spec.

`kind labels extends base { ... }` copies the base block and overrides some of its fields.
An override must name a field that the base declares, so a misspelt override cannot add a
field that silently keeps its default.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from . import syntax as ast
from .diagnostics import Diagnostic, SpecError, did_you_mean
from .parser import parse_file


@dataclasses.dataclass
class Module:
    """One parsed file: its named top-level blocks and lets, and its imports."""

    path: str
    file: ast.File
    definitions: dict[tuple[str, str], ast.Block]  # by (kind, name)
    lets: list[ast.Let]
    aliases: dict[str, "Module"]


def load_module(file: ast.File, problems: list[Diagnostic], stack: tuple[str, ...] = ()) -> Module:
    """Resolve the imports of a parsed file, recursively; problems are appended, not raised."""
    path = _key(file.span.file)
    definitions, lets, aliases = {}, [], {}
    imported_definitions, imported_lets = {}, []
    sources: dict[tuple, tuple] = {}  # (import, defining span) of each imported block, let and alias
    for item in file.items:
        if isinstance(item, ast.Import):
            imported = _import(item, path, stack + (path,), problems)
            if imported is None:
                continue
            if item.alias:
                _check_alias(item, aliases, sources, problems)
                aliases[item.alias] = imported
            else:
                _check_conflicts(item, imported, sources, problems)
                imported_definitions.update(imported.definitions)
                imported_lets.extend(imported.lets)
        elif isinstance(item, ast.Let):
            lets.append(item)
        elif isinstance(item, ast.Block) and item.kind != "experiment" and item.labels:
            definitions[(item.kind, item.name)] = item
    # The file's own blocks and lets win over imported ones of the same name, wherever the
    # import statement is. Lets bound later win, so the file's lets come last.
    return Module(path, file, {**imported_definitions, **definitions}, imported_lets + lets, aliases)


def _check_conflicts(item: ast.Import, imported: Module, sources: dict, problems: list[Diagnostic]):
    """Report blocks and lets that two plain imports both define. The same definition reached
    twice (two files that both import a third) is no conflict."""
    found = [(("block",) + key, block.span) for key, block in imported.definitions.items()]
    found += [(("let", let.name), let.span) for let in imported.lets]
    for key, origin in found:
        earlier, earlier_origin = sources.setdefault(key, (item, origin))
        if earlier is not item and (earlier_origin.file, earlier_origin.line) != (origin.file, origin.line):
            described = f"`{key[1]} {key[2]}`" if key[0] == "block" else f"`let {key[1]}`"
            problems.append(Diagnostic("E0115", f"{described} is defined by both `{earlier.path}` and `{item.path}`",
                                       item.span, hint=f'import one of them with a name: `import "{item.path}" as '
                                                       f'NAME`, then write NAME.{key[-1]}'))


def _check_alias(item: ast.Import, aliases: dict, sources: dict, problems: list[Diagnostic]):
    earlier, _ = sources.setdefault(("alias", item.alias), (item, item.span))
    if earlier is not item:
        problems.append(Diagnostic("E0115", f"the alias `{item.alias}` is used for both `{earlier.path}` and "
                                            f"`{item.path}`", item.span, hint="give each import its own name"))


def _import(item: ast.Import, importer: str, stack: tuple[str, ...], problems) -> Module | None:
    target = _key(str(Path(importer).parent / item.path))
    if target in stack:
        chain = " -> ".join(Path(p).name for p in stack[stack.index(target):] + (target,))
        problems.append(Diagnostic("E0113", f"import cycle: {chain}", item.span,
                                   hint="move the shared definitions into a file that imports neither"))
        return None
    try:
        parsed = parse_file(target)
    except SpecError as exc:
        for diagnostic in exc.diagnostics:
            if diagnostic.code == "E0002":
                problems.append(Diagnostic("E0110", f"cannot import `{item.path}`: no readable file at {target}",
                                           item.span, hint="import paths are relative to the importing file",
                                           notes=(diagnostic.message,)))
            else:
                problems.append(diagnostic)
        return None
    return load_module(parsed, problems, stack)


def _key(path: str) -> str:
    resolved = Path(path)
    return str(resolved.resolve()) if resolved.exists() else str(resolved)


# Extends.


def resolve_extends(block: ast.Block, siblings: dict[tuple[str, str], ast.Block], module: Module,
                    problems: list[Diagnostic], seen: tuple[str, ...] = ()) -> ast.Block:
    """Merge a block's base into it; with an invalid base, return the block as written."""
    if block.extends is None:
        return block
    base, base_module = _find_base(block, siblings, module)
    if base is None and block.extends == block.name:
        # _find_base skips the block itself, so this would read as an unknown base `m` with
        # the hint "did you mean `m`".
        problems.append(Diagnostic("E0120", f"`{_title(block)}` extends itself", block.kind_span,
                                   hint="name another block of the same kind, or drop `extends`"))
        return block
    if base is None:
        choices = [name for (kind, name), found in {**module.definitions, **siblings}.items()
                   if kind == block.kind and found is not block]
        choices += [f"{alias}.{name}" for alias, imported in module.aliases.items()
                    for (kind, name) in imported.definitions if kind == block.kind]
        problems.append(Diagnostic("E0120", f"unknown base `{block.extends}` for `{_title(block)}`",
                                   block.extends_span or block.kind_span, hint=did_you_mean(block.extends, choices),
                                   notes=(f"`{block.kind}` blocks that can be extended: "
                                          f"{', '.join(sorted(choices)) or 'none'}",)))
        return block
    if block.extends in seen:
        problems.append(Diagnostic("E0120", f"`{_title(block)}` extends itself through `{block.extends}`",
                                   block.kind_span))
        return block
    if not _same_variant(block, base):  # only a variant can differ, since bases are found by kind
        problems.append(Diagnostic("E0122", f"`{_title(block)}` cannot extend `{_title(base)}`",
                                   block.kind_span, hint=f"a block extends a base of its own kind and variant",
                                   notes=(f"the base is declared at {base.span}",)))
        return block
    base = resolve_extends(base, siblings, base_module, problems, seen + (block.extends,))
    return _merge(block, base, base_module, module, problems)


def _find_base(block: ast.Block, siblings: dict[str, ast.Block], module: Module):
    name = block.extends
    if "." in name:
        alias, _, rest = name.partition(".")
        imported = module.aliases.get(alias)
        if imported is None or (block.kind, rest) not in imported.definitions:
            return None, None
        return imported.definitions[(block.kind, rest)], imported
    sibling = siblings.get((block.kind, name))
    if sibling is not None and sibling is not block:
        return sibling, module
    if (block.kind, name) in module.definitions:
        return module.definitions[(block.kind, name)], module
    return None, None


def _same_variant(block: ast.Block, base: ast.Block) -> bool:
    if block.kind != base.kind:
        return False
    # Variants are chosen by the first label when a block has a kind and a name.
    if block.kind in ("model", "parametrization", "measure"):
        return bool(block.labels) and bool(base.labels) and block.labels[0] == base.labels[0]
    return True


def _merge(block: ast.Block, base: ast.Block, base_module: Module, module: Module,
           problems: list[Diagnostic]) -> ast.Block:
    declared = {a.name: a for a in base.attributes()}
    overrides = {}
    for attribute in block.attributes():
        if attribute.name not in declared:
            problems.append(Diagnostic(
                "E0121", f"`{attribute.name}` overrides nothing in the base `{block.extends}`",
                attribute.name_span, hint=did_you_mean(attribute.name, declared),
                notes=(f"`{_title(base)}` at {base.span} declares: {', '.join(sorted(declared)) or 'no fields'}",
                       "an override may only change a field that the base sets")))
            continue
        overrides[attribute.name] = attribute

    # Base members keep their place and their spans; an override takes its base's place.
    members, origins = [], dict(base.origins)
    for member in base.members:
        if isinstance(member, ast.Attribute) and member.name in overrides:
            members.append(overrides[member.name])
            origins[member.name] = f"`{member.name}` overrides the value set at {member.span} in `{_title(base)}`"
        elif isinstance(member, (ast.Attribute, ast.Let)):
            members.append(_in_module(member, base_module, module))
            if isinstance(member, ast.Attribute):
                origins.setdefault(member.name, f"`{member.name}` is inherited from `{_title(base)}`, "
                                                f"extended by `{_title(block)}` at {block.kind_span}")
        else:
            members.append(member)
    members.extend(m for m in block.members if not isinstance(m, ast.Attribute))
    return dataclasses.replace(block, members=tuple(members), origins=tuple(origins.items()))


def _in_module(member, base_module: Module, module: Module):
    # A member inherited from another file is evaluated with that file's lets in scope.
    if base_module is module or not base_module.lets:
        return member
    value = ast.InModule(member.value.span, member.value, tuple(base_module.lets))
    return dataclasses.replace(member, value=value)


def _title(block: ast.Block) -> str:
    return " ".join((block.kind,) + block.labels)
