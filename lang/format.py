"""`wallc fmt`: a canonical layout for `.wall` files that keeps every comment.

The layout follows the syntax tree: two spaces of indent per block, one space around `=`,
at most one blank line in a row. The author's choices that carry meaning for a reader are
kept: which members share a line, one-line blocks, and whether an operator has spaces
around it (`x1*x2*x3` and `12.8 / d` both stay). Expressions are printed from their own
tokens, so formatting cannot change what a spec means. Tests check that the plan of every
spec is unchanged and that formatting twice changes nothing.
"""

from __future__ import annotations

import bisect

from lark import Token

from . import syntax as ast
from .parser import lex, parse_text

INDENT = "  "
OPENERS, CLOSERS = ("(", "[", "{"), (")", "]", "}")


def format_text(text: str, file: str = "<input>") -> str:
    """Format a spec's text; raise SpecError when the text does not parse."""
    tree = parse_text(text, file)
    return _Printer(text, tree).print_file()


class _Printer:
    def __init__(self, text: str, tree: ast.File):
        self.text, self.tree = text, tree
        self.tokens = lex(text, keep_comments=True)
        self.starts = [t.start_pos for t in self.tokens]
        line_starts = [0]
        for index, char in enumerate(text):
            if char == "\n":
                line_starts.append(index + 1)
        self.line_starts = line_starts
        self.comments = [t for t in self.tokens if t.type == "COMMENT"]
        self.next_comment = 0
        self.source_lines = text.splitlines()
        self.out: list[str] = []
        self.last_line = 0  # the source line of the last thing printed
        self.just_opened = False  # no blank line right after a `{`

    # Output.

    def emit(self, depth: int, text: str, source_line: int):
        """Print one output line for source lines starting at `source_line`."""
        blank = (self.out and not self.just_opened and source_line > self.last_line + 1
                 and self._blank_between(source_line))
        if blank:
            self.out.append("")
        self.out.append(INDENT * depth + text)
        self.just_opened = False

    def _blank_between(self, source_line: int) -> bool:
        lines = self.source_lines
        return any(not lines[n - 1].strip() for n in range(self.last_line + 1, source_line)
                   if 0 < n <= len(lines))

    def comments_before(self, line: int, depth: int):
        while self.next_comment < len(self.comments) and self.comments[self.next_comment].line < line:
            comment = self.comments[self.next_comment]
            self.emit(depth, str(comment).rstrip(), comment.line)
            self.last_line = comment.line
            self.next_comment += 1

    def trailing_comment(self, line: int, before: int | None = None) -> str:
        """Return the comment that ends source line `line` if it starts before offset `before`."""
        if self.next_comment < len(self.comments) and self.comments[self.next_comment].line == line:
            comment = self.comments[self.next_comment]
            if before is not None and comment.start_pos >= before:
                return ""
            self.next_comment += 1
            return "  " + str(comment).rstrip()
        return ""

    # Files and blocks.

    def print_file(self) -> str:
        if self.tree.version:
            line = next((t.line for t in self.tokens if str(t) == "wall"), 1)
            self.comments_before(line, 0)
            self.emit(0, f"wall {self.tree.version}" + self.trailing_comment(line), line)
            self.last_line = line
        for group in self._groups(self.tree.items):
            self.print_group(group, 0)
        self.comments_before(len(self.source_lines) + 1, 0)
        return "\n".join(self.out).strip("\n") + "\n"

    def _groups(self, members) -> list[list]:
        """Members that start on the line where the previous one ends share an output line,
        except multi-line blocks, which always get lines of their own."""
        groups: list[list] = []
        for member in members:
            shares_line = (groups and member.span.line == groups[-1][-1].span.end_line
                           and not self._multi_line_block(member)
                           and not self._multi_line_block(groups[-1][-1]))
            if shares_line:
                groups[-1].append(member)
            else:
                groups.append([member])
        return groups

    def _multi_line_block(self, member) -> bool:
        return isinstance(member, ast.Block) and member.span.line != member.span.end_line

    def print_group(self, group: list, depth: int, closing: int | None = None):
        """Print members that share a line. `closing` is the offset of the enclosing block's
        `}`: a comment after it on the same line stays with the `}`."""
        first = group[0]
        self.comments_before(first.span.line, depth)
        if self._multi_line_block(first):
            self.print_block(first, depth)
            return
        text = "  ".join(self.inline(member, depth) for member in group)
        end_line = group[-1].span.end_line
        self.emit(depth, text + self.trailing_comment(end_line, closing), first.span.line)
        self.last_line = end_line

    def print_block(self, block: ast.Block, depth: int):
        header, header_comments = self.block_header_and_comments(block)
        # A comment on the `{` line belongs to the member written there, if there is one:
        # that member moves to a line of its own and takes the comment with it.
        member_on_brace_line = block.members and block.members[0].span.line == block.span.line
        comment = "" if member_on_brace_line else self.trailing_comment(block.span.line)
        comments = "".join(f"  {text}" for text in header_comments) + comment
        self.emit(depth, header + " {" + comments, block.span.line)
        self.last_line = block.span.line
        self.just_opened = True
        closing = self._offset(block.span.end_line, block.span.end_column) - 1
        for group in self._groups(block.members):
            self.print_group(group, depth + 1, closing)
        self.comments_before(block.span.end_line, depth + 1)
        self.out.append(INDENT * depth + "}" + self.trailing_comment(block.span.end_line))
        self.just_opened = False
        self.last_line = block.span.end_line

    def block_header_and_comments(self, block: ast.Block) -> tuple[str, list[str]]:
        """Return a block's kind and labels on one line, and the comments written among them.

        A comment between the labels and the `{` (`experiment e  # main` with `{` on the next
        line) moves after the `{`: printed in place, it would swallow the brace.
        """
        index = self._token_index_at(self._offset(block.kind_span.line, block.kind_span.column))
        words, comments = [], []
        while str(self.tokens[index]) != "{":
            token = self.tokens[index]
            if token.type == "COMMENT":
                comments.append(str(token).rstrip())
                self.next_comment = max(self.next_comment, self._comment_index(token) + 1)
            else:
                words.append(token)
            index += 1
        header = str(words[0])
        for previous, token in zip(words, words[1:]):
            gap = self._gap(previous, token)
            header += (" " if gap.startswith("\n") else gap) + str(token)
        return header, comments

    def inline(self, member, depth: int) -> str:
        """Print one member on one line, or with its own line breaks when an expression spans several."""
        if isinstance(member, ast.Block):
            header, _ = self.block_header_and_comments(member)  # one line, so no comments
            inner = "  ".join(self.inline(m, depth) for m in member.members)
            return f"{header} {{ {inner} }}" if inner else f"{header} {{}}"
        start = self._offset(member.span.line, member.span.column)
        end = self._offset(member.span.end_line, member.span.end_column)
        return self.tokens_text(self._token_index_at(start), end, depth)

    # Token-level printing of statements and expressions.

    def tokens_text(self, first: int, end: int, depth: int) -> str:
        pieces, bracket_depth, previous = [], 0, None
        # Continuation lines are indented relative to where the statement starts, which is not
        # the line's indent when it follows a `{` on the same line.
        source_indent = self.tokens[first].column - 1
        index = first
        while index < len(self.tokens) and self.tokens[index].start_pos < end:
            token = self.tokens[index]
            text = str(token)
            if text in CLOSERS:
                bracket_depth -= 1
            if previous is not None:
                gap = self._gap(previous, token)
                if gap == "\n":
                    # A continuation line keeps its indent relative to the statement's first
                    # line (an aligned list stays aligned), but at least one level per bracket.
                    minimum = len(INDENT) * (depth + 1 + max(bracket_depth, 0))
                    relative = len(INDENT) * depth + token.column - 1 - source_indent
                    gap += " " * max(minimum, relative)
                pieces.append(gap)
            if token.type == "COMMENT":
                self.next_comment = max(self.next_comment, self._comment_index(token) + 1)
            if text in OPENERS:
                bracket_depth += 1
            pieces.append(text)
            previous = token
            index += 1
        return "".join(pieces)

    def _gap(self, previous: Token, token: Token) -> str:
        """The space between two tokens, or "\\n" where a new line starts."""
        if previous.type == "COMMENT" or token.line > previous.end_line:
            if token.type == "COMMENT" and token.line == previous.end_line:
                return "  "
            return "\n"
        left, right = str(previous), str(token)
        if token.type == "COMMENT":
            return "  "
        if right == "," or left in ("(", "[") or right in (")", "]"):
            return ""
        if left == ",":
            return " "
        if left == "." or right == ".":
            return ""
        spaced = token.start_pos > previous.end_pos
        if _wordlike(left[-1]) and _wordlike(right[0]) or left == "=" or right == "=":
            return " "  # two words need a space, or they would lex as one
        return " " if spaced else ""

    def _comment_index(self, token: Token) -> int:
        return next(i for i, c in enumerate(self.comments) if c is token)

    def _offset(self, line: int, column: int) -> int:
        return self.line_starts[line - 1] + column - 1

    def _token_index_at(self, offset: int) -> int:
        return bisect.bisect_left(self.starts, offset)


def _wordlike(char: str) -> bool:
    return char.isalnum() or char in "_\""
