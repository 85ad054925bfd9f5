"""Diagnostics as data, and their rendering.

A diagnostic is a record (code, severity, message, span, hint, notes); rendering is a
separate step, so tests assert on fields and the CLI chooses text or JSON.
"""

from __future__ import annotations

import dataclasses
import difflib
from pathlib import Path


@dataclasses.dataclass(frozen=True, order=True)
class Span:
    """A region of a source file: 1-based lines and columns, end column exclusive."""

    file: str
    line: int
    column: int
    end_line: int
    end_column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclasses.dataclass(frozen=True)
class Diagnostic:
    code: str
    message: str
    span: Span | None
    severity: str = "error"
    hint: str | None = None
    notes: tuple[str, ...] = ()

    def sort_key(self) -> tuple:
        span = self.span or Span("", 0, 0, 0, 0)
        return (span.file, span.line, span.column, self.code, self.message)

    def to_json(self) -> dict:
        record = dataclasses.asdict(self)
        record["notes"] = list(self.notes)
        return record


class WallError(Exception):
    """Root of every error the tool raises on purpose; the CLI catches it once."""


class SpecError(WallError):
    """One or more problems in a spec, found before anything trains."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        first = self.diagnostics[0] if self.diagnostics else None
        super().__init__(f"{first.span}: {first.message}" if first else "invalid spec")


def error(code: str, message: str, span: Span | None, hint: str | None = None, notes=()) -> SpecError:
    """Build a SpecError holding a single diagnostic."""
    return SpecError([Diagnostic(code, message, span, hint=hint, notes=tuple(notes))])


def counted(count: int, noun: str) -> str:
    """Write a count with its noun, plural unless the count is 1: `1 error`, `2 devices`."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def did_you_mean(name: str, choices) -> str | None:
    """Return a hint naming the closest valid choice, or None when nothing is close.

    Close means at most one edit for short names and two for names of three or more
    characters (a swap of neighbours counts as one edit), or a difflib ratio of 0.6.
    """
    if name is None:
        return None
    ordered = sorted(set(choices))
    # A difference of case only (`Relu`) beats any misspelling (`gelu` is one edit away too).
    same_letters = [choice for choice in ordered if choice.lower() == name.lower() and choice != name]
    if same_letters:
        return f"did you mean `{same_letters[0]}`?"
    limit = 1 if len(name) < 3 else 2
    distances = [(edit_distance(name, choice), choice) for choice in ordered if choice != name]
    near = [(d, c) for d, c in distances if d <= limit and d < max(len(c), len(name))]
    if near:
        return f"did you mean `{min(near)[1]}`?"
    close = difflib.get_close_matches(name, ordered, n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else None


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance, with a swap of two neighbouring characters counting as one edit."""
    previous2, previous = None, list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, char_b in enumerate(b, start=1):
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            if previous2 is not None and i > 1 and j > 1 and char_a == b[j - 2] and a[i - 2] == char_b:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


MAX_RENDERED = 20


def render_all(diagnostics: list[Diagnostic], sources: dict[str, str] | None = None) -> str:
    """Render diagnostics as text, sorted and capped at MAX_RENDERED."""
    ordered = sorted(diagnostics, key=Diagnostic.sort_key)
    blocks = [render(d, sources) for d in ordered[:MAX_RENDERED]]
    if len(ordered) > MAX_RENDERED:
        blocks.append(f"... and {len(ordered) - MAX_RENDERED} more")
    return "\n\n".join(blocks)


def render(diagnostic: Diagnostic, sources: dict[str, str] | None = None) -> str:
    """Render one diagnostic with its source line and a caret under the span."""
    lines = [f"{diagnostic.severity}[{diagnostic.code}]: {diagnostic.message}"]
    span = diagnostic.span
    if span is not None:
        lines.append(f" --> {span}")
        lines.extend(_excerpt(span, diagnostic.hint, sources))
    elif diagnostic.hint:
        lines.append(f"  = help: {diagnostic.hint}")
    lines.extend(f"  = note: {note}" for note in diagnostic.notes)
    return "\n".join(lines)


def _excerpt(span: Span, hint: str | None, sources: dict[str, str] | None) -> list[str]:
    text = _source_text(span.file, sources)
    if text is None:
        return [f"  = help: {hint}"] if hint else []
    source_lines = text.splitlines()
    if not 1 <= span.line <= len(source_lines):
        return [f"  = help: {hint}"] if hint else []

    # Underline the span on its first line only; a multi-line span gets a caret run to
    # the end of that line.
    source_line = source_lines[span.line - 1]
    end = span.end_column if span.end_line == span.line else len(source_line) + 1
    width = max(1, end - span.column)
    gutter = " " * len(str(span.line))
    underline = " " * (span.column - 1) + "^" * width
    if hint:
        underline += f" {hint}"
    return [f"{gutter} |", f"{span.line} | {source_line}", f"{gutter} | {underline}"]


def _source_text(file: str, sources: dict[str, str] | None) -> str | None:
    if sources and file in sources:
        return sources[file]
    try:
        return Path(file).read_text()
    except OSError:
        return None
