"""Entry points: build a run from its config and train it (the CLI commands call these).

``train_expert`` trains the lip-sync expert; ``train_generator`` trains the generator against a
frozen expert (and a discriminator unless the GAN is off). Both write into ``run_dir``:
``config.yaml`` (the resolved recipe), ``run.json`` (git revision, versions), ``metrics.jsonl``,
``checkpoints/step_*/`` and, for the generator, ``samples/step_*.png``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import tempfile
from pathlib import Path
from typing import Callable

from torch import nn
from torch.utils.data import Dataset

from ..checkpoints import CHECKPOINTS, LATEST, init_generator_from_wav2lip, load_model, network_file, resolve_checkpoint
from ..data import ClipStore, ExpertDataset, GeneratorDataset, Wav2LipLayout
from ..data.augment import AugmentConfig
from ..data.datasets import SamplingConfig
from ..errors import ConfigError
from ..models import Generator, LipSyncExpert, QualityDiscriminator
from ..models.blocks import copy_audio_encoder
from .adversarial import Adversary
from .config import DataConfig, ExpertTrainConfig, TrainConfig
from .expert_task import ExpertTask
from .generator_task import GeneratorTask
from .runtime import UNRECORDED, Runtime, start, stop
from .state import load_state, run_dir_of, write_run_config, write_run_info
from .trainer import Task, Trainer

log = logging.getLogger(__name__)

PathLike = str | os.PathLike[str]
Datasets = tuple[Dataset, Dataset]


def train_expert(config: ExpertTrainConfig, run_dir: PathLike | None, *, resume: PathLike | None = None,
                 datasets: Datasets | None = None) -> dict[str, float]:
    """Train SyncNet_color; returns the last validation's loss and accuracy.

    ``resume``: a checkpoint folder or a run folder (its latest checkpoint); ``run_dir`` None
    continues in the resumed run's folder. ``datasets``: (train, val) datasets to use instead of
    those described by ``config.data``.
    """
    def build(runtime: Runtime) -> Task:
        return ExpertTask(LipSyncExpert(config.model), config.optim, runtime)

    return run_task("train-expert", config, run_dir, build, "expert", resume, datasets)


def train_generator(config: TrainConfig, run_dir: PathLike | None, *, expert: PathLike, init: PathLike | None = None,
                    init_discriminator: PathLike | None = None, resume: PathLike | None = None,
                    datasets: Datasets | None = None) -> dict[str, float]:
    """Train the generator against the frozen expert ``expert``; returns the last validation.

    ``expert``: a checkpoint file (original ``lipsync_expert.pth`` or the project's own), or the
    run or checkpoint folder of a ``train_expert`` run (its latest expert).
    ``init``: start from a generator checkpoint (an original Wav2Lip file or the project's own;
    with attention, the attention layers stay freshly initialised). ``init_discriminator``:
    start the discriminator from a checkpoint. Both are ignored when resuming, and so is
    ``config.sync.audio_from_expert`` (which loads the mel encoder after ``init``).
    """
    def build(runtime: Runtime) -> Task:
        generator = Generator(config.model)
        discriminator = QualityDiscriminator(config.gan.model) if config.gan.enabled else None
        if resume is None and init is not None:
            init_generator_from_wav2lip(generator, init)
        frozen_expert = load_model(network_file(expert, "expert"), kind="expert")
        if resume is None and config.sync.audio_from_expert:
            copy_audio_encoder(frozen_expert.audio_encoder, generator.audio_encoder)
        if resume is None and init_discriminator is not None:
            if discriminator is None:
                raise ConfigError("a discriminator checkpoint was given but gan.enabled is false")
            _copy_weights(load_model(init_discriminator, kind="discriminator"), discriminator, init_discriminator)
        adversary = Adversary(discriminator, config.gan, runtime) if discriminator is not None else None
        return GeneratorTask(generator, frozen_expert, adversary, config, runtime)

    return run_task("train", config, run_dir, build, "generator", resume, datasets)


def build_datasets(data: DataConfig, kind: str, seed: int) -> Datasets:
    """The (train, val) datasets of ``kind`` ("expert" or "generator") that ``data`` describes.

    Augmentation and the warm-up on a few clips apply to the training split only.
    """
    if not data.root:
        raise ConfigError("data.root is empty: give the dataset folder in the recipe or with --data")
    dataset = ExpertDataset if kind == "expert" else GeneratorDataset

    def split(name: str, sampling: SamplingConfig) -> Dataset:
        if data.layout == "wav2lip":
            source = Wav2LipLayout(data.root, name, filelists=data.filelists, size=data.sampling.size,
                                   mel_cache=data.mel_cache)
        else:
            source = ClipStore(data.root, split=name)
        return dataset(source, sampling, seed=seed)

    # validation sees the whole split as inference does: never augmented, no warm-up subset
    plain = dataclasses.replace(data.sampling, augment=AugmentConfig(),
                                window=dataclasses.replace(data.sampling.window, warmup_clips=0, warmup_epochs=0,
                                                           warmup_stages=1))
    return split(data.train_split, data.sampling), split(data.val_split, plain)


def run_task(command: str, config: TrainConfig | ExpertTrainConfig, run_dir: PathLike | None,
             build: Callable[[Runtime], Task], kind: str, resume: PathLike | None,
             datasets: Datasets | None) -> dict[str, float]:
    """Run any ``Task`` (built by ``build`` once the runtime exists) in a run folder, fresh or resumed.

    The one entry point for every trained network: expert, generator, and the SynthTalk evaluator.
    """
    checkpoint = resolve_checkpoint(resume) if resume is not None else None
    if run_dir is None and checkpoint is None:
        raise ConfigError("no run folder: give one, or a checkpoint to resume")
    run_dir = Path(run_dir) if run_dir is not None else run_dir_of(checkpoint)
    if checkpoint is None and (run_dir / CHECKPOINTS / LATEST).is_file():
        raise ConfigError(f"{run_dir} already holds a run: resume it (--resume) or choose another folder")
    runtime = start(config.runtime, recorded_precision(checkpoint) if checkpoint is not None else None)
    try:
        # everything that can fail on a bad argument (data, weights, a resume) runs before the folder is written
        train_set, val_set = datasets or build_datasets(config.data, kind, config.runtime.seed)
        task = build(runtime)
        trainer = Trainer(task, train_set, val_set, data=config.data, schedule=config.schedule,
                          runtime=runtime, run_dir=run_dir)
        if checkpoint is not None:
            trainer.resume(checkpoint)
        if runtime.is_main:
            warn_if_temporary(run_dir)
            run_dir.mkdir(parents=True, exist_ok=True)
            write_run_config(run_dir, config, trainer.step)
            write_run_info(run_dir, command, resumed_from=checkpoint, precision=str(runtime.precision))
        return trainer.fit()
    finally:
        stop(runtime)


def warn_if_temporary(run_dir: Path) -> None:
    """Runs outlive sessions only outside the temporary folder, which systems wipe (at boot, by age)."""
    temporary = Path(tempfile.gettempdir()).resolve()
    if temporary in run_dir.resolve().parents:
        log.warning("%s is under %s, which the system may wipe: keep runs elsewhere (e.g. ~/attnwav2lip-runs) "
                    "to resume them later", run_dir, temporary)


def recorded_precision(checkpoint: Path) -> str:
    """The precision a checkpoint was trained in (``UNRECORDED`` for checkpoints from before it was kept)."""
    precision = load_state(checkpoint).get("precision")
    if precision is None:
        log.warning("%s: saved before precisions were recorded; resuming in fp32 on a CPU", checkpoint)
        return UNRECORDED
    return precision


def _copy_weights(source: nn.Module, target: nn.Module, path: PathLike) -> None:
    if source.config != target.config:
        raise ConfigError(f"{path}: holds a {source.kind} with {source.config}, the recipe asks for {target.config}")
    target.load_state_dict(source.state_dict())
