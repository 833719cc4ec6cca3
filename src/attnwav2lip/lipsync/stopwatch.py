"""Wall and CPU time per pipeline stage, reported per output frame by ``sync``."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import defaultdict
from typing import Iterator

import numpy as np


class Stopwatch:
    """Wall and CPU (all threads of this process) seconds per stage name.

    Stages may run in several threads at once (``SyncOptions.overlap``): each stage's wall time is
    then the time its thread spent in it, and its CPU time includes what other threads did meanwhile.
    """

    def __init__(self) -> None:
        self.wall: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            with self._lock:
                self.wall[stage] += time.perf_counter() - wall
                self.cpu[stage] += time.process_time() - cpu

    def timed(self, stage: str, iterator: Iterator[np.ndarray]) -> Iterator[np.ndarray]:
        """``iterator`` with the time spent producing each item charged to ``stage``."""
        while True:
            with self(stage):
                item = next(iterator, None)
            if item is None:
                return
            yield item

    def per_frame(self, frames: int) -> tuple[dict[str, float], dict[str, float]]:
        """(wall, cpu) milliseconds per output frame by stage."""
        n = max(frames, 1)
        return ({k: 1000.0 * v / n for k, v in self.wall.items()}, {k: 1000.0 * v / n for k, v in self.cpu.items()})
