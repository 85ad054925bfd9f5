"""Progress while training: a bar per program on a terminal, plain log lines otherwise."""

from __future__ import annotations

import logging
import sys
import time

logger = logging.getLogger(__name__)


class Progress:
    """Reports chunks of each program as they finish."""

    def __init__(self, interactive: bool | None = None):
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self._bar = None
        self._task = None
        self._started = 0.0
        self._label = ""
        self._last_logged = -1

    def start_program(self, label: str, chunks: int):
        self._label, self._started, self._last_logged = label, time.monotonic(), -1
        if self.interactive:
            from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

            self._bar = RichProgress(TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                                     TimeElapsedColumn(), transient=False)
            self._bar.start()
            self._task = self._bar.add_task(label, total=chunks)
        else:
            logger.info("training %s", label)

    def advance(self, done: int, total: int):
        if self._bar is not None:
            self._bar.update(self._task, completed=done)
            return
        # Log about every 25% so a batch log stays short.
        quarter = 4 * done // total
        if quarter != self._last_logged:
            self._last_logged = quarter
            logger.info("%s: %d%% after %.1f s", self._label, 100 * done // total, time.monotonic() - self._started)

    def finish_program(self, note: str = ""):
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        logger.info("finished %s in %.1f s%s", self._label, time.monotonic() - self._started, note)
