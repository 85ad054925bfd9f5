"""The local executor: trains every pending program in this process, one after another."""

from __future__ import annotations

import logging

from wall.compiler.plan import Plan

from ..devices import host_cpu_devices
from ..execute import pending_programs, prepare_store, train_program
from ..progress import Progress
from ..store import ExperimentStore

logger = logging.getLogger(__name__)


def run_locally(plan: Plan, store: ExperimentStore, progress: Progress) -> int:
    """Train what is missing; return the number of programs trained."""
    prepare_store(plan, store, "local")
    programs = pending_programs(plan, store, host_cpu_devices())
    skipped = len(plan.runs) - sum(len(p.runs) for p in programs)
    if skipped:
        logger.info("%d of %d runs already have results in %s; skipping them", skipped, len(plan.runs), store.folder)
    for program in programs:
        train_program(program, store, progress)
    return len(programs)
