"""Files of the results store: written atomically, with the user's usual permissions."""

from __future__ import annotations

import stat

from wall.runtime import store


def test_written_files_follow_the_umask(tmp_path):
    path = tmp_path / "result.json"
    store.atomic_write_json(path, {"status": "done"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~store.UMASK
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_group_reads_results_under_umask_022(tmp_path, monkeypatch):
    monkeypatch.setattr(store, "UMASK", 0o022)
    path = tmp_path / "metrics.npz"
    store.atomic_write_bytes(path, b"data")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.read_bytes() == b"data"
