"""The job path without a cluster: the debug executor, failure records, job parameters,
the code copy, and the scheduler-state parsing of `wallc status`."""

from __future__ import annotations

import json

import pytest

from wall.compiler.plan import build_plans
from wall.lang.diagnostics import SpecError, WallError
from wall.runtime.executors.debug import run_debug
from wall.runtime.jobs import TrainTask
from wall.runtime.resources import load_profile, resolve_resources, sbatch_parameters
from wall.runtime import status
from wall.runtime.status import expand_job_ids, format_states, run_states
from wall.runtime.store import ExperimentStore
from wall.runtime.submission import new_submission, pack_tasks

SPEC = """
wall 0.1
experiment jobs {
  target { domain = hypercube(8)  f = x1 + x1*x2*x3 }
  model mlp2 { width = w }
  parametrization mean_field {}
  train { lr = LR  batch = 8  steps = 20 }
  sweep { grid { seed = 0..1  w = [16, WIDE] } }
  measure test_loss { every = 10  samples = 64 }
  resources { partition = "debug"  time = 90min  mem = 2GB  cpus = 1  programs_per_task = 2  extra = ["constraint=a100", "exclusive"] }
}
"""


def plan_of(write_spec, wide: str = "32", lr: str = "0.2"):
    return build_plans(write_spec(SPEC.replace("WIDE", wide).replace("LR", lr)))[0]


def test_debug_executor_trains_through_the_job_path(write_spec, tmp_path):
    plan = plan_of(write_spec)
    store = ExperimentStore(tmp_path / "out", "jobs")
    folder, failed = run_debug(plan, store, resolve_resources(plan, profile={}))
    assert failed == 0
    assert [r["state"] for r in run_states(store.folder)] == ["done"] * 4
    record = json.loads((folder / "submission.json").read_text())
    assert record["executor"] == "debug"
    assert len(record["tasks"]) == 1  # both programs packed into one task
    assert len(record["tasks"][0]["programs"]) == 2
    result = store.read_result(plan.runs[0].id)
    assert result["job"]["executor"] == "debug"
    assert result["job"]["task"] == 0

    # Nothing is left to do the second time.
    assert run_debug(plan, store, resolve_resources(plan, profile={})) == (None, 0)


def test_failing_program_recorded_others_kept(write_spec, tmp_path):
    # 4e12 neurons cannot be allocated, so that program raises; the other one trains.
    plan = plan_of(write_spec, wide="4000000000000")
    store = ExperimentStore(tmp_path / "out", "jobs")
    _, failed = run_debug(plan, store, resolve_resources(plan, profile={}))
    assert failed == 1
    records = run_states(store.folder)
    assert sorted(r["state"] for r in records) == ["done", "done", "failed", "failed"]
    failure = next(r for r in records if r["state"] == "failed")
    assert failure["spec_location"].endswith(":3:1")
    assert failure["reason"]
    assert "Traceback" in failure["log_tail"]
    text = format_states("jobs", records)
    assert "2 done, 2 failed" in text
    assert failure["reason"] in text


def test_diverging_runs_are_recorded_outcomes(write_spec, tmp_path):
    plan = plan_of(write_spec, lr="1e6")
    store = ExperimentStore(tmp_path / "out", "jobs")
    _, failed = run_debug(plan, store, resolve_resources(plan, profile={}))
    assert failed == 0
    assert [r["state"] for r in run_states(store.folder)] == ["diverged"] * 4


def test_resources_give_sbatch_parameters(write_spec):
    plan = plan_of(write_spec)
    parameters = sbatch_parameters(resolve_resources(plan, profile={}))
    assert parameters == {"cpus_per_task": 1, "partition": "debug", "time": 90, "mem": "2000M",
                          "additional_parameters": {"constraint": "a100", "exclusive": True}}


def test_profile_fills_what_the_spec_leaves_out(write_spec, tmp_path):
    profile_file = tmp_path / "profile.toml"
    profile_file.write_text('executor = "slurm"\n[resources]\naccount = "theory"\npartition = "gpu"\ntime = "2h"\n')
    profile = load_profile(profile_file)
    resources = resolve_resources(plan_of(write_spec), profile)
    assert resources.account == "theory"
    assert resources.partition == "debug"  # the spec wins
    assert resources.time.minutes() == 90
    assert profile["executor"] == "slurm"


def test_profile_unknown_setting_suggests_name(tmp_path):
    profile_file = tmp_path / "profile.toml"
    profile_file.write_text('[resources]\npartiton = "gpu"\n')
    with pytest.raises(WallError, match="unknown setting `resources.partiton`; did you mean `partition`"):
        load_profile(profile_file)
    profile_file.write_text('[resources]\ntime = "2 parsecs"\n')
    with pytest.raises(WallError, match="not a quantity"):
        load_profile(profile_file)


def test_resources_unknown_field_suggests_name(write_spec):
    with pytest.raises(SpecError) as caught:
        build_plans(write_spec(SPEC.replace("WIDE", "32").replace("LR", "0.2").replace("cpus = 1", "cpu = 1")))
    assert any("cpu" in d.message and d.hint and "cpus" in d.hint for d in caught.value.diagnostics)


def test_job_outside_code_copy_raises(write_spec, tmp_path):
    plan = plan_of(write_spec)
    store = ExperimentStore(tmp_path / "out", "jobs")
    folder = new_submission(plan, store, pack_tasks(plan.programs, 2), "slurm", snapshot=True)
    assert (folder / "code" / "wall" / "runtime" / "jobs.py").exists()
    with pytest.raises(WallError, match="refuses to run code other than what was submitted"):
        TrainTask(folder, 0)()  # this process imports wall from the live tree


def test_array_ids_from_sacct_are_expanded():
    assert expand_job_ids("12_[0-2,5%4]") == ["12_0", "12_1", "12_2", "12_5"]
    assert expand_job_ids("12_3") == ["12_3"]
    assert expand_job_ids("13") == ["13"]


def test_squeue_state_wins_over_sacct(monkeypatch):
    # Just after a task starts, sacct can still report PENDING (or miss the job) while
    # squeue, served by the controller, already reports RUNNING.
    outputs = {"sacct": "12_0|PENDING\n12_[1%1]|PENDING\n11|CANCELLED by 0\n",
               "squeue": "12_0|RUNNING\n12_1|PENDING\n13_0|RUNNING\n"}
    monkeypatch.setattr(status, "_scheduler_output", lambda command: outputs[command[0]])
    states = status.query_scheduler(["11", "12_0", "12_1", "13_0"])
    assert states == {"11": "CANCELLED", "12_0": "RUNNING", "12_1": "PENDING", "13_0": "RUNNING"}
