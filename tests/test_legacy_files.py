"""Files written before the layered package (commit 7fa4f34) still load and resume.

``tests/data/run_7fa4f34`` is a generator run folder made by that commit's code: ``train_generator``
on the tiny store of ``training_runs.make_store`` (width 0.0625, GAN on, 2 steps, one checkpoint).
Its saved config states ``mel_offset`` twice (model and sampler) and carries ``img_size``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from training_runs import make_store

from attnwav2lip.checkpoints import load_model, network_file, resolve_checkpoint
from attnwav2lip.train import TrainConfig, resolve_config, train_generator
from attnwav2lip.train.recorder import read_metrics
from attnwav2lip.train.state import load_state

RUN = Path(__file__).parent / "data" / "run_7fa4f34"
CHECKPOINT = RUN / "checkpoints" / "step_000000002"


def test_its_weights_load() -> None:
    for kind in ("generator", "expert", "discriminator"):
        assert load_model(CHECKPOINT / f"{kind}.safetensors", kind=kind).kind == kind
    generator = load_model(network_file(RUN, "generator"), kind="generator")
    assert generator.config.width == 0.0625 and generator.config.mel_offset == -1 and generator.config.img_size == 96
    assert resolve_checkpoint(RUN) == CHECKPOINT
    assert load_model(RUN, kind="discriminator").kind == "discriminator"  # a run folder, as `evaluate --checkpoint` takes it
    assert load_model(CHECKPOINT, kind="expert").kind == "expert"


def test_its_saved_config_loads() -> None:
    config = resolve_config(TrainConfig, None, {}, resume=RUN)
    assert config.model.mel_offset == config.data.sampling.window.mel_offset == -1
    assert config.runtime.precision == "auto" and config.gan.enabled


@pytest.mark.slow
def test_it_resumes(tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(RUN, run)
    store = make_store(tmp_path / "store")  # the same clips: the resume checks their fingerprint
    config = resolve_config(TrainConfig, None, {"data.root": str(store), "schedule.max_steps": 3}, resume=run)
    train_generator(config, run, expert=CHECKPOINT / "expert.safetensors", resume=run)
    assert load_state(resolve_checkpoint(run))["step"] == 3
    assert [r["step"] for r in read_metrics(run, "train")] == [1, 2, 3]
    assert json.loads((run / "run.json").read_text())["resumed_from"] is not None
