"""Parse `.wall` source text into the syntax tree of `syntax.py`, keeping spans."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import lark
from lark import Token, Transformer, v_args

from . import syntax as ast
from .diagnostics import Span, SpecError, error
from .recovery import Recovery

# Python refuses to convert longer integers to text, and no spec needs one.
MAX_INTEGER_DIGITS = 1000
# Parsing, evaluating and formatting recurse a few frames per operator, so a generated sum
# of a few hundred terms would pass Python's default limit of 1000 frames.
RECURSION_LIMIT = 20_000
sys.setrecursionlimit(max(sys.getrecursionlimit(), RECURSION_LIMIT))

@functools.cache
def _parser() -> lark.Lark:
    grammar = (Path(__file__).parent / "wall.lark").read_text()
    return lark.Lark(grammar, parser="lalr", propagate_positions=True, maybe_placeholders=True,
                     start=["start", "expr"])


@functools.cache
def _lexer() -> lark.Lark:
    # A context-free lexer, for token streams that do not depend on a parse (formatting,
    # the `2d` check).
    grammar = (Path(__file__).parent / "wall.lark").read_text()
    return lark.Lark(grammar, parser="lalr", lexer="basic")


def lex(text: str, keep_comments: bool = False) -> list[Token]:
    """The tokens of a text; a character no token matches ends the list early."""
    tokens = []
    try:
        for token in _lexer().lex(text, dont_ignore=keep_comments):
            if token.type != "WS":
                tokens.append(token)
    except lark.UnexpectedCharacters:
        pass
    return tokens


def parse_file(path: str | Path) -> ast.File:
    return parse_text(read_spec_text(path), str(path))


def read_spec_text(path: str | Path) -> str:
    """Read a spec file as UTF-8 text; a file that cannot be read is error E0002."""
    path = Path(path)
    try:
        return path.read_text(encoding="utf-8-sig")  # an editor's byte-order mark is not a character
    except OSError as exc:
        reason = "it is a directory" if path.is_dir() else exc.strerror
        raise error("E0002", f"cannot read spec file `{path}`: {reason}", None,
                    hint="check the path; spec files usually live under specs/") from None
    except UnicodeDecodeError as exc:
        line = exc.object[:exc.start].count(b"\n") + 1
        raise error("E0002", f"cannot read spec file `{path}`: byte 0x{exc.object[exc.start]:02x} on line {line} "
                    "is not UTF-8", None, hint="save the file as UTF-8 text") from None


def parse_text(text: str, file: str = "<input>") -> ast.File:
    """Parse a whole file; syntax errors become one SpecError listing every slip found."""
    recovery = Recovery(text, file)
    recovery.report_glued_numbers(lex(text))
    text = recovery.quote_import_paths(text)
    try:
        tree = _parser().parse(text, start="start", on_error=recovery.on_error)
    except lark.UnexpectedInput:
        pass  # the recovery has recorded why it gave up
    if recovery.diagnostics:
        raise SpecError(recovery.diagnostics)
    return _transform(tree, _ToSyntax(file, text))


def parse_expression(text: str, file: str = "<expression>") -> ast.Node:
    """Parse a single expression, as used by `--set path=value` overrides."""
    return _parse_expression_at(text, file, 1, 1)


def _parse_expression_at(text: str, file: str, line: int, column: int) -> ast.Node:
    # Padding with newlines and spaces makes Lark's positions those of the enclosing file.
    padded = "\n" * (line - 1) + " " * (column - 1) + text
    recovery = Recovery(padded, file)
    try:
        tree = _parser().parse(padded, start="expr", on_error=recovery.on_error)
    except lark.UnexpectedInput:
        pass
    if recovery.diagnostics:
        raise SpecError(recovery.diagnostics)
    return _transform(tree, _ToSyntax(file, padded))


def _transform(tree, transformer: "_ToSyntax"):
    # Lark wraps exceptions raised in a transformer; ours carry a located diagnostic.
    try:
        return transformer.transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, SpecError):
            raise exc.orig_exc from None
        raise


# Versions of the language this compiler reads, in the `wall X.Y` line that starts a file.
LANGUAGE_VERSIONS = ("0.1",)


def _span(file: str, meta) -> Span:
    return Span(file, meta.line, meta.column, meta.end_line, meta.end_column)


def _token_span(file: str, token: Token) -> Span:
    return Span(file, token.line, token.column, token.end_line, token.end_column)


@v_args(meta=True)
class _ToSyntax(Transformer):
    """Turn the Lark parse tree into syntax nodes with spans."""

    def __init__(self, file: str, text: str = ""):
        super().__init__()
        self.file = file
        self.text = text

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
        token = children[0]
        if str(token) not in LANGUAGE_VERSIONS:
            # A newer file may mean things this compiler would read differently.
            raise error("E0003", f"this wallc reads `wall {', '.join(LANGUAGE_VERSIONS)}` files, not `wall {token}`",
                        _token_span(self.file, token), hint="update wallc, or write the spec for the version it reads")
        return ("version", str(token))

    def import_stmt(self, meta, children):
        path, alias = children
        return ast.Import(self._s(meta), _unquote(path), str(alias) if alias else None)

    def let_stmt(self, meta, children):
        name, value = children
        return ast.Let(self._s(meta), str(name), value)

    def block(self, meta, children):
        kind = children[0]
        labels, label_spans, extends, extends_span, members = [], [], None, None, []
        for child in children[1:]:
            if isinstance(child, tuple) and child[0] == "label":
                labels.append(child[1])
                label_spans.append(child[2])
            elif isinstance(child, tuple) and child[0] == "extends":
                extends, extends_span = child[1], child[2]
            elif child is not None:
                members.append(child)
        return ast.Block(self._s(meta), str(kind), tuple(labels), extends, tuple(members),
                         _token_span(self.file, kind), label_spans=tuple(label_spans), extends_span=extends_span)

    def label(self, meta, children):
        token = children[0]
        return ("label", _unquote(token) if token.type == "STRING" else str(token), _token_span(self.file, token))

    def extends(self, meta, children):
        # The base's name ends the `extends NAME` rule, so its span is the rule's last characters.
        name = children[0]
        span = Span(self.file, meta.end_line, meta.end_column - len(name), meta.end_line, meta.end_column)
        return ("extends", name, span)

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
        digits = str(children[0]).replace("_", "")
        if len(digits) > MAX_INTEGER_DIGITS:
            raise error("E0001", f"an integer of {len(digits)} digits is too long", self._s(meta),
                        hint=f"integers have at most {MAX_INTEGER_DIGITS} digits; a float such as 1e30 can be larger")
        return ast.Literal(self._s(meta), int(digits))

    def float(self, meta, children):
        return ast.Literal(self._s(meta), float(str(children[0]).replace("_", "")))

    def quantity(self, meta, children):
        text = str(children[0])
        number = text.rstrip("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
        unit = text[len(number):]
        return ast.QuantityLiteral(self._s(meta), float(number.replace("_", "")), unit)

    def string(self, meta, children):
        token = children[0]
        if "${" not in str(token):
            return ast.Literal(self._s(meta), _unquote(token))
        return ast.Interpolation(self._s(meta), tuple(_interpolation_parts(token, self.file)))

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


def _interpolation_parts(token: Token, file: str) -> list:
    """Split `"a ${expr} b"` into text pieces and expressions parsed by the expression grammar."""
    body, parts, position = str(token)[1:-1], [], 0
    text_start = 0
    while True:
        opening = _find_interpolation(body, position)
        if opening < 0:
            break
        closing = _matching_brace(body, opening + 2)
        if closing < 0:
            span = Span(file, token.line, token.column + 1 + opening, token.line, token.column + 3 + opening)
            raise error("E0001", "syntax error: `${` in a string is not closed", span,
                        hint="close it with `}`, or write `\\${` for a literal `${`")
        parts.append(_unescape(body[text_start:opening]))
        inner = body[opening + 2:closing]
        if not inner.strip():
            span = Span(file, token.line, token.column + 1 + opening, token.line, token.column + 2 + closing)
            raise error("E0001", "syntax error: empty `${}` in a string", span, hint="put an expression inside")
        # The column of the first character of `inner`: the quote, the text, then `${`.
        parts.append(_parse_expression_at(inner, file, token.line, token.column + 1 + opening + 2))
        text_start = position = closing + 1
    parts.append(_unescape(body[text_start:]))
    return [part for part in parts if part != ""]


def _find_interpolation(body: str, start: int) -> int:
    index = body.find("${", start)
    while index > 0 and body[index - 1] == "\\":
        index = body.find("${", index + 2)
    return index


def _matching_brace(body: str, start: int) -> int:
    depth = 0
    for index in range(start, len(body)):
        if body[index] == "{":
            depth += 1
        elif body[index] == "}":
            if depth == 0:
                return index
            depth -= 1
    return -1


def _unescape(text: str) -> str:
    text = text.replace("\\$", "$")
    return text.encode("utf-8").decode("unicode_escape") if "\\" in text else text


def _unquote(token) -> str:
    body = str(token)[1:-1]
    return body.encode("utf-8").decode("unicode_escape") if "\\" in body else body
