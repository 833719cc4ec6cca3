"""Tiny training runs for the tests: a clip store of random frames and the smallest recipes that train on it."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from attnwav2lip.data.datasets import SamplingConfig
from attnwav2lip.data.store import MANIFEST, append_jsonl, write_clip
from attnwav2lip.models import DiscriminatorConfig, GeneratorConfig
from attnwav2lip.train import DataConfig, GanConfig, RuntimeConfig, ScheduleConfig, SyncLossConfig, TrainConfig

WIDTH = 0.0625


def make_store(root: Path) -> Path:
    """Three train clips and one val clip of 20 random 96x96 frames with noise audio."""
    rng = np.random.default_rng(0)
    records = []
    for k, split in enumerate(["train", "train", "train", "val"]):
        n = 20
        frames = rng.integers(0, 256, (n, 96, 96, 3), dtype=np.uint8)
        wav = (0.1 * rng.standard_normal(n * 640)).astype(np.float32)
        write_clip(root, f"c{k}", frames, wav, fps=25.0, source=f"c{k}.mp4")
        records.append({"id": f"c{k}", "frames": n, "fps": 25.0, "source": f"c{k}.mp4", "split": split})
    append_jsonl(root / MANIFEST, records)
    return root


def tiny_data(root: Path, batch_size: int = 2, grad_accum: int = 1) -> DataConfig:
    return DataConfig(root=str(root), batch_size=batch_size, grad_accum=grad_accum, num_workers=0,
                      sampling=SamplingConfig(samples_per_epoch=4))


def tiny_generator_config(root: Path, *, max_steps: int = 3, sync: SyncLossConfig = SyncLossConfig(schedule="fixed"),
                          **data: int) -> TrainConfig:
    return TrainConfig(
        data=tiny_data(root, **data),
        model=GeneratorConfig(width=WIDTH, attention="both", mel_offset=-1),
        schedule=ScheduleConfig(max_steps=max_steps, eval_every=2, checkpoint_every=2, val_batches=1, log_every=1),
        sync=sync, gan=GanConfig(model=DiscriminatorConfig(width=WIDTH)), runtime=RuntimeConfig(progress=False))
