"""`wallc SPEC --submit` against a real SLURM cluster (tests/cluster/slurm.sh).

Skipped unless WALL_SLURM=1, which `bash tests/run` sets after starting the cluster.
Jobs are tiny; a few tests make them slow on purpose with WALL_CHUNK_PAUSE_S (a sleep
after each chunk) so that they can be seen pending and running, or hit a time limit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from wall.compiler.plan import build_plans
from wall.runtime.status import run_states
from wall.runtime.store import ExperimentStore

pytestmark = pytest.mark.skipif(os.environ.get("WALL_SLURM") != "1",
                                reason="needs the test SLURM cluster: run `bash tests/run` or set WALL_SLURM=1")

DEADLINE_S = 240


def spec_text(name: str, *, sweep: str = "d = [8, 16]  seed = 0..1", width: str = "32", steps: int = 60,
              every: int = 20, resources: str = "cpus = 1") -> str:
    # lr 3.2 / d: at 6.4 / d about one run in eight of this width-32 net diverged on d = 8,
    # and a test that expects every run done must not depend on which seeds it draws.
    return textwrap.dedent(f"""
        wall 0.1
        experiment {name} {{
          target {{ domain = hypercube(d)  f = x1 + x1*x2*x3 }}
          model mlp2 {{ width = {width} }}
          parametrization mean_field {{}}
          train {{ lr = 3.2 / d  batch = 8  steps = {steps} }}
          sweep {{ grid {{ {sweep} }} }}
          measure test_loss {{ every = {every}  samples = 256 }}
          measure samples_to_learn {{ of = test_loss  below = 0.5 }}
          resources {{ partition = "debug"  {resources} }}
        }}
        """)


@pytest.fixture(scope="module", autouse=True)
def accounting_ready():
    """Wait until accounting reports a finished job. On a cluster that has just started,
    sacct can lag behind the scheduler for tens of seconds, and wallc learns how a job
    ended from sacct, so without this the first test could see finished runs as unknown."""
    submitted = subprocess.run(["sbatch", "--parsable", "--partition=debug", "--output=/dev/null", "--wrap=true"],
                               capture_output=True, text=True, timeout=60)
    assert submitted.returncode == 0, submitted.stderr
    job_id = submitted.stdout.strip().split(";")[0]

    def finished() -> bool:
        states = subprocess.run(["sacct", "-n", "-X", "-j", job_id, "-o", "State"],
                                capture_output=True, text=True, timeout=60).stdout
        return "COMPLETED" in states

    wait_until(finished, f"accounting to report warm-up job {job_id}")


def wallc(*args, pause_s: float = 0.0):
    env = {**os.environ, "WALL_CHUNK_PAUSE_S": str(pause_s)}
    return subprocess.run([sys.executable, "-m", "wall.runtime.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300, env=env)


def wait_until(condition, what: str, deadline_s: float = DEADLINE_S):
    # Polls with a deadline; the deadline only bounds a broken cluster, it asserts no timing.
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        value = condition()
        if value:
            return value
        time.sleep(1.0)
    raise AssertionError(f"gave up after {deadline_s} s waiting for {what}")


def fresh_states(folder: Path) -> list[dict]:
    (folder / "jobs" / "scheduler.json").unlink(missing_ok=True)  # skip the rate-limit cache
    return run_states(folder)


def all_ended(folder: Path) -> bool:
    return all(r["state"] not in ("pending", "running", "unknown") for r in fresh_states(folder))


def test_submit_array_status_report_and_resubmit(tmp_path):
    spec = tmp_path / "small.wall"
    spec.write_text(spec_text("small", resources="cpus = 1  array_parallelism = 1"))
    out = tmp_path / "out"
    folder = out / "small"

    submitted = wallc(spec, "--submit", "--out", out, pause_s=4.0)
    assert submitted.returncode == 0, submitted.stderr
    assert "submitted 2 tasks" in submitted.stdout and str(folder) in submitted.stdout
    submission = json.loads(next((folder / "jobs").glob("*/submission.json")).read_text())
    job_ids = [task["job_id"] for task in submission["tasks"]]
    assert len(job_ids) == 2 and job_ids[0].endswith("_0") and job_ids[1].endswith("_1")  # one array

    # Parallelism 1: while one task runs, the other waits.
    seen = wait_until(lambda: {"pending", "running"} <= {r["state"] for r in fresh_states(folder)},
                      "one task running and one pending")
    assert seen
    status = wallc("status", folder)
    assert "running" in status.stdout and "pending" in status.stdout, status.stdout
    twice = wallc(spec, "--submit", "--out", out)  # the runs are queued already
    assert "runs are pending or running in earlier jobs" in twice.stderr
    assert "nothing to submit" in twice.stderr
    assert len(list((folder / "jobs").glob("*/submission.json"))) == 1

    wait_until(lambda: all_ended(folder), "both tasks to end")
    assert [r["state"] for r in fresh_states(folder)] == ["done"] * 4
    report = wallc("report", folder)
    assert report.returncode == 0, report.stderr
    assert "4 of 4 runs finished" in report.stdout
    result = json.loads(next((folder / "runs").glob("*/result.json")).read_text())
    assert result["job"]["executor"] == "slurm" and result["job"]["job_id"] in job_ids
    assert result["job"]["code"].startswith(str(folder / "jobs"))  # the copy, not the live tree
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["executor"] == "slurm"
    assert provenance["submissions"][0]["job_ids"] == job_ids

    # Submitting again skips every finished run; a new seed submits only its runs.
    again = wallc(spec, "--submit", "--out", out)
    assert again.returncode == 0 and "nothing to submit" in again.stderr
    spec.write_text(spec_text("small", sweep="d = [8, 16]  seed = 0..2", resources="cpus = 1"))
    more = wallc(spec, "--submit", "--out", out)
    assert "4 of 6 runs already have results" in more.stderr
    latest = sorted((folder / "jobs").glob("*/submission.json"))[-1]
    planned = [run for task in json.loads(latest.read_text())["tasks"] for p in task["programs"] for run in p]
    assert len(planned) == 2
    wait_until(lambda: all_ended(folder), "the new runs")
    assert [r["state"] for r in fresh_states(folder)] == ["done"] * 6


def test_failing_job_is_reported_with_log_tail(tmp_path):
    # A width of 4e12 neurons cannot be allocated: the job raises while the other program
    # of the array trains normally.
    spec = tmp_path / "fails.wall"
    spec.write_text(spec_text("fails", sweep="d = [8]  seed = 0..1  w = [32, 4000000000000]", width="w"))
    out = tmp_path / "out"
    folder = out / "fails"
    waited = wallc(spec, "--submit", "--wait", "--out", out)  # returns once both tasks ended
    assert waited.returncode == 0, waited.stderr
    assert "2 of 4 runs finished" in waited.stdout

    records = fresh_states(folder)
    done = [r for r in records if r["point"]["w"] == 32]
    failed = [r for r in records if r["point"]["w"] != 32]
    assert [r["state"] for r in done] == ["done", "done"]
    assert [r["state"] for r in failed] == ["failed", "failed"]
    failure = failed[0]
    assert failure["job_id"].endswith("_1") and failure["spec_location"].startswith(str(spec))
    assert Path(failure["log"]).exists() and failure["log"].endswith(".err")
    assert "Traceback" in failure["log_tail"] or "Error" in failure["log_tail"]

    status = wallc("status", folder)
    assert status.returncode == 1
    assert "failed" in status.stdout and "last lines of the log" in status.stdout and failure["log"] in status.stdout
    report = wallc("report", folder)
    assert "2 of 4 runs finished" in report.stdout


def test_time_limit_requeue_resumes_from_checkpoint(tmp_path):
    # 40 chunks with a 3 s pause each (120 s) outlast the 2-minute limit minus the 30 s warning;
    # the job is signalled, checkpoints, is requeued and finishes from the checkpoint.
    text = spec_text("long", sweep="d = [8]  seed = 0..1", steps=400, every=10, resources="cpus = 1  time = 2min")
    spec = tmp_path / "long.wall"
    spec.write_text(text)
    out = tmp_path / "out"
    folder = out / "long"
    assert wallc(spec, "--submit", "--out", out, pause_s=3.0).returncode == 0
    # The same runs without a pause, in a job on the same node, are never interrupted.
    reference = tmp_path / "reference"
    assert wallc(spec, "--submit", "--out", reference).returncode == 0
    wait_until(lambda: all_ended(reference / "long"), "the uninterrupted job")
    wait_until(lambda: all_ended(folder), "the requeued job to finish", deadline_s=420)
    assert [r["state"] for r in fresh_states(folder)] == ["done", "done"]

    submission = json.loads(next((folder / "jobs").glob("*/submission.json")).read_text())
    log = Path(submission["tasks"][0]["stderr"]).read_text()
    assert "checkpoint after" in log
    assert "resuming 2 runs from checkpoint" in log
    assert not list((folder / "checkpoints").glob("*.npz"))  # removed once results are stored

    for run in build_plans(spec)[0].runs:
        resumed = ExperimentStore.at(folder).read_metrics(run.id)
        uninterrupted = ExperimentStore.at(reference / "long").read_metrics(run.id)
        assert np.array_equal(resumed["step"], uninterrupted["step"])
        assert np.array_equal(resumed["test_loss"], uninterrupted["test_loss"])


def test_jobs_run_what_was_submitted(tmp_path):
    spec = tmp_path / "frozen.wall"
    spec.write_text(spec_text("frozen", sweep="d = [8]  seed = 0..1", resources='cpus = 1  extra = ["hold"]'))
    out = tmp_path / "out"
    folder = out / "frozen"
    assert wallc(spec, "--submit", "--out", out).returncode == 0
    submission = next((folder / "jobs").glob("*/submission.json"))
    planned = json.loads((folder / "plan.json").read_text())["runs"]

    # Edit the spec while the job is held: the job still trains the planned runs.
    spec.write_text(spec_text("frozen", sweep="d = [8]  seed = 5..6", resources="cpus = 1"))
    job_id = json.loads(submission.read_text())["tasks"][0]["job_id"]
    subprocess.run(["scontrol", "release", job_id], check=True, timeout=30)
    wait_until(lambda: all_ended(folder), "the released job")
    assert all(ExperimentStore.at(folder).is_done(run["id"]) for run in planned)

    # A job whose code copy was altered after submission refuses to run.
    spec.write_text(spec_text("frozen", sweep="d = [8]  seed = 2..3", resources='cpus = 1  extra = ["hold"]'))
    assert wallc(spec, "--submit", "--out", out).returncode == 0
    latest = sorted((folder / "jobs").glob("*/submission.json"))[-1]
    copied = latest.parent / "code" / "wall" / "runtime" / "execute.py"
    copied.write_text(copied.read_text() + "\n# edited after submission\n")
    job_id = json.loads(latest.read_text())["tasks"][0]["job_id"]
    subprocess.run(["scontrol", "release", job_id], check=True, timeout=30)
    wait_until(lambda: all_ended(folder), "the refusing job")
    failed = [r for r in fresh_states(folder) if r["state"] == "failed"]
    assert len(failed) == 2
    assert "changed after submission" in failed[0]["log_tail"]
