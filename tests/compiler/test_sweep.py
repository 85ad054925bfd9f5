from __future__ import annotations

import pytest

from wall.compiler.plan import build_plans
from wall.lang.diagnostics import SpecError

BASE = """
experiment e {{
  target {{ domain = hypercube(d)  f = x1*x2 }}
  model mlp2 {{ width = w }}
  parametrization mean_field {{}}
  train {{ lr = 1.0 / d  batch = 4  steps = 10 * d }}
  measure test_loss {{ every = 5 }}
  let w = 16
  sweep {{ {sweep} }}
}}
"""


def plan_for(write_spec, sweep: str):
    return build_plans(write_spec(BASE.format(sweep=sweep)))[0]


def test_grid_is_product_first_axis_slowest(write_spec):
    plan = plan_for(write_spec, "grid { d = [4, 8]  seed = 0..2 }")
    assert [(r.point["d"], r.point["seed"]) for r in plan.runs] == [
        (4, 0), (4, 1), (4, 2), (8, 0), (8, 1), (8, 2)]


def test_zip_pairs_values(write_spec):
    plan = plan_for(write_spec, "zip { d = [4, 8]  seed = [3, 5] }")
    assert [(r.point["d"], r.point["seed"]) for r in plan.runs] == [(4, 3), (8, 5)]


def test_zip_lengths_must_match(write_spec):
    with pytest.raises(SpecError) as caught:
        plan_for(write_spec, "zip { d = [4, 8]  seed = [1, 2, 3] }")
    assert caught.value.diagnostics[0].code == "E0402"


def test_union_of_sub_sweeps_and_where(write_spec):
    plan = plan_for(write_spec, "grid { d = [4, 8] seed = 0..1 where d * seed < 8 } grid { d = [16] }")
    assert [(r.point["d"], r.point["seed"]) for r in plan.runs] == [(4, 0), (4, 1), (8, 0), (16, 0)]


def test_duplicate_points_warn_and_run_once(write_spec):
    plan = plan_for(write_spec, "grid { d = [4, 4, 8] }")
    assert len(plan.runs) == 2
    assert plan.warnings[0].code == "W0405"


def test_empty_sweep_is_an_error(write_spec):
    with pytest.raises(SpecError) as caught:
        plan_for(write_spec, "grid { d = [4]  where d > 100 }")
    assert caught.value.diagnostics[0].code == "E0401"


def test_fields_follow_axes(write_spec):
    plan = plan_for(write_spec, "grid { d = [4, 8] }")
    assert [r.config.train.steps for r in plan.runs] == [40, 80]
    assert [r.config.train.lr for r in plan.runs] == [0.25, 0.125]


def test_run_ids_are_stable_and_local(write_spec):
    first = plan_for(write_spec, "grid { d = [4, 8]  seed = 0..1 }")
    again = plan_for(write_spec, "grid { d = [4, 8]  seed = 0..1 }")
    assert [r.id for r in first.runs] == [r.id for r in again.runs]
    assert len({r.id for r in first.runs}) == 4

    # Adding a value to one axis leaves the ids of the old runs unchanged.
    wider = plan_for(write_spec, "grid { d = [4, 8, 16]  seed = 0..1 }")
    assert {r.id for r in first.runs} <= {r.id for r in wider.runs}


def test_programs_group_seeds_of_one_d(write_spec):
    plan = plan_for(write_spec, "grid { d = [4, 8]  seed = 0..2 }")
    assert len(plan.programs) == 2
    assert [len(p.runs) for p in plan.programs] == [3, 3]
    assert {r.point["d"] for r in plan.programs[0].runs} == {4}


def test_where_sees_lets_of_axes(write_spec):
    spec = BASE.replace("let w = 16", "let w = 16  let budget = d * seed")
    plan = build_plans(write_spec(spec.format(sweep="grid { d = [4, 8]  seed = 0..2  where budget < 9 }")))[0]
    assert [(r.point["d"], r.point["seed"]) for r in plan.runs] == [(4, 0), (4, 1), (4, 2), (8, 0), (8, 1)]


def test_broken_sub_sweep_does_not_hide_others(write_spec):
    with pytest.raises(SpecError) as caught:
        plan_for(write_spec, "zip { d = [4, 8]  seed = [1] }  grid { d = [4]  seed = [wrong] }")
    assert sorted(d.code for d in caught.value.diagnostics) == ["E0302", "E0402"]


def test_field_may_read_axis_of_same_name(write_spec):
    text = BASE.format(sweep="grid { d = [4]  width = [8, 16] }").replace("width = w", "width = width")
    plan = build_plans(write_spec(text))[0]
    assert [r.config.model.width for r in plan.runs] == [8, 16]


def test_mutual_definitions_are_a_cycle(write_spec):
    text = BASE.format(sweep="grid { d = [4] }").replace("let w = 16", "let w = v\n  let v = w")
    with pytest.raises(SpecError) as caught:
        build_plans(write_spec(text))
    assert caught.value.diagnostics[0].code == "E0301"
