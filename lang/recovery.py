"""Syntax errors in user words, with repair so that one slip gives one error.

The LALR parser calls `Recovery.on_error` at each unexpected token. First it tries one
inserted or substituted token: a missing `=`, `=` written for `==`, a missing `,`, `)` or
`]`. When no such token makes the parser accept the next one, a placeholder value stands in
for a missing value, or else the token is skipped. After a skip, further errors on the same
line are dropped, because they are almost always echoes of the first. A number glued to a
name (`2d`) is reported from the token stream before parsing.
"""

from __future__ import annotations

import re

import lark
from lark import Token

from .diagnostics import Diagnostic, Span

# Terminal names as a user would say them, for "expected one of ..." lists.
TOKEN_WORDS = {
    "NAME": "a name",
    "INT": "an integer",
    "FLOAT": "a number",
    "QUANTITY": "a quantity such as 30min",
    "STRING": "a string",
    "VERSION": "a version such as 0.1",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "EQUAL": "`=`",
    "COMMA": "`,`",
    "COLON": "`:`",
    "DOT": "`.`",
    "COMPARE": "a comparison such as `==`",
    "ADD": "`+` or `-`",
    "MUL": "`*`, `/` or `%`",
    "MINUS": "`-`",
    "PLUS": "`+`",
    "CIRCUMFLEX": "`^`",
    "__ANON_0": "`..`",
    "$END": "the end of the file",
}

# Tokens tried, in order, as a one-token insertion before the unexpected token.
INSERTIONS = (("EQUAL", "="), ("COMMA", ","), ("RPAR", ")"), ("RSQB", "]"))
NUMBERS = ("INT", "FLOAT")
COMPARISON = re.compile(r"(<=|>=|==|!=|<|>)")
UNITS = ("ms", "s", "min", "h", "day", "KB", "MB", "GB", "TB")
# A number, a space and a unit just before the unexpected token, with perhaps the next
# field's name between them (`2 hours  cpus = 2` stops at the `=`).
SPACED_UNIT = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)[ \t]+([A-Za-z]+)(?:[ \t]+[A-Za-z_]\w*)?[ \t]*$")
# `import` at the start of a line followed by a path that is not in quotes; `as NAME` may follow.
UNQUOTED_IMPORT = re.compile(r'^(\s*import\s+)([^"\s#]+)(\s+as\s+\w+.*|\s*(#.*)?)$')
# Operators that need a right side, longest first so that `..` is not read as `.`.
UNFINISHED_OPERATORS = ("..", "+", "-", "*", "/", "%", "^", " and", " or", " not")
WORD_BEFORE = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)\s*$")


class Recovery:
    """Collects one diagnostic per slip while the parser repairs and continues."""

    def __init__(self, text: str, file: str):
        self.text, self.file = text, file
        self.diagnostics: list[Diagnostic] = []
        self._skipped_lines: set[int] = set()

    def on_error(self, exc: lark.UnexpectedInput) -> bool:
        if isinstance(exc, lark.UnexpectedCharacters):
            self._report(self._unexpected_character(exc))
            return True
        if not isinstance(exc, lark.UnexpectedToken):
            return False
        if exc.token.type == "$END":
            self._report(self._end_of_file(exc))
            return False

        parser, token = exc.interactive_parser, exc.token
        repaired = self._repair(parser, token)
        if repaired is not None:
            diagnostic, fed = repaired
            self._report(diagnostic, echo_possible=False)
            for extra in fed:
                parser.feed_token(extra)
            return True

        # No one-token repair: report, then stand in a value where one is missing or skip
        # the token, so that parsing goes on to find later, independent slips.
        self._report(self._spaced_unit(token) or self._unexpected_token(exc))
        placeholder = Token.new_borrow_pos("INT", "0", token)
        if "INT" in parser.accepts() and _accepts_after(parser, [placeholder], token):
            parser.feed_token(placeholder)
            parser.feed_token(token)
        return True

    # Repairs.

    def _repair(self, parser, token: Token):
        accepted = parser.accepts()
        if token.type == "EQUAL" and "COMPARE" in accepted:
            compare = Token.new_borrow_pos("COMPARE", "==", token)
            if _accepts_after(parser, [compare], None):
                # Parsing goes on as if `==` was meant, so that later slips are still found.
                unfinished = self._unfinished_operator(token)
                if unfinished is not None:
                    return unfinished, [compare]
                return self._labelled(token, "`=` sets a field; compare with `==`",
                                      "write `==` here"), [compare]

        for terminal, text in INSERTIONS:
            if terminal not in accepted:
                continue
            inserted = Token.new_borrow_pos(terminal, text, token)
            if _accepts_after(parser, [inserted], token):
                return self._insertion(terminal, token), [inserted, token]
        return None

    def _insertion(self, terminal: str, token: Token) -> Diagnostic:
        if terminal == "EQUAL":
            field = self._word_before(token)
            return self._labelled(token, f"missing `=` between `{field}` and its value",
                                  f"add `=`: `{field} = {token}`")
        if terminal == "COMMA":
            return self._labelled(token, f"missing `,` before `{token}`",
                                  "separate list items and arguments with `,`")
        closing = TOKEN_WORDS[terminal]
        return self._labelled(token, f"missing {closing} before `{token}`", f"add {closing}")

    def _spaced_unit(self, token: Token) -> Diagnostic | None:
        """Report `30 min`: the number is read as the value and `min` as the start of a block,
        so the parser stops later, at a `}` or `=`."""
        match = SPACED_UNIT.search(self.text, 0, token.start_pos)
        if match is None:
            return None
        number, unit = match.group(1), match.group(2)
        unit = unit if unit in UNITS else UNIT_SPELLINGS.get(unit)
        if unit is None:
            return None
        line = self.text.count("\n", 0, match.start(1)) + 1
        column = match.start(1) - self.text.rfind("\n", 0, match.start(1))
        return Diagnostic("E0001", f"syntax error: a quantity is written without a space before its unit",
                          Span(self.file, line, column, line, column + match.end(2) - match.start(1)),
                          hint=f"write `{number}{unit}`")

    def _follows_comparison(self, token: Token) -> bool:
        """Return whether a comparison operator comes earlier on the token's line, as in `1 < d < 10`."""
        line_start = self.text.rfind("\n", 0, token.start_pos) + 1
        before = self.text[line_start:token.start_pos].split("#")[0]
        return bool(COMPARISON.search(before))

    def _unfinished_operator(self, token: Token) -> Diagnostic | None:
        """In `lr = 0..` followed by `batch = 4`, the parser reads `0..batch` and stops at the
        second `=`. The slip is the operator with nothing after it, so point there."""
        name = WORD_BEFORE.search(self.text, 0, token.start_pos)
        if name is None:
            return None
        lines = [line.split("#")[0] for line in self.text[:name.start(1)].split("\n")]  # code without comments
        while len(lines) > 1 and not lines[-1].strip():
            lines.pop()  # blank or comment-only lines between the operator and the name
        code = lines[-1].rstrip()
        operator = next((op for op in UNFINISHED_OPERATORS if code.endswith(op)), None)
        if operator is None:
            return None
        operator = operator.strip()
        line, column = len(lines), len(code) - len(operator) + 1
        return Diagnostic("E0001", f"syntax error: nothing follows `{operator}`, so `{name.group(1)}` "
                                   f"on line {token.line} was read as its right side",
                          Span(self.file, line, column, line, column + len(operator)),
                          hint=f"complete the expression after `{operator}`")

    def _word_before(self, token: Token) -> str:
        match = WORD_BEFORE.search(self.text, 0, token.start_pos)
        return match.group(1) if match else "the field"

    # Diagnostics.

    def _labelled(self, token: Token, message: str, hint: str) -> Diagnostic:
        return Diagnostic("E0001", f"syntax error: {message}", _token_span(self.file, token), hint=hint)

    def _unexpected_token(self, exc: lark.UnexpectedToken) -> Diagnostic:
        token = exc.token
        if token.type == "COMPARE" and self._follows_comparison(token):
            return self._labelled(token, f"comparisons do not chain: `a < b {token} c` is not allowed",
                                  f"write `a < b and b {token} c`")
        expected = describe_expected(exc.interactive_parser.accepts())
        return Diagnostic("E0001", f"syntax error: unexpected `{token}`", _token_span(self.file, token),
                          hint=f"expected {expected}" if expected else None)

    def _unexpected_character(self, exc: lark.UnexpectedCharacters) -> Diagnostic:
        span = Span(self.file, exc.line, exc.column, exc.line, exc.column + 1)
        hint = "strings use double quotes" if exc.char == "'" else None
        return Diagnostic("E0001", f"syntax error: unexpected character `{exc.char}`", span, hint=hint)

    def _end_of_file(self, exc: lark.UnexpectedToken) -> Diagnostic:
        span = end_of_text(self.text, self.file)
        accepted = exc.interactive_parser.accepts()
        opening = unclosed_brace(self.text)
        if "RBRACE" in accepted and opening is None and self.diagnostics:
            return None  # the braces balance: an echo of a skipped `}`
        if "RBRACE" in accepted:
            if opening is not None and opening[2] is not None:
                # Point at the block that lost its `}`, not at the end of the file.
                line, column, sibling = opening
                return Diagnostic("E0001", "syntax error: a `{` is not closed",
                                  Span(self.file, line, column, line, column + 1),
                                  hint=f"add the missing `}}` before line {sibling}",
                                  notes=(f"line {sibling} starts at the indentation of this block's "
                                         "first line, so the block most likely ends before it",))
            notes = (f"the `{{` at {self.file}:{opening[0]}:{opening[1]} is still open",) if opening else ()
            return Diagnostic("E0001", "syntax error: unexpected end of file: a `{` is not closed", span,
                              hint="add the missing `}`", notes=notes)
        expected = describe_expected(accepted)
        return Diagnostic("E0001", "syntax error: unexpected end of file", span,
                          hint=f"expected {expected}" if expected else None)

    def report_glued_numbers(self, tokens: list[Token]):
        """Report `2d` (a number written directly before a name) before parsing starts."""
        for previous, token in zip(tokens, tokens[1:]):
            if previous.type in NUMBERS and token.type == "NAME" and previous.end_pos == token.start_pos:
                span = Span(self.file, previous.line, previous.column, token.end_line, token.end_column)
                self._report(Diagnostic("E0001", f"syntax error: `{previous}{token}` is not a number or a name",
                                        span, hint=_glued_hint(str(previous), str(token))))

    def quote_import_paths(self, text: str) -> str:
        """Report `import common.wall` (a path without quotes) and return the text with the
        path quoted. Parsed as written, every later line would be reported as well."""
        lines = text.split("\n")
        for number, line in enumerate(lines, start=1):
            match = UNQUOTED_IMPORT.match(line)
            if match is None:
                continue
            path = match.group(2)
            column = match.start(2) + 1
            self._report(Diagnostic("E0001", "syntax error: an import path is a string",
                                    Span(self.file, number, column, number, column + len(path)),
                                    hint=f'write `import "{path}"`'))
            lines[number - 1] = f'{match.group(1)}"{path}"{match.group(3)}'
        return "\n".join(lines)

    def _report(self, diagnostic: Diagnostic | None, echo_possible: bool = True):
        if diagnostic is None:
            return
        # After a repair the parser is in step with the text, so the next error is a new
        # slip; after a skip, errors on the same line are usually echoes of the first.
        line = diagnostic.span.line if diagnostic.span else 0
        if echo_possible and line in self._skipped_lines:
            return
        if echo_possible:
            self._skipped_lines.add(line)
        self.diagnostics.append(diagnostic)


# Unit spellings that are not in the closed unit table, with the unit to write instead.
UNIT_SPELLINGS = {"d": "day", "days": "day", "hour": "h", "hours": "h", "hr": "h", "m": "min", "mins": "min",
                  "minute": "min", "minutes": "min", "sec": "s", "secs": "s", "seconds": "s", "gb": "GB",
                  "G": "GB", "mb": "MB", "M": "MB", "kb": "KB", "tb": "TB"}


def _glued_hint(number: str, name: str) -> str:
    if name.startswith("_"):
        return "an underscore may only stand between two digits, as in `100_000`"
    unit = UNIT_SPELLINGS.get(name)
    if unit is None:
        return f"write `{number} * {name}` for a product"
    if name == "d":
        return f"write `{number} * d` for a product, or `{number}day` for a duration"
    return f"write `{number}{unit}`; units are ms, s, min, h, day, KB, MB, GB and TB"


def _accepts_after(parser, fed: list[Token], following: Token | None) -> bool:
    """Whether the parser, after the fed tokens, accepts `following` (None: anything)."""
    trial = parser.copy()
    try:
        for token in fed:
            trial.feed_token(token)
    except lark.UnexpectedInput:
        return False
    return following is None or following.type in trial.accepts()


def describe_expected(terminals) -> str:
    words = sorted({TOKEN_WORDS.get(t, _keyword_words(t)) for t in terminals})
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _keyword_words(terminal: str) -> str:
    # Lark names keyword terminals after the keyword itself, in upper case.
    return f"`{terminal.lower()}`" if terminal.isalpha() else terminal


def _token_span(file: str, token: Token) -> Span:
    width = max(1, len(str(token)))
    return Span(file, token.line, token.column, token.line, token.column + width)


def end_of_text(text: str, file: str) -> Span:
    """A one-character span just after the last non-blank character of the text."""
    lines = text.rstrip().splitlines() or [""]
    line, column = len(lines), len(lines[-1]) + 1
    return Span(file, line, column, line, column + 1)


def unclosed_brace(text: str) -> tuple[int, int, int | None] | None:
    """Find the `{` left open, skipping strings and comments: (line, column, sibling line).

    A later line may start at the indentation of the line that opened a `{` still open.
    Then a sibling of that block begins inside it, and that `{` is most likely the one
    missing its `}`: it is returned with the sibling's line. Otherwise the innermost open
    `{` is returned, with None.
    """
    stack: list[tuple[int, int, int]] = []  # (line, column, indentation of its line)
    suspect = None
    for line, content in enumerate(text.split("\n"), start=1):
        in_string = escaped = False  # strings end at the end of their line
        stripped = content.lstrip(" \t")
        indent = len(content) - len(stripped)
        starts_statement = stripped and stripped[0] not in "}#"
        if suspect is None and stack and starts_statement and indent <= stack[-1][2]:
            suspect = (stack[-1][0], stack[-1][1], line)
        for column, char in enumerate(content, start=1):
            if in_string:
                in_string = escaped or char != '"'
                escaped = char == "\\" and not escaped
            elif char == '"':
                in_string, escaped = True, False
            elif char == "#":
                break
            elif char == "{":
                stack.append((line, column, indent))
            elif char == "}" and stack:
                stack.pop()
    if not stack:
        return None
    return suspect or (stack[-1][0], stack[-1][1], None)
