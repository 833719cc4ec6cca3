"""Where metrics go: one JSON line per record in ``metrics.jsonl``, and TensorBoard when available.

The log is appended to (one whole line per ``write``), not rewritten, so it grows at no cost.

Only the main process records. TensorBoard is optional (``torch.utils.tensorboard`` needs the
``tensorboard`` package); without it the JSONL file is the complete log.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ..data.store import append_jsonl, read_jsonl


class Recorder:
    """Appends ``{"split", "step", "time", **metrics}`` records; a no-op on non-main processes."""

    def __init__(self, run_dir: Path, *, enabled: bool) -> None:
        self.enabled = enabled
        self.path = run_dir / "metrics.jsonl"
        self.writer: Any = None
        if enabled:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                return
            self.writer = SummaryWriter(str(run_dir / "tensorboard"))

    def log(self, split: str, step: int, metrics: dict[str, float]) -> None:
        if not self.enabled:
            return
        record = {"split": split, "step": step, "time": round(time.time(), 3), **metrics}
        append_jsonl(self.path, [record])
        if self.writer is not None:
            for key, value in metrics.items():
                self.writer.add_scalar(f"{split}/{key}", value, step)
            self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def read_metrics(run_dir: str | Path, split: str | None = None) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (optionally of one split), in step order, one per
    (split, step).

    A resumed run appends after its checkpoint's step, so steps logged by the interrupted run
    after that checkpoint appear twice in the file; the later record is the one that counts.
    """
    latest: dict[tuple[str, int], dict[str, Any]] = {}
    for record in read_jsonl(Path(run_dir) / "metrics.jsonl"):
        if split is None or record["split"] == split:
            latest[(record["split"], int(record["step"]))] = record
    return sorted(latest.values(), key=lambda record: int(record["step"]))
