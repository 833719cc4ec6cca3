"""Loss-curve figures read a run's metrics, with the later record winning after a resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attnwav2lip.errors import ConfigError
from attnwav2lip.train.curves import plot_curves, read_curves
from attnwav2lip.train.recorder import read_metrics


def _run(tmp_path: Path) -> Path:
    records = [
        {"split": "train", "step": 10, "loss": 0.7, "sec_per_step": 1.0, "time": 1.0},
        {"split": "train", "step": 20, "loss": 0.6, "time": 2.0},
        {"split": "val", "step": 20, "loss": 0.65, "accuracy": 0.55, "time": 3.0},
        {"split": "train", "step": 20, "loss": 0.5, "time": 4.0},  # logged again after a resume
    ]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return tmp_path


def test_read_curves(tmp_path: Path) -> None:
    curves = read_curves(_run(tmp_path))
    assert set(curves) == {"loss", "accuracy"}
    assert curves["loss"]["train"] == ([10, 20], [0.7, 0.5])
    assert curves["loss"]["val"] == ([20], [0.65])


def test_read_metrics_keeps_the_later_record_of_a_step_logged_twice(tmp_path: Path) -> None:
    records = read_metrics(_run(tmp_path))
    assert [(r["split"], r["step"]) for r in records] == [("train", 10), ("train", 20), ("val", 20)]
    assert [r["loss"] for r in read_metrics(tmp_path, "train")] == [0.7, 0.5]


def test_plot_curves(tmp_path: Path) -> None:
    import cv2

    out = plot_curves(_run(tmp_path), tmp_path / "curves.png", keys=["loss", "accuracy"])
    image = cv2.imread(str(out))
    assert image is not None and image.shape[1] > image.shape[0] > 100
    with pytest.raises(ConfigError, match="sync"):
        plot_curves(tmp_path, tmp_path / "x.png", keys=["sync"])
