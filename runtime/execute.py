"""Train the runs of a plan that have no result yet, and store each run's result."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Callable

import numpy as np

from wall.compiler.plan import Plan, Program, group_programs

from .checkpoint import Checkpoints
from .devices import split_for_cpu
from .measures import all_learned, run_measurements
from .lazy_program import LazyProgram
from .program import CompiledProgram
from .progress import Progress
from .provenance import code_version, provenance
from .store import ExperimentStore

logger = logging.getLogger(__name__)


def prepare_store(plan: Plan, store: ExperimentStore, executor: str):
    """Write the spec, plan and provenance before anything trains.

    A report and summary of another plan are removed first: left in place, they would
    describe the old spec until the new report is written, or for good if that fails.
    """
    previous = store.read_previous_plan()
    if previous is not None and previous.get("spec_hash") != plan.spec_hash:
        store.discard_report()
        old_file, new_file = previous.get("spec_file"), plan.spec.file
        if old_file and Path(old_file).resolve() != Path(new_file).resolve():
            logger.warning("%s contained experiment %s from %s. It now contains the one from %s, and the "
                           "runs of both stay in %s", store.folder, plan.spec.name, old_file, new_file,
                           store.folder / "runs")
    store.write_text("spec.wall", plan.source)
    store.write_json("plan.json", plan.to_json())
    store.write_json("provenance.json", provenance(plan.spec_hash, executor))


def pending_programs(plan: Plan, store: ExperimentStore, cpu_devices: int | None = None) -> list[Program]:
    """Group the runs that have no stored result into programs, as the plan does.

    With `cpu_devices`, a program too large for those CPU devices' caches is split."""
    pending = [run for run in plan.runs if not store.is_done(run.id)]
    programs = group_programs(pending)
    if cpu_devices is None:
        return programs
    return [part for program in programs for part in split_for_cpu(program, cpu_devices)]


def train_program(program: Program, store: ExperimentStore, progress: Progress | None = None,
                  checkpoints: Checkpoints | None = None, on_chunk: Callable[[int, int], None] | None = None,
                  job: dict | None = None):
    """Train one program and store each run's result; with `checkpoints`, resume from a
    saved state and save one periodically (the job path); `on_chunk` is told of each chunk;
    `job` (executor, job id, code) is stored in each run's result."""
    compiled = LazyProgram(program) if program.config.parametrization_kind == "lazy" else CompiledProgram(program)
    if progress is not None:
        progress.start_program(program.describe(), compiled.chunks)

    def should_stop(losses: np.ndarray) -> bool:
        return all_learned(program.config, losses)

    def chunk_done(done: int, total: int):
        if progress is not None:
            progress.advance(done, total)
        if on_chunk is not None:
            on_chunk(done, total)

    result = compiled.run(on_chunk=chunk_done, should_stop=should_stop, checkpoints=checkpoints)
    # Run ids leave out the code version, so a folder can hold runs trained by different
    # versions of wall, whose random batches may differ. Each result records its commit.
    # A job's result names its code copy instead: git would find the checkout around it.
    code = code_version() if job is None else None
    for index, run in enumerate(program.runs):
        measurements = run_measurements(result, index, run.config)
        status = "diverged" if measurements["diverged"] else "done"
        if status == "diverged":
            logger.warning("run %s diverged (NaN or inf in its loss); its result is recorded as diverged", run.id)
        record = {"id": run.id, "status": status, "point": run.to_json()["point"],
                  "measurements": measurements, "stopped_early": result.stopped_early}
        if code is not None:
            record["code"] = code
        if job is not None:
            record["job"] = job
        curves = {"test_loss": result.test_loss[index]}
        curves.update({name: values[index] for name, values in getattr(result, "curves", {}).items()})
        store.write_run(run.id, record, result.steps, curves)
    if progress is not None:
        progress.finish_program(" (stopped early: every run learned)" if result.stopped_early else "")
