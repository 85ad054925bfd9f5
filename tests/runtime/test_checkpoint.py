"""Checkpoints of the host loop: an interrupted program resumes to the same numbers."""

from __future__ import annotations

import numpy as np
import pytest

from wall.compiler.plan import build_plans
from wall.runtime.checkpoint import Checkpoints
from wall.runtime.program import CompiledProgram

SPEC = """
wall 0.1
experiment resumable {
  target { domain = hypercube(8)  f = x1 + x1*x2*x3 }
  model mlp2 { width = 16 }
  parametrization mean_field {}
  train { lr = 0.8  batch = 8  steps = 100 }
  sweep { grid { seed = 0..1 } }
  measure test_loss { every = 10  samples = 128 }
}
"""


class Interrupted(Exception):
    pass


def interrupt_after(chunks: int):
    def on_chunk(done, total):
        if done == chunks:
            raise Interrupted

    return on_chunk


@pytest.fixture
def program(write_spec):
    return build_plans(write_spec(SPEC))[0].programs[0]


def test_resume_from_periodic_checkpoint_matches_uninterrupted(program, tmp_path):
    reference = CompiledProgram(program).run()
    assert reference.test_loss.shape[1] == 11

    path = tmp_path / "state.npz"
    ids = [run.id for run in program.runs]
    with pytest.raises(Interrupted):
        CompiledProgram(program).run(on_chunk=interrupt_after(5), checkpoints=Checkpoints(path, ids, every_chunks=2))
    assert path.exists()

    resumed_from = Checkpoints(path, ids, every_chunks=2)
    resumed = CompiledProgram(program).run(checkpoints=resumed_from)
    assert resumed_from.saved_intervals >= 4  # it did not start from scratch
    np.testing.assert_array_equal(resumed.test_loss, reference.test_loss)
    np.testing.assert_array_equal(resumed.steps, reference.steps)


def test_save_on_request_writes_the_latest_chunk(program, tmp_path):
    path = tmp_path / "state.npz"
    ids = [run.id for run in program.runs]
    checkpoints = Checkpoints(path, ids, every_chunks=100)
    with pytest.raises(Interrupted):
        CompiledProgram(program).run(on_chunk=interrupt_after(4), checkpoints=checkpoints)
    assert not path.exists()  # no periodic save yet
    checkpoints.save_latest()  # what a job does when SLURM signals it

    again = Checkpoints(path, ids)
    state, _ = CompiledProgram(program).initial_state()
    _, logged = again.load(state)
    assert again.saved_intervals == 3  # the chunk that raised was never handed over
    test_loss = logged["test_loss"] if isinstance(logged, dict) else logged
    assert test_loss.shape == (2, 4)


def test_checkpoint_of_other_runs_is_ignored(program, tmp_path):
    path = tmp_path / "state.npz"
    ids = [run.id for run in program.runs]
    with pytest.raises(Interrupted):
        CompiledProgram(program).run(on_chunk=interrupt_after(3), checkpoints=Checkpoints(path, ids, every_chunks=1))
    other = Checkpoints(path, ids[:1])
    state, _ = CompiledProgram(program).initial_state()
    assert other.load(state) is None
