"""The SLURM executor: submit the pending programs as a job array through submitit."""

from __future__ import annotations

import logging
import re
import subprocess
import time
from pathlib import Path

from wall.compiler.plan import Plan, Program
from wall.lang.diagnostics import WallError
from wall.lang.schema import ResourcesConfig

from ..devices import HOST_DEVICE_FLAG
from ..execute import pending_programs, prepare_store
from ..jobs import TrainTask
from ..provenance import provenance
from ..resources import sbatch_parameters
from ..status import run_states
from ..store import ExperimentStore
from ..submission import new_submission, pack_tasks, update_submission

logger = logging.getLogger(__name__)

DEFAULT_MAX_ARRAY_SIZE = 1001
# submitit requests the warning signal this long before the time limit. slurmctld checks
# limits about every 30 s and was seen to signal up to one check early, so a delay of a
# quarter of a short limit (at least 30 s) leaves the job most of its time.
SIGNAL_DELAY_S = 90
MIN_SIGNAL_DELAY_S = 30
# Each time-limit requeue uses one; preemptions do not count. A job that gains less than
# a chunk per requeue ends failed after this many.
MAX_TIMEOUT_REQUEUES = 10
POLL_S = 3.0


def submit(plan: Plan, store: ExperimentStore, resources: ResourcesConfig) -> tuple[Path | None, list]:
    """Submit the runs without results; return the submission folder and submitit jobs."""
    import submitit

    prepare_store(plan, store, "slurm")
    # A job's CPU devices are its cores (runtime/devices.py); a GPU job's programs stay whole.
    cpu_devices = None if resources.gpus else resources.cpus
    programs = _without_active_runs(pending_programs(plan, store, cpu_devices), store)
    if not programs:
        logger.info("every run of %s has a result or a queued job; nothing to submit", plan.spec.name)
        write_provenance(plan, store)
        return None, []
    skipped = len(plan.runs) - sum(len(p.runs) for p in programs)
    if skipped:
        logger.info("%d of %d runs already have results; submitting the other %d",
                    skipped, len(plan.runs), len(plan.runs) - skipped)

    tasks = pack_tasks(programs, resources.programs_per_task)
    # Absolute paths, so that jobs and `wallc status` find the files from any folder.
    folder = new_submission(plan, store, tasks, "slurm", snapshot=True).resolve()
    executor = submitit.SlurmExecutor(folder=folder / "logs", max_num_timeout=MAX_TIMEOUT_REQUEUES)
    executor.update_parameters(**_executor_parameters(plan, resources, folder))

    jobs = []
    limit = max(1, max_array_size() - 1)
    for first in range(0, len(tasks), limit):
        with executor.batch():
            for index in range(first, min(first + limit, len(tasks))):
                jobs.append(executor.submit(TrainTask(folder, index)))
    _record_jobs(folder, store, plan, jobs)
    return folder, jobs


def _without_active_runs(programs: list[Program], store: ExperimentStore) -> list[Program]:
    # Runs that an earlier submission's jobs will still train are not submitted twice.
    active = {record["id"] for record in run_states(store.folder, max_age_s=0)
              if record["state"] in ("pending", "running")}
    if active:
        logger.info("%d runs are pending or running in earlier jobs; not submitting them again", len(active))
    kept = [Program(p.id, [run for run in p.runs if run.id not in active]) for p in programs]
    return [program for program in kept if program.runs]


def _executor_parameters(plan: Plan, resources: ResourcesConfig, folder: Path) -> dict:
    parameters = sbatch_parameters(resources)
    limit_s = parameters.get("time", 60 * 24 * 365) * 60
    parameters.update(
        job_name=f"wall-{plan.spec.name}",
        array_parallelism=resources.array_parallelism,
        signal_delay_s=int(min(SIGNAL_DELAY_S, max(MIN_SIGNAL_DELAY_S, limit_s // 4))),
        # Jobs import wall from the copy made at submission, never from the live tree.
        setup=[f"export PYTHONPATH={folder / 'code'}${{PYTHONPATH:+:$PYTHONPATH}}",
               # sbatch passes on this process's environment, whose XLA host device count
               # was set for this machine; a job gets one device per CPU it was given.
               f"export XLA_FLAGS=\"$(echo \"${{XLA_FLAGS:-}}\" | sed 's/{HOST_DEVICE_FLAG}=[0-9]*//') "
               f"{HOST_DEVICE_FLAG}=${{SLURM_CPUS_PER_TASK:-1}}\""],
    )
    return parameters


def _record_jobs(folder: Path, store: ExperimentStore, plan: Plan, jobs: list):
    from ..submission import read_submission

    tasks = read_submission(folder)["tasks"]
    for task, job in zip(tasks, jobs):
        task.update(job_id=job.job_id, stdout=str(job.paths.stdout), stderr=str(job.paths.stderr))
    update_submission(folder, tasks=tasks)
    write_provenance(plan, store)


def write_provenance(plan: Plan, store: ExperimentStore):
    """Write provenance.json with every submission of the experiment and its job ids."""
    from ..submission import read_submission, submissions

    records = []
    for folder in submissions(store):
        tasks = read_submission(folder)["tasks"]
        records.append({"id": folder.name, "job_ids": [task.get("job_id") for task in tasks]})
    store.write_json("provenance.json", provenance(plan.spec_hash, "slurm", {"submissions": records}))


def max_array_size() -> int:
    """Return the cluster's MaxArraySize, from `scontrol show config`."""
    try:
        output = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True,
                                timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise WallError(f"cannot reach SLURM (`scontrol show config` failed: {exc}); is this a SLURM "
                        "login node? See the README for a local test cluster.") from None
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", output, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY_SIZE


def wait(jobs: list):
    """Block until every job has ended (requeued jobs count as not ended)."""
    while not all(job.done() for job in jobs):
        time.sleep(POLL_S)
