"""The generated sections of the docs match the code; the highlighters cover the language."""

from __future__ import annotations

import json
import re
from pathlib import Path

from pygments.lexers import get_lexer_by_name
from pygments.token import Error

from wall.lang import docs, schema
from wall.lang.codes import CODES
from wall.lang.highlight import WallLexer, highlight_html

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_up_to_date():
    stale = [str(path) for path, (current, updated) in docs.regenerate().items() if current != updated]
    assert stale == [], "run `python -m wall.lang.docs` to regenerate"


def test_language_reference_lists_every_field():
    text = (ROOT / "docs" / "language.md").read_text()
    for kind, entry in {**schema.SINGLE_BLOCKS, **schema.REPEATED_BLOCKS}.items():
        assert f"### `{kind}`" in text
        if isinstance(entry, dict):
            models = list(entry.values())
        else:
            models = [entry] if entry else []
        for model in models:
            for field in model.model_fields:
                assert f"| `{field}` |" in text, (kind, field)


def test_errors_page_lists_every_code():
    text = (ROOT / "docs" / "errors.md").read_text()
    assert sorted(re.findall(r"^### ([EW]\d{4}):", text, re.MULTILINE)) == sorted(CODES)


def test_replace_section_requires_markers():
    try:
        docs.replace_section("no markers", "schema", "x")
    except ValueError as exc:
        assert "schema" in str(exc)
    else:
        raise AssertionError("missing markers were accepted")


def test_pygments_lexer_covers_specs_without_errors():
    for path in sorted((ROOT / "specs").glob("*.wall")):
        text = path.read_text()
        tokens = list(WallLexer().get_tokens(text))
        assert [value for kind, value in tokens if kind is Error] == [], path.name
        assert "".join(value for _, value in tokens) == text


def test_pygments_lexer_is_registered():
    assert isinstance(get_lexer_by_name("wall"), WallLexer)


def test_lexer_token_classes():
    tokens = [(str(kind), value) for kind, value in WallLexer().get_tokens(
        'model mlp2 wide { width = 2^9  time = 30min  doc = "d=${d}" }  # c\n') if value.strip()]
    assert ("Token.Keyword.Declaration", "model") in tokens
    assert ("Token.Literal.Number.Other", "30min") in tokens
    assert ("Token.Literal.String.Interpol", "${") in tokens
    assert ("Token.Comment.Single", "# c") in tokens
    assert ("Token.Name.Attribute", "width") in tokens


def test_highlight_html_marks_keywords():
    html = highlight_html("assert leap(f) == 2\n")
    assert 'class="wall-source"' in html
    assert ">assert<" in html


def test_textmate_grammar_patterns_compile():
    grammar = json.loads((ROOT / "editors" / "wall.tmLanguage.json").read_text())
    assert grammar["scopeName"] == "source.wall"
    patterns = []

    def collect(node):
        if isinstance(node, dict):
            patterns.extend(node[key] for key in ("match", "begin", "end") if key in node)
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(grammar)
    assert len(patterns) > 10
    for pattern in patterns:
        re.compile(pattern)
    included = set(re.findall(r'"#([a-z-]+)"', json.dumps(grammar)))
    assert included <= set(grammar["repository"])


def wall_examples() -> list[str]:
    text = (ROOT / "docs" / "language.md").read_text()
    return re.findall(r"^```wall\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def test_reference_examples_parse():
    from wall.lang.diagnostics import SpecError
    from wall.lang.parser import parse_text

    examples = wall_examples()
    assert len(examples) >= 5
    for example in examples:
        # Fragments are members of a block; whole files parse as they are.
        try:
            parse_text(example, "example.wall")
        except SpecError:
            parse_text("experiment fragment {\n" + example + "\n}\n", "example.wall")


def test_first_reference_example_plans(tmp_path):
    from wall.compiler.plan import build_plans

    path = tmp_path / "example.wall"
    path.write_text(wall_examples()[0])
    assert len(build_plans(path)[0].runs) == 24


def test_import_example_plans(tmp_path):
    from wall.compiler.plan import build_plans

    common, experiment = [e for e in wall_examples() if "common" in e][:2]
    (tmp_path / "common.wall").write_text(common)
    body = wall_examples()[0].split("experiment leap2 {", 1)[1]
    body = body.replace('  model mlp2 { width = 512  activation = "relu" }\n', "")
    body = body.replace("  train { lr = 12.8 / d  batch = 16  steps = 16 * d }\n", "")
    (tmp_path / "wide.wall").write_text(experiment.replace(
        "  # target, parametrization, sweep and measurements as in any experiment\n}", body))
    runs = build_plans(tmp_path / "wide.wall")[0].runs
    assert {r.config.model.width for r in runs} == {2048}
    assert runs[0].config.train.lr == 12.8 / 16
