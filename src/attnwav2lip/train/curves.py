"""Loss curves of a run folder (``metrics.jsonl``) as one PNG: a panel per metric, train and val.

    python -c "from attnwav2lip.train.curves import plot_curves; plot_curves('runs/expert', 'expert.png')"
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from ..errors import ConfigError
from ..fileio import atomic_path
from .recorder import read_metrics

SKIPPED = {"step", "time", "split", "sec_per_step"}


def read_curves(run_dir: str | os.PathLike[str]) -> dict[str, dict[str, tuple[list[int], list[float]]]]:
    """``{metric: {split: (steps, values)}}``; when a resumed run logged a step twice, the later record
    wins (``read_metrics``)."""
    curves: dict[str, dict[str, tuple[list[int], list[float]]]] = defaultdict(dict)
    for record in read_metrics(run_dir):
        for key, value in record.items():
            if key in SKIPPED or not isinstance(value, (int, float)):
                continue
            steps, values = curves[key].setdefault(record["split"], ([], []))
            steps.append(int(record["step"]))
            values.append(float(value))
    return dict(curves)


def plot_curves(run_dir: str | os.PathLike[str], out: str | os.PathLike[str], keys: Sequence[str] | None = None,
                title: str | None = None) -> Path:
    """Write the PNG of ``keys`` (default: every metric the run logged) and return its path."""
    from matplotlib.figure import Figure  # no pyplot: the process's backend and figure registry stay untouched

    curves = read_curves(run_dir)
    keys = list(keys) if keys is not None else sorted(curves)
    missing = [k for k in keys if k not in curves]
    if not keys or missing:
        raise ConfigError(f"{run_dir}: no logged metric {', '.join(missing) or '(none at all)'}")
    fig = Figure(figsize=(4 * len(keys), 3.2))
    axes = fig.subplots(1, len(keys), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for split, (steps, values) in sorted(curves[key].items()):
            ax.plot(steps, values, marker="o" if split == "val" else None, markersize=3, label=split)
        ax.set_title(key)
        ax.set_xlabel("step")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title or Path(run_dir).name)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    return Path(out)
