"""A first spec with five different mistakes: one `wallc check` reports all five, each at
its place and with a hint or note that tells the user what to change."""

from __future__ import annotations

from pathlib import Path

import pytest

from wall.compiler.plan import build_plans
from wall.lang.diagnostics import SpecError

SPEC = Path(__file__).with_name("five_mistakes.wall")


def test_all_five_mistakes_are_reported():
    with pytest.raises(SpecError) as caught:
        build_plans(SPEC)
    found = [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics]
    assert found == [
        ("E0501", 10, 12),  # the staircase has leap 1, not 2
        ("E0102", 17, 16),  # widht
        ("E0302", 19, 22),  # dim for d
        ("E0402", 23, 5),   # zip of 2 and 3 values
        ("E0201", 26, 45),  # a float test-set size
    ]
    hints = {d.code: d.hint for d in caught.value.diagnostics}
    assert hints["E0102"] == "did you mean `width`?"
    assert hints["E0302"] == "did you mean `d`?"
    leap_notes = next(d.notes for d in caught.value.diagnostics if d.code == "E0501")
    assert "leap 1 is achieved by the ordering {x1} (adds 1) -> {x1,x2} (adds 1) -> {x1,x2,x3} (adds 1)" in leap_notes
