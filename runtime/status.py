"""Per-run states of an experiment, from its results folder and the scheduler.

The results store decides first: a run with a result is done (or diverged). Otherwise the
job of the latest submission that contains the run tells whether it is pending, running or
failed. Each call queries the scheduler once, through one `squeue` and one `sacct`
command, and reuses the result for `MIN_QUERY_INTERVAL_S`, so that many `wallc status`
calls in a loop do not load the controller.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections import Counter
from pathlib import Path

from wall.lang.diagnostics import WallError

from .jobs import read_tail
from .store import ExperimentStore, atomic_write_json
from .submission import read_submission, submissions

MIN_QUERY_INTERVAL_S = 10.0
PENDING = {"PENDING", "REQUEUE_HOLD", "REQUEUE_FED", "RESV_DEL_HOLD"}
RUNNING = {"RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "SUSPENDED", "RESIZING", "SIGNALING",
           "STAGE_OUT"}


def run_states(folder: Path, query=None, max_age_s: float = MIN_QUERY_INTERVAL_S) -> list[dict]:
    """Collect one record per planned run: id, point, state, and for failures reason and log."""
    store = ExperimentStore.at(folder)
    plan = store.read_json("plan.json")
    if not isinstance(plan, dict) or not isinstance(plan.get("runs"), list):
        raise WallError(f"{store.folder / 'plan.json'} is damaged: it contains no list of runs; `wallc report "
                        f"{store.folder}` plans again from its spec.wall")
    tasks = _latest_tasks(store)
    job_ids = sorted({task["job_id"] for task, _ in tasks.values() if task.get("job_id")})
    scheduler = scheduler_states(store, job_ids, query, max_age_s)

    states = []
    for run in plan["runs"]:
        record = {"id": run["id"], "point": run["point"]}
        result = store.read_result(run["id"])
        if store.is_done(run["id"]):
            record["state"] = result["status"]
        elif (store.run_folder(run["id"]) / "result.json").exists() and result is None:
            record["state"] = "damaged result (trains again)"
        elif run["id"] not in tasks:
            # Without any submission the runs were meant to train here, so "submitted" would mislead.
            record["state"] = "not submitted" if tasks else "not trained"
        else:
            task, submission = tasks[run["id"]]
            record.update(_job_state(run["id"], task, submission, scheduler))
        states.append(record)
    return states


def _latest_tasks(store: ExperimentStore) -> dict[str, tuple[dict, Path]]:
    tasks = {}
    for folder in submissions(store):  # oldest first, so later submissions win
        for task in read_submission(folder)["tasks"]:
            for program in task["programs"]:
                for run_id in program:
                    tasks[run_id] = (task, folder)
    return tasks


def _job_state(run_id: str, task: dict, submission: Path, scheduler: dict[str, str]) -> dict:
    failure = _failure_of(run_id, task, submission)
    job_id = task.get("job_id")
    if failure is not None:
        return {"state": "failed", "reason": failure["error"], "job_id": failure.get("job_id") or job_id,
                "log": (failure.get("log") or {}).get("stderr"), "log_tail": _tail(failure),
                "spec_location": failure.get("spec_location")}
    state = scheduler.get(job_id) if job_id else None
    if state is None:
        return {"state": "unknown", "job_id": job_id,
                "reason": "no result, and the scheduler does not know the job" if job_id else "no result yet"}
    if state in PENDING:
        return {"state": "pending", "job_id": job_id}
    if state in RUNNING:
        return {"state": "running", "job_id": job_id}
    reason = ("the job completed without writing this run's result" if state == "COMPLETED"
              else f"job {job_id} ended {state}")
    return {"state": "failed", "reason": reason, "job_id": job_id, "log": task.get("stderr"),
            "log_tail": read_tail(task["stderr"]) if task.get("stderr") else None}


def _failure_of(run_id: str, task: dict, submission: Path) -> dict | None:
    for path in sorted((submission / "failures").glob(f"task-{task['index']}-*.json")):
        failure = json.loads(path.read_text())
        if run_id in failure["run_ids"]:
            return failure
    return None


def _tail(failure: dict) -> str | None:
    # The log as it is now contains the traceback, which was printed after the record.
    stderr = (failure.get("log") or {}).get("stderr")
    return (read_tail(stderr) if stderr else None) or failure.get("log_tail") or failure.get("traceback")


# The scheduler.


def scheduler_states(store: ExperimentStore, job_ids: list[str], query=None,
                     max_age_s: float = MIN_QUERY_INTERVAL_S) -> dict[str, str]:
    """Return the SLURM state of each job id, from cached states younger than
    MIN_QUERY_INTERVAL_S or from one new query."""
    if not job_ids:
        return {}
    cache_path = store.folder / "jobs" / "scheduler.json"
    try:
        cache = json.loads(cache_path.read_text())
        if time.time() - cache["queried_at"] < max_age_s and set(job_ids) <= set(cache["states"]):
            return cache["states"]
    except (OSError, ValueError, KeyError):
        pass
    states = (query or query_scheduler)(job_ids)
    try:
        atomic_write_json(cache_path, {"queried_at": time.time(), "states": states})
    except WallError:
        pass  # the cache only spares the scheduler, so a read-only results folder still gets a status
    return states


def query_scheduler(job_ids: list[str]) -> dict[str, str]:
    """Query sacct for ended jobs and squeue for live ones; for a job in both, squeue wins.

    The controller itself serves squeue, while sacct reads the accounting database, which
    slurmdbd fills with a lag of seconds, more on a busy cluster. There a job that has just
    started can still be pending, or missing."""
    arrays = ",".join(sorted({job_id.split("_")[0] for job_id in job_ids}))
    states = _parse_states(_scheduler_output(["sacct", "-X", "-n", "-P", "-o", "JobID,State", "-j", arrays]))
    states.update(_parse_states(_scheduler_output(["squeue", "-h", "--array", "-o", "%i|%T", "-j", arrays])))
    return states


def _scheduler_output(command: list[str]) -> str:
    # squeue may exit non-zero when a listed job has left the queue while still printing
    # the others, so the output is parsed whatever the exit status.
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return ""


def _parse_states(output: str) -> dict[str, str]:
    states = {}
    for line in output.splitlines():
        if "|" not in line:
            continue
        job, state = line.split("|", 1)
        for single in expand_job_ids(job.strip()):
            states[single] = state.split()[0] if state.strip() else "UNKNOWN"
    return states


def expand_job_ids(job: str) -> list[str]:
    """`12_[0-2,5%4]` -> 12_0, 12_1, 12_2, 12_5; other ids unchanged."""
    match = re.fullmatch(r"(\d+)_\[([^\]]+)\]", job)
    if match is None:
        return [job]
    base, spec = match.group(1), match.group(2).split("%")[0]
    ids = []
    for part in spec.split(","):
        low, _, high = part.partition("-")
        ids.extend(f"{base}_{i}" for i in range(int(low), int(high or low) + 1))
    return ids


def format_states(name: str, states: list[dict]) -> str:
    counts = Counter(record["state"] for record in states)
    lines = [f"experiment {name}: {len(states)} runs: "
             + ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))]
    for record in states:
        point = ", ".join(f"{k}={v}" for k, v in record["point"].items())
        job = f"  job {record['job_id']}" if record.get("job_id") else ""
        lines.append(f"  run {record['id']}  {point:<24} {record['state']}{job}")
    # One block per failure, however many runs it took down.
    failures: dict[tuple, list[dict]] = {}
    for record in states:
        if record["state"] in ("failed", "unknown"):
            failures.setdefault((record.get("reason"), record.get("job_id")), []).append(record)
    for (reason, _), records in failures.items():
        record = records[0]
        lines.append(f"\n{record['state']}: {', '.join(r['id'] for r in records)}: {reason}")
        if record.get("job_id"):
            lines.append(f"  job: {record['job_id']}")
        if record.get("spec_location"):
            lines.append(f"  spec: {record['spec_location']}")
        if record.get("log"):
            lines.append(f"  log: {record['log']}")
        if record.get("log_tail"):
            lines.append("  last lines of the log:")
            lines.extend(f"    {line}" for line in record["log_tail"].splitlines()[-15:])
    return "\n".join(lines)
