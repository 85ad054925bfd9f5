"""A submission: what a set of jobs will run, fixed before any job starts.

    EXPERIMENT/jobs/SUBMISSION/
      submission.json   executor, spec location, tasks (run ids, job id, log paths), code hash
      tasks.pkl         the programs of each task, as planned at submission
      code/wall/        a copy of the wall sources the jobs import (SLURM only)
      logs/             submitit's job scripts, pickles and logs
      failures/         one record per failed task: run ids, error, job id, log tail

Jobs import wall from `code/`, so editing the spec or the installed sources after
submitting changes nothing that a pending or requeued job runs; a job whose copy was
altered refuses to run.
"""

from __future__ import annotations

import datetime
import hashlib
import pickle
import shutil
import uuid
from pathlib import Path

from wall.compiler.plan import Plan, Program

from .store import ExperimentStore, atomic_write_bytes, atomic_write_json

PACKAGES = ("lang", "compiler", "runtime")


def pack_tasks(programs: list[Program], programs_per_task: int) -> list[list[Program]]:
    """Consecutive programs, `programs_per_task` to a task."""
    return [programs[i:i + programs_per_task] for i in range(0, len(programs), programs_per_task)]


def new_submission(plan: Plan, store: ExperimentStore, tasks: list[list[Program]], executor: str,
                   snapshot: bool) -> Path:
    """Write the tasks (and a copy of the code) of a new submission; return its folder."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d-%H%M%S")
    folder = store.folder / "jobs" / f"{stamp}-{uuid.uuid4().hex[:6]}"
    (folder / "logs").mkdir(parents=True)
    atomic_write_bytes(folder / "tasks.pkl", pickle.dumps(tasks))
    record = {
        "executor": executor,
        "spec_hash": plan.spec_hash,
        "spec_location": str(plan.spec.block.span),
        "created": stamp,
        "tasks": [{"index": i, "programs": [[r.id for r in p.runs] for p in task]} for i, task in enumerate(tasks)],
    }
    if snapshot:
        record["code_hash"] = copy_code(folder / "code")
    atomic_write_json(folder / "submission.json", record)
    return folder


def copy_code(destination: Path) -> str:
    """Copy the wall packages this process runs into destination/wall; return their hash."""
    package = destination / "wall"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text('"""A copy of the wall sources, made when the jobs were submitted."""\n')
    for name in PACKAGES:
        source = _package_dir(name)
        shutil.copytree(source, package / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return code_hash(destination)


def _package_dir(name: str) -> Path:
    import importlib

    return Path(importlib.import_module(f"wall.{name}").__file__).resolve().parent


def code_hash(root: Path) -> str:
    """SHA-256 over the relative paths and contents of the source files under root."""
    digest = hashlib.sha256()
    for path in sorted(p for p in Path(root).rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def read_submission(folder: Path) -> dict:
    import json

    return json.loads((Path(folder) / "submission.json").read_text())


def update_submission(folder: Path, **fields):
    record = read_submission(folder)
    record.update(fields)
    atomic_write_json(Path(folder) / "submission.json", record)


def submissions(store: ExperimentStore) -> list[Path]:
    """Submission folders of an experiment, oldest first."""
    root = store.folder / "jobs"
    if not root.exists():
        return []
    return sorted(p for p in root.iterdir() if (p / "submission.json").exists())
