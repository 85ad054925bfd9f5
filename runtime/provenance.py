"""Provenance of a result: spec hash, code version, library versions, executor."""

from __future__ import annotations

import datetime
import functools
import importlib.metadata
import platform
import subprocess
from pathlib import Path

LIBRARIES = ("jax", "jaxlib", "equinox", "optax", "numpy", "lark", "pydantic", "submitit")


@functools.lru_cache(maxsize=1)
def code_version() -> dict:
    """Read the git commit of the installed wall sources and whether the tree was dirty.

    Read once per process: every program a command trains records it."""
    source = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=source, capture_output=True,
                                text=True, timeout=10, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=source,
                                capture_output=True, text=True, timeout=10, check=True).stdout
        return {"commit": commit, "dirty": bool(status.strip())}
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None, "note": "not a git checkout"}


def library_versions() -> dict:
    versions = {}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def provenance(spec_hash: str, executor: str, extra: dict | None = None) -> dict:
    return {
        "spec_hash": spec_hash,
        "code": code_version(),
        "wall_version": importlib.metadata.version("wall"),
        "libraries": library_versions(),
        "python": platform.python_version(),
        "host": platform.node(),
        "executor": executor,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        **(extra or {}),
    }
