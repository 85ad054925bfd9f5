"""The debug executor: the job path of the SLURM executor, run in this process.

It packs tasks, writes a submission and runs each task's `TrainTask` one after another,
so the job code (results, failure records, checkpoints) can be tried without a cluster.
A failing task is recorded and logged, and the next one still runs.
"""

from __future__ import annotations

import logging
from pathlib import Path

from wall.compiler.plan import Plan
from wall.lang.schema import ResourcesConfig

from ..execute import pending_programs, prepare_store
from ..jobs import TrainTask
from ..store import ExperimentStore
from ..submission import new_submission, pack_tasks

logger = logging.getLogger(__name__)


def run_debug(plan: Plan, store: ExperimentStore, resources: ResourcesConfig) -> tuple[Path | None, int]:
    """Run every pending task in process; return the submission folder and failed task count."""
    prepare_store(plan, store, "debug")
    programs = pending_programs(plan, store)
    if not programs:
        logger.info("every run of %s already has a result; nothing to run", plan.spec.name)
        return None, 0
    tasks = pack_tasks(programs, resources.programs_per_task)
    folder = new_submission(plan, store, tasks, "debug", snapshot=False)
    failed = 0
    for index in range(len(tasks)):
        try:
            TrainTask(folder, index, check_code=False)()
        except Exception as exc:  # noqa: BLE001 - recorded by the task; report and go on
            failed += 1
            logger.error("task %d failed: %s", index, exc)
    return folder, failed
