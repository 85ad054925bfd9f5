"""What one submitted task runs: train its programs from the submission, store results.

`TrainTask` is the callable handed to submitit. Its `checkpoint` method follows
submitit's checkpoint protocol. When SLURM signals a time limit or preemption, it saves
the training state of the program in progress and returns the same task for submitit to
requeue, and the requeued job resumes from that state.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import sys
import time
import traceback
from pathlib import Path

from wall.compiler.plan import Program
from wall.lang.diagnostics import WallError

from .checkpoint import Checkpoints
from .execute import train_program
from .progress import Progress
from .store import ExperimentStore, atomic_write_json
from .submission import code_hash, read_submission

logger = logging.getLogger(__name__)

CHECKPOINT_EVERY_CHUNKS = 5
LOG_TAIL_LINES = 30
# Seconds to sleep after each chunk. Only for tests, which need jobs that stay running
# long enough to be seen pending, running or hit by a time limit without burning CPU.
PAUSE_VARIABLE = "WALL_CHUNK_PAUSE_S"


class TrainTask:
    def __init__(self, submission: Path, index: int, check_code: bool = True):
        self.submission = Path(submission)
        self.index = index
        self.check_code = check_code
        self._checkpoints: Checkpoints | None = None

    def __getstate__(self):
        # The in-memory training state never travels with the pickled task.
        return {**self.__dict__, "_checkpoints": None}

    def __call__(self) -> dict:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr)
        record = read_submission(self.submission)
        if self.check_code:
            self._verify_code(record)
        store = ExperimentStore.at(self.submission.parent.parent)
        with open(self.submission / "tasks.pkl", "rb") as file:
            programs: list[Program] = pickle.load(file)[self.index]

        trained, failures = 0, []
        for program in programs:
            try:
                trained += self._train(program, store, record)
            except Exception as exc:  # noqa: BLE001 - recorded, and the task still fails below
                failures.append(self._record_failure(program, record, exc))
        if failures:
            raise RuntimeError(f"{len(failures)} of {len(programs)} programs of task {self.index} failed; "
                               f"see {failures[0]}")
        return {"task": self.index, "runs_trained": trained}

    def _train(self, program: Program, store: ExperimentStore, record: dict) -> int:
        pending = [run for run in program.runs if not store.is_done(run.id)]
        if not pending:
            return 0
        program = Program(program.id, pending)
        run_ids = [run.id for run in pending]
        key = hashlib.sha256(",".join(run_ids).encode()).hexdigest()[:12]
        self._checkpoints = Checkpoints(store.folder / "checkpoints" / f"{key}.npz", run_ids,
                                        CHECKPOINT_EVERY_CHUNKS)
        pause_s = float(os.environ.get(PAUSE_VARIABLE, "0") or 0)
        job = {"executor": record["executor"], "job_id": job_id(), "submission": self.submission.name,
               "task": self.index, "code": str(Path(__file__).resolve().parent.parent)}
        train_program(program, store, Progress(interactive=False), self._checkpoints,
                      on_chunk=(lambda done, total: time.sleep(pause_s)) if pause_s > 0 else None, job=job)
        self._checkpoints.remove()
        self._checkpoints = None
        return len(pending)

    def checkpoint(self, *args, **kwargs):
        """Save the state of the program in progress and hand submitit the task to requeue."""
        import submitit

        if self._checkpoints is not None:
            self._checkpoints.save_latest()
        return submitit.helpers.DelayedSubmission(TrainTask(self.submission, self.index, self.check_code))

    def _verify_code(self, record: dict):
        # The job must run the copy made at submission, unchanged.
        code = self.submission / "code"
        running = Path(__file__).resolve()
        if code.resolve() not in running.parents:
            raise WallError(f"this job imported wall from {running.parent.parent}, not from the copy made at "
                            f"submission ({code}); it refuses to run code other than what was submitted")
        if code_hash(code) != record.get("code_hash"):
            raise WallError(f"the code copy in {code} changed after submission (hash {code_hash(code)}, "
                            f"submitted {record.get('code_hash')}); this job refuses to run it. "
                            "Submit the spec again to run the current code.")

    def _record_failure(self, program: Program, record: dict, exc: Exception) -> Path:
        logger.error("program %s failed: %s", program.id, exc)
        stdout, stderr = log_paths()
        failure = {
            "task": self.index,
            "run_ids": [run.id for run in program.runs],
            "spec_location": record.get("spec_location"),
            "job_id": job_id(),
            "error": f"{type(exc).__name__}: {exc}",
            "traceback": traceback.format_exc(),
            "log": {"stdout": stdout, "stderr": stderr},
            "log_tail": read_tail(stderr) if stderr else None,
        }
        path = self.submission / "failures" / f"task-{self.index}-{program.id}.json"
        atomic_write_json(path, failure)
        return path


def job_id() -> str | None:
    """Return the SLURM job id of this process (ARRAY_TASK for array tasks), or None."""
    if "SLURM_ARRAY_JOB_ID" in os.environ:
        return f"{os.environ['SLURM_ARRAY_JOB_ID']}_{os.environ.get('SLURM_ARRAY_TASK_ID', '')}"
    return os.environ.get("SLURM_JOB_ID")


def log_paths() -> tuple[str | None, str | None]:
    try:
        import submitit

        paths = submitit.JobEnvironment().paths
        return str(paths.stdout), str(paths.stderr)
    except Exception:  # noqa: BLE001 - not inside a submitit job
        return None, None


def read_tail(path: str | Path, lines: int = LOG_TAIL_LINES) -> str | None:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return None
    return "\n".join(text.splitlines()[-lines:])
