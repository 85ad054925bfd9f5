"""Generate the parts of the docs that must match the code: block kinds and fields from the
pydantic schema, builtins from their table, and every diagnostic code.

    python -m wall.lang.docs            rewrite the generated sections of docs/
    python -m wall.lang.docs --check    exit 1 if a generated section is out of date

A test runs the check, so docs/language.md cannot drift from the schema.
"""

from __future__ import annotations

import argparse
import re
import sys
import typing
from pathlib import Path

from pydantic.fields import FieldInfo

from . import schema
from .codes import CODES

DOCS = Path(__file__).resolve().parent.parent / "docs"
BEGIN = "<!-- BEGIN GENERATED: {name} (python -m wall.lang.docs) -->"
END = "<!-- END GENERATED: {name} -->"


# Block kinds and fields.


def schema_reference() -> str:
    """Markdown for every block kind, its variants, and each variant's fields."""
    sections = []
    blocks = {**schema.SINGLE_BLOCKS, **schema.REPEATED_BLOCKS}
    for kind, entry in blocks.items():
        required = "required" if kind in schema.REQUIRED_BLOCKS else "optional"
        repeated = ", may appear several times" if kind in schema.REPEATED_BLOCKS else ""
        if entry is None:
            sections.append(f"### `{kind}` ({required}{repeated})\n\nHolds sub-sweeps and axes; "
                            "see [Sweeps](#sweeps).")
        elif isinstance(entry, dict):
            sections.append(f"### `{kind}` ({required}{repeated})\n\nVariants, chosen by the first label: "
                            + ", ".join(f"`{kind} {v}`" for v in entry) + ".")
            for variant, model in entry.items():
                sections.append(_fields_table(f"`{kind} {variant}`", model, level="####"))
        else:
            sections.append(_fields_table(f"`{kind}` ({required}{repeated})", entry, level="###"))
    return "\n\n".join(sections)


def _fields_table(title: str, model, level: str) -> str:
    lines = [f"{level} {title}", ""]
    doc = (model.__doc__ or "").strip()
    if doc and model.__doc__ is not schema.BlockConfig.__doc__:
        lines += [" ".join(doc.split()), ""]
    if not model.model_fields:
        return "\n".join(lines + ["No fields."])
    lines += ["| field | type | default | meaning |", "|---|---|---|---|"]
    for name, field in model.model_fields.items():
        default = "required" if field.is_required() else f"`{_show(field.default)}`"
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `{name}` | {_type_words(field)} | {default} | {description} |")
    return "\n".join(lines)


def _type_words(field: FieldInfo) -> str:
    words = _annotation_words(field.annotation)
    bounds = [f"{symbol} {getattr(m, attr)}" for m in field.metadata
              for attr, symbol in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))
              if getattr(m, attr, None) is not None]
    return words + (" " + ", ".join(bounds) if bounds else "")


def _annotation_words(annotation) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return " or ".join(f'`"{a}"`' if isinstance(a, str) else f"`{a}`" for a in args)
    if origin is typing.Annotated:
        return _annotation_words(args[0])
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        parts = [_annotation_words(a) for a in args if a is not type(None)]
        optional = type(None) in args
        return " or ".join(parts) + (" (optional)" if optional else "")
    if origin in (list, tuple):
        inner = _annotation_words(args[0]) if args else "value"
        return f"list of {inner}"
    if origin is dict:
        return "object"
    names = {int: "integer", float: "number", str: "string", bool: "boolean"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)).lower())


def _show(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if value is None:
        return "none"
    return str(value)


# Builtins and codes.


def builtins_reference() -> str:
    from wall.compiler.builtins import BUILTINS

    lines = ["| builtin | use |", "|---|---|"]
    for name in sorted(BUILTINS):
        usage = getattr(BUILTINS[name], "usage", "") or ""
        lines.append(f"| `{name}` | {usage.replace('|', '/')} |")
    lines.append("| `He1`, `He2`, ... | `HeK(z1)`: the probabilists' Hermite polynomial of degree K |")
    return "\n".join(lines)


def codes_reference() -> str:
    sections = []
    for code, (title, text) in sorted(CODES.items()):
        severity = "warning" if code.startswith("W") else "error"
        sections.append(f"### {code}: {title}\n\n*{severity}.* {text}")
    return "\n\n".join(sections)


# Updating the files.

GENERATED = {
    "language.md": {"schema": schema_reference, "builtins": builtins_reference},
    "errors.md": {"codes": codes_reference},
}


def replace_section(text: str, name: str, content: str) -> str:
    begin, end = BEGIN.format(name=name), END.format(name=name)
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.DOTALL)
    if not pattern.search(text):
        raise ValueError(f"the markers of the generated section `{name}` are missing")
    return pattern.sub(lambda _: f"{begin}\n\n{content}\n\n{end}", text)


def regenerate(folder: Path = DOCS) -> dict[Path, tuple[str, str]]:
    """Each docs file with its current and regenerated text."""
    results = {}
    for file_name, sections in GENERATED.items():
        path = folder / file_name
        current = path.read_text()
        updated = current
        for name, produce in sections.items():
            updated = replace_section(updated, name, produce())
        results[path] = (current, updated)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m wall.lang.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a section is stale")
    args = parser.parse_args(argv)
    stale = []
    for path, (current, updated) in regenerate().items():
        if current == updated:
            continue
        stale.append(path)
        if not args.check:
            path.write_text(updated)
            print(f"updated {path}")
    if args.check and stale:
        print("stale generated sections in: " + ", ".join(map(str, stale))
              + "; run `python -m wall.lang.docs`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
