"""Checkpoints of a compiled program's training state, so an interrupted job can resume.

A checkpoint contains the batched model and optimizer state after a whole chunk, the number
of logging intervals done, and the losses logged so far, in one `.npz` file written
atomically. Training from it repeats exactly the computation an uninterrupted run would
do, because every step's randomness comes from the run key and the step number.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import equinox as eqx
import jax
import numpy as np

from .store import atomic_write_bytes

logger = logging.getLogger(__name__)


class Checkpoints:
    """Saves the state of one program every `every_chunks` chunks, and on request.

    The host loop calls `after_chunk` with each new state; `save_latest` writes the most
    recent one, for a job that SLURM signals to stop (a time limit or preemption).
    """

    def __init__(self, path: Path, run_ids: list[str], every_chunks: int = 5):
        self.path = Path(path)
        self.run_ids = list(run_ids)
        self.every_chunks = max(1, every_chunks)
        self.latest = None  # (state, losses) of the last finished chunk
        self.saved_intervals = -1

    def load(self, template_state):
        """Load the saved (state, losses) with the structure of `template_state`, or return None."""
        if not self.path.exists():
            return None
        with np.load(self.path) as data:
            if list(data["run_ids"]) != self.run_ids:
                logger.warning("checkpoint %s belongs to other runs; starting from scratch", self.path)
                return None
            blob = io.BytesIO(data["state"].tobytes())
            # The logged curves are saved as `log/NAME` entries (a dict), or as one
            # `losses` array by programs that log only a loss.
            logged = {key[4:]: data[key] for key in data.files if key.startswith("log/")}
            losses = logged if logged else data["losses"]
            intervals_done = int(data["intervals_done"])
        template = (template_state.model, template_state.opt_state)
        try:
            loaded = eqx.tree_deserialise_leaves(blob, template)
        except (ValueError, RuntimeError) as exc:
            # For example a checkpoint from a job with another device count, so other padding.
            logger.warning("checkpoint %s does not fit this program (%s); starting from scratch", self.path, exc)
            return None
        model, opt_state = _placed_like(loaded, template)
        state = type(template_state)(model, opt_state, intervals_done)
        self.saved_intervals = intervals_done
        logger.info("resuming %d runs from checkpoint %s after %d logging intervals",
                    len(self.run_ids), self.path, intervals_done)
        return state, losses

    def after_chunk(self, chunk: int, state, losses: np.ndarray):
        self.latest = (state, losses)
        if chunk % self.every_chunks == 0:
            self.save_latest()

    def save_latest(self):
        if self.latest is None:
            return
        state, losses = self.latest
        if state.intervals_done == self.saved_intervals:
            return
        blob = io.BytesIO()
        eqx.tree_serialise_leaves(blob, (state.model, state.opt_state))
        record = io.BytesIO()
        logged = {f"log/{name}": values for name, values in losses.items()} if isinstance(losses, dict) \
            else {"losses": losses}
        np.savez(record, state=np.frombuffer(blob.getvalue(), np.uint8), **logged,
                 intervals_done=state.intervals_done, run_ids=np.asarray(self.run_ids))
        atomic_write_bytes(self.path, record.getvalue())
        self.saved_intervals = state.intervals_done
        logger.info("checkpoint after %d logging intervals written to %s", state.intervals_done, self.path)

    def remove(self):
        self.path.unlink(missing_ok=True)


def _placed_like(tree, template):
    # Loaded arrays sit on the default device. Placing them as the template's arrays are
    # (split across devices along the run axis) gives the compiled chunk the same inputs,
    # and so the same numbers, as in a run that was never interrupted.
    def place(leaf, like):
        if isinstance(like, jax.Array) and isinstance(leaf, jax.Array):
            return jax.device_put(leaf, like.sharding)
        return leaf

    return jax.tree.map(place, tree, template)
