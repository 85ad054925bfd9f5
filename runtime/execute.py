"""Train the runs of a plan that have no result yet, and store each run's result."""

from __future__ import annotations

import logging

import numpy as np

from wall.compiler.plan import Plan, Program, group_programs

from .measures import all_learned, run_measurements
from .program import CompiledProgram
from .progress import Progress
from .provenance import provenance
from .store import ExperimentStore

logger = logging.getLogger(__name__)


def prepare_store(plan: Plan, store: ExperimentStore, executor: str):
    """Write the spec, plan and provenance before anything trains."""
    store.write_text("spec.wall", plan.source)
    store.write_json("plan.json", plan.to_json())
    store.write_json("provenance.json", provenance(plan.spec_hash, executor))


def pending_programs(plan: Plan, store: ExperimentStore) -> list[Program]:
    """Programs over the runs that have no stored result, grouped as in the plan."""
    pending = [run for run in plan.runs if not store.is_done(run.id)]
    return group_programs(pending)


def train_program(program: Program, store: ExperimentStore, progress: Progress | None = None):
    compiled = CompiledProgram(program)
    if progress is not None:
        progress.start_program(program.describe(), compiled.chunks)

    def should_stop(losses: np.ndarray) -> bool:
        return all_learned(program.config, losses)

    result = compiled.run(on_chunk=progress.advance if progress else None, should_stop=should_stop)
    for index, run in enumerate(program.runs):
        measurements = run_measurements(result, index, run.config)
        status = "diverged" if measurements["diverged"] else "done"
        if status == "diverged":
            logger.warning("run %s diverged (NaN or inf in its loss); its result is recorded as diverged", run.id)
        record = {"id": run.id, "status": status, "point": run.to_json()["point"],
                  "measurements": measurements, "stopped_early": result.stopped_early}
        store.write_run(run.id, record, result.steps, {"test_loss": result.test_loss[index]})
    if progress is not None:
        progress.finish_program(" (stopped early: every run learned)" if result.stopped_early else "")
