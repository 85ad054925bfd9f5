"""Syntax highlighting of `.wall` files with Pygments, for the docs and the HTML report.

The token classes follow the grammar in wall.lark: keywords, block kinds at the start of a
block header, quantities with their unit, numbers with exponents and underscores, strings
with `${...}` interpolation, coordinates (x3, z1) and Hermite terms (He2).
"""

from __future__ import annotations

from pygments.lexer import RegexLexer, bygroups, include
from pygments.token import Comment, Keyword, Name, Number, Operator, Punctuation, String, Text, Whitespace

KEYWORDS = ("wall", "import", "as", "let", "extends", "assert", "expect", "where", "step",
            "and", "or", "not", "in")
CONSTANTS = ("true", "false")
UNITS = r"(?:ms|s|min|h|day|KB|MB|GB|TB)"


class WallLexer(RegexLexer):
    name = "Wall"
    aliases = ["wall"]
    filenames = ["*.wall"]
    mimetypes = ["text/x-wall"]

    tokens = {
        "root": [
            (r"\s+", Whitespace),
            (r"#.*?$", Comment.Single),
            (r'"', String.Double, "string"),
            (r"\b(%s)\b" % "|".join(KEYWORDS), Keyword),
            (r"\b(%s)\b" % "|".join(CONSTANTS), Keyword.Constant),
            # A block header: a kind, then labels, before `{` or `extends`.
            (r"([A-Za-z_]\w*)((?:\s+[A-Za-z_]\w*)*)(\s*)(?=\{|\s+extends\b)",
             bygroups(Keyword.Declaration, Name.Class, Whitespace)),
            (r"\d[\d_]*(?:\.\d+)?" + UNITS + r"(?![\w])", Number.Other),
            (r"\d[\d_]*\.\d[\d_]*(?:[eE][+-]?\d+)?|\d[\d_]*[eE][+-]?\d+", Number.Float),
            (r"\d[\d_]*", Number.Integer),
            (r"\b(?:He\d+)(?=\s*\()", Name.Builtin),
            (r"\b[xz][1-9]\d*\b", Name.Variable.Magic),
            (r"([A-Za-z_]\w*)(\s*)(=)(?!=)", bygroups(Name.Attribute, Whitespace, Operator)),
            (r"[A-Za-z_]\w*(?=\s*\()", Name.Function),
            (r"[A-Za-z_]\w*", Name),
            (r"\.\.|==|!=|<=|>=|[-+*/%^<>=]", Operator),
            (r"[{}()\[\],.:]", Punctuation),
        ],
        "string": [
            (r'\\.', String.Escape),
            (r"\$\{", String.Interpol, "interpolation"),
            (r'"', String.Double, "#pop"),
            (r'[^"\\$]+', String.Double),
            (r"\$", String.Double),
        ],
        "interpolation": [
            (r"\}", String.Interpol, "#pop"),
            include("root"),
        ],
    }


def highlight_html(source: str) -> str:
    """The source as HTML with `<span class=...>` tokens; style it with `highlight_css()`."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter

    return highlight(source, WallLexer(), HtmlFormatter(nowrap=False, cssclass="wall-source"))


def highlight_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(cssclass="wall-source").get_style_defs(".wall-source")
