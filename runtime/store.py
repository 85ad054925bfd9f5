"""The results store: one folder per experiment, one folder per run, atomic writes.

Layout (documented in docs/results.md):
    ROOT/EXPERIMENT/spec.wall, plan.json, provenance.json, summary.json, report.html
    ROOT/EXPERIMENT/runs/RUN_ID/metrics.npz, result.json

A run is done exactly when its result.json exists and names its own id. result.json is
written after metrics.npz, and every file is written to a temporary name and renamed, so
a killed process never leaves a half-written file that a later step trusts.
"""

from __future__ import annotations

import io
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as np

from wall.lang.diagnostics import WallError


def _read_umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it, so put it back at once
    os.umask(mask)
    return mask


# Read once at import, before any thread could create a file while the umask is 0.
UMASK = _read_umask()


def atomic_write_bytes(path: Path, data: bytes):
    try:
        _write_then_rename(path, data)
    except OSError as exc:
        # A folder where a file belongs, a full disk or a read-only --out: the files
        # written before stay as they are, so a rerun resumes once the cause is fixed.
        raise WallError(f"cannot write `{path}`: {exc.strerror or exc}") from None


def _write_then_rename(path: Path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file readable by its owner only. Give it the permissions any
        # new file of the user gets (0666 less the umask), so collaborators can read results.
        os.fchmod(handle, 0o666 & ~UMASK)
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def atomic_write_text(path: Path, text: str):
    atomic_write_bytes(path, text.encode())


def atomic_write_json(path: Path, record):
    atomic_write_text(path, json.dumps(_json_ready(record), indent=2, sort_keys=True) + "\n")


def _json_ready(value):
    # JSON has no infinity or NaN; store them as strings a reader can map back.
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        return _json_ready(value.item())
    return value


def read_number(value) -> float:
    """Inverse of the JSON encoding of non-finite floats."""
    if isinstance(value, str):
        return float(value)
    return value


class ExperimentStore:
    def __init__(self, root: Path, experiment: str):
        self.folder = Path(root) / experiment

    @classmethod
    def at(cls, folder: Path) -> "ExperimentStore":
        store = cls.__new__(cls)
        store.folder = Path(folder)
        return store

    def run_folder(self, run_id: str) -> Path:
        return self.folder / "runs" / run_id

    def is_done(self, run_id: str) -> bool:
        result = self.read_result(run_id)
        return result is not None and result.get("id") == run_id and result.get("status") in ("done", "diverged")

    def read_result(self, run_id: str) -> dict | None:
        """Return a run's result record, or None when it is missing or damaged, so that the
        run counts as not trained and the next `wallc SPEC` trains it again."""
        path = self.run_folder(run_id) / "result.json"
        try:
            record = json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        if not isinstance(record, dict) or not isinstance(record.get("measurements"), dict):
            return None
        return record

    def write_run(self, run_id: str, record: dict, steps: np.ndarray, curves: dict[str, np.ndarray]):
        folder = self.run_folder(run_id)
        buffer = io.BytesIO()
        np.savez(buffer, step=steps, **curves)
        atomic_write_bytes(folder / "metrics.npz", buffer.getvalue())
        atomic_write_json(folder / "result.json", record)

    def read_metrics(self, run_id: str) -> dict[str, np.ndarray]:
        # np.load leaves a path it opened unclosed when the archive is damaged, so the file
        # is opened here.
        with open(self.run_folder(run_id) / "metrics.npz", "rb") as handle, np.load(handle) as data:
            return {key: data[key] for key in data.files}

    def read_previous_plan(self) -> dict | None:
        """Return the stored plan.json as a record, or None when it is missing or unreadable."""
        try:
            record = json.loads((self.folder / "plan.json").read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return record if isinstance(record, dict) else None

    def discard_report(self):
        """Remove summary.json and report.html, which describe a plan no longer stored here."""
        for name in ("summary.json", "report.html"):
            try:
                (self.folder / name).unlink(missing_ok=True)
            except OSError:
                pass  # e.g. a folder in its place; writing the new report names the problem

    def write_json(self, name: str, record):
        atomic_write_json(self.folder / name, record)

    def read_json(self, name: str):
        path = self.folder / name
        try:
            return json.loads(path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise WallError(f"cannot read {path}: {exc}; `wallc report {self.folder}` plans again from its "
                            "spec.wall, and running the spec again with the same --out rewrites the file") from None

    def write_text(self, name: str, text: str):
        atomic_write_text(self.folder / name, text)
