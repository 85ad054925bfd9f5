"""Parse `.wall` source text into the syntax tree of `syntax.py`, keeping spans."""

from __future__ import annotations

import functools
from pathlib import Path

import lark
from lark import Token, Transformer, v_args

from . import syntax as ast
from .diagnostics import Span, error

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
    "COMPARE": "a comparison",
    "ADD": "`+` or `-`",
    "MUL": "`*`, `/` or `%`",
    "MINUS": "`-`",
    "PLUS": "`+`",
    "CIRCUMFLEX": "`^`",
    "__ANON_0": "`..`",
    "$END": "the end of the file",
}


@functools.cache
def _parser() -> lark.Lark:
    grammar = (Path(__file__).parent / "wall.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True)


def parse_file(path: str | Path) -> ast.File:
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise error("E0002", f"cannot read spec file `{path}`: {exc.strerror}", None,
                    hint="check the path; spec files usually live under specs/") from None
    return parse_text(text, str(path))


def parse_text(text: str, file: str = "<input>") -> ast.File:
    """Parse a whole file; a syntax error becomes a SpecError with a located diagnostic."""
    try:
        tree = _parser().parse(text)
    except lark.UnexpectedInput as exc:
        raise _syntax_error(exc, text, file) from None
    return _ToSyntax(file).transform(tree)


def parse_expression(text: str, file: str = "<expression>") -> ast.Node:
    """Parse a single expression, as used by `--set path=value` overrides."""
    parsed = parse_text(f"__override__ {{ value = {text} }}", file)
    return parsed.items[0].members[0].value


def _syntax_error(exc: lark.UnexpectedInput, text: str, file: str):
    line, column = exc.line, exc.column
    if line in (None, -1):
        # Lark reports the end of input without a position; point after the last character.
        lines = text.splitlines() or [""]
        line, column = len(lines), len(lines[-1]) + 1
    found = _describe_found(exc)
    expected = _describe_expected(exc)
    span = Span(file, line, column, line, column + max(1, _token_width(exc)))
    message = f"syntax error: unexpected {found}"
    hint = f"expected {expected}" if expected else None
    return error("E0001", message, span, hint=hint)


def _describe_found(exc: lark.UnexpectedInput) -> str:
    if isinstance(exc, lark.UnexpectedToken):
        if exc.token.type == "$END":
            return "end of file"
        return f"`{exc.token}`"
    if isinstance(exc, lark.UnexpectedCharacters):
        return f"character `{exc.char}`"
    return "input"


def _describe_expected(exc: lark.UnexpectedInput) -> str:
    expected = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or set()
    words = sorted({TOKEN_WORDS.get(t, _keyword_words(t)) for t in expected})
    if not words:
        return ""
    if len(words) == 1:
        return words[0]
    return "one of " + ", ".join(words)


def _keyword_words(terminal: str) -> str:
    # Lark names keyword terminals after the keyword itself, in upper case.
    return f"`{terminal.lower()}`" if terminal.isalpha() else terminal


def _token_width(exc: lark.UnexpectedInput) -> int:
    token = getattr(exc, "token", None)
    return len(str(token)) if token is not None and token.type != "$END" else 1


def _span(file: str, meta) -> Span:
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _token_span(file: str, token: Token) -> Span:
    return Span(file, token.line, token.column, token.end_line, token.end_column)


@v_args(meta=True)
class _ToSyntax(Transformer):
    """Turn the Lark parse tree into syntax nodes with spans."""

    def __init__(self, file: str):
        super().__init__()
        self.file = file

    def _s(self, meta) -> Span:
        return _span(self.file, meta)

    # Files and statements.

    def start(self, meta, children):
        version = None
        if children and isinstance(children[0], tuple) and children[0][0] == "version":
            version = children[0][1]
            children = children[1:]
        span = self._s(meta) if not meta.empty else Span(self.file, 1, 1, 1, 1)
        return ast.File(span, version, tuple(children))

    def version(self, meta, children):
        return ("version", str(children[0]))

    def import_stmt(self, meta, children):
        path, alias = children
        return ast.Import(self._s(meta), _unquote(path), str(alias) if alias else None)

    def let_stmt(self, meta, children):
        name, value = children
        return ast.Let(self._s(meta), str(name), value)

    def block(self, meta, children):
        kind = children[0]
        labels, extends, members = [], None, []
        for child in children[1:]:
            if isinstance(child, tuple) and child[0] == "label":
                labels.append(child[1])
            elif isinstance(child, tuple) and child[0] == "extends":
                extends = child[1]
            elif child is not None:
                members.append(child)
        return ast.Block(self._s(meta), str(kind), tuple(labels), extends, tuple(members),
                         _token_span(self.file, kind))

    def label(self, meta, children):
        token = children[0]
        return ("label", _unquote(token) if token.type == "STRING" else str(token))

    def extends(self, meta, children):
        return ("extends", children[0])

    def dotted_name(self, meta, children):
        return ".".join(str(c) for c in children)

    def attribute(self, meta, children):
        name, value = children
        return ast.Attribute(self._s(meta), str(name), _token_span(self.file, name), value)

    def assert_stmt(self, meta, children):
        return ast.Claim(self._s(meta), "assert", children[0])

    def expect_stmt(self, meta, children):
        return ast.Claim(self._s(meta), "expect", children[0])

    def where_stmt(self, meta, children):
        return ast.Claim(self._s(meta), "where", children[0])

    # Expressions.

    def or_op(self, meta, children):
        return ast.Binary(self._s(meta), "or", children[0], children[1])

    def and_op(self, meta, children):
        return ast.Binary(self._s(meta), "and", children[0], children[1])

    def not_op(self, meta, children):
        return ast.Unary(self._s(meta), "not", children[0])

    def compare(self, meta, children):
        left, op, right = children
        return ast.Binary(self._s(meta), str(op), left, right)

    def member_of(self, meta, children):
        return ast.Binary(self._s(meta), "in", children[0], children[1])

    def not_member_of(self, meta, children):
        return ast.Binary(self._s(meta), "not in", children[0], children[1])

    def range(self, meta, children):
        step = children[2] if len(children) > 2 else None
        return ast.RangeExpr(self._s(meta), children[0], children[1], step)

    def binary(self, meta, children):
        left, op, right = children
        return ast.Binary(self._s(meta), str(op), left, right)

    def negate(self, meta, children):
        return ast.Unary(self._s(meta), "-", children[0])

    def plus(self, meta, children):
        return children[0]

    def power(self, meta, children):
        return ast.Binary(self._s(meta), "^", children[0], children[1])

    def call(self, meta, children):
        func, args = children
        if isinstance(args, ast.Comprehension):
            return ast.Comprehension(self._s(meta), func, args.header, args.body)
        positional, keywords = args if args is not None else ((), ())
        return ast.Call(self._s(meta), func, positional, keywords)

    def call_args(self, meta, children):
        positional = tuple(c for c in children if not isinstance(c, tuple))
        keywords = tuple(c for c in children if isinstance(c, tuple))
        return positional, keywords

    def comprehension(self, meta, children):
        header, body = children
        # The function is filled in by `call`; a placeholder name keeps the node valid.
        return ast.Comprehension(self._s(meta), None, header, body)

    def keyword(self, meta, children):
        name, value = children
        return (str(name), value)

    def attribute_of(self, meta, children):
        return ast.AttributeOf(self._s(meta), children[0], str(children[1]))

    def index(self, meta, children):
        return ast.Index(self._s(meta), children[0], children[1])

    def integer(self, meta, children):
        return ast.Literal(self._s(meta), int(str(children[0]).replace("_", "")))

    def float(self, meta, children):
        return ast.Literal(self._s(meta), float(str(children[0]).replace("_", "")))

    def quantity(self, meta, children):
        text = str(children[0])
        number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        unit = text[len(number):]
        return ast.QuantityLiteral(self._s(meta), float(number.replace("_", "")), unit)

    def string(self, meta, children):
        return ast.Literal(self._s(meta), _unquote(children[0]))

    def true(self, meta, children):
        return ast.Literal(self._s(meta), True)

    def false(self, meta, children):
        return ast.Literal(self._s(meta), False)

    def name(self, meta, children):
        return ast.Name(self._s(meta), str(children[0]))

    def list(self, meta, children):
        return ast.ListExpr(self._s(meta), tuple(c for c in children if c is not None))

    def object(self, meta, children):
        return ast.ObjectExpr(self._s(meta), tuple(children))


def _unquote(token) -> str:
    body = str(token)[1:-1]
    return body.encode("utf-8").decode("unicode_escape") if "\\" in body else body
