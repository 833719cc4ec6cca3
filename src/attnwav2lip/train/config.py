"""Training configuration: frozen dataclasses, loaded from and saved as YAML recipes.

One recipe describes one run completely (data, model, optimiser, schedule, losses, runtime) and is
saved beside its checkpoints, so a run can be rebuilt from its folder alone. Nothing here is
mutated at run time: state that changes (the step, whether the sync term is on) lives in the
trainer's checkpointed state, never in the config.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from typing import Any, Literal, Mapping, TypeVar

from ..config import check_choices, from_dict, load_recipe, to_dict
from ..data.datasets import SamplingConfig
from ..devices import check_device_name
from ..errors import ConfigError
from ..models.config import DiscriminatorConfig, ExpertConfig, GeneratorConfig
from ..precision import Precision
from .state import run_config_path

log = logging.getLogger(__name__)

BnMode = Literal["train", "eval"]
SyncSchedule = Literal["rule", "fixed"]
GanStart = Literal["first_step", "with_sync"]
Layout = Literal["store", "wav2lip"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True)
class DataConfig:
    """Where samples come from and how many make one optimiser step.

    ``layout``: "store" is a clip store made by ``attnwav2lip preprocess`` (splits from its
    manifest); "wav2lip" is the original preprocessed layout (splits from ``filelists``, by default
    ``<root>/filelists``); its mels are computed from each clip's ``audio.wav`` as the original
    does, and DataLoader workers do not outlive an epoch, so ``mel_cache`` (a folder) keeps them on
    disk across epochs and runs. ``sampling`` is the window sampler's own config (window length, mel
    offset, crop size, augmentation, samples per epoch). ``batch_size`` is the *global* batch
    (windows per optimiser step): each of W processes loads ``batch_size / (W * grad_accum)``
    windows per micro-batch, so every step averages gradients over the same windows whatever the
    world size. BatchNorm in train mode still sees each micro-batch on its own (across processes
    only with ``runtime.sync_batchnorm``, which leaves the frozen expert alone), so its statistics,
    and with them the optimisation, do depend on W and ``grad_accum``.
    """

    root: str = ""
    layout: Layout = "store"
    filelists: str | None = None
    mel_cache: str | None = None
    train_split: str = "train"
    val_split: str = "val"
    batch_size: int = 16
    grad_accum: int = 1
    num_workers: int = 2
    sampling: SamplingConfig = SamplingConfig()

    def __post_init__(self) -> None:
        check_choices(self, "data.")
        if self.batch_size < 1 or self.grad_accum < 1 or self.num_workers < 0:
            raise ConfigError(
                f"data: batch_size and grad_accum must be >= 1 and num_workers >= 0, got "
                f"{self.batch_size}, {self.grad_accum}, {self.num_workers}"
            )
        window, size = self.sampling.window.window, self.sampling.size
        if (window, size) != (5, 96):  # caught here, not at the first forward pass
            raise ConfigError(f"data.sampling: the expert and generator take windows of 5 frames of 96 px, got "
                              f"window {window}, size {size}")


@dataclasses.dataclass(frozen=True)
class OptimConfig:
    """Adam for the trained network (the original: lr 1e-4; betas (0.5, 0.999) in the HQ script)."""

    lr: float = 1e-4
    betas: tuple[float, float] = (0.9, 0.999)

    def __post_init__(self) -> None:
        if not self.lr > 0 or len(self.betas) != 2:
            raise ConfigError(f"optim: lr must be > 0 and betas a pair, got {self.lr}, {self.betas}")


@dataclasses.dataclass(frozen=True)
class ScheduleConfig:
    """How long to train and how often to validate, checkpoint and log (in optimiser steps).

    ``val_batches`` global batches are evaluated at each validation (the original: ~300-700 for
    the generator, ~1,400 for the expert); sample grids are written with each checkpoint.
    ``keep_checkpoints`` keeps only the newest N checkpoint folders up to the one just saved (0 keeps
    all; later steps, left by a branch abandoned at a resume, are left alone; a full-size generator
    checkpoint with its discriminator and optimiser states is ~0.6 GB).
    ``lr_decay_at``: global steps at which every optimiser's learning rate is multiplied by
    ``lr_decay`` (step decay; the original never decays). A decay lowers only rates that are
    training: an optimiser that starts later (the discriminator under ``gan.start: with_sync``)
    starts at its recipe rate and follows the decays from then on. The rate is recomputed from the
    recipe at every step, so a run resumed with a new recipe follows the new schedule, never the
    saved rate.
    ``freeze_bn_at`` (not in the original): from this global step on (0: from the first), the trained
    network's BatchNorm layers normalise with, and keep, their running statistics while their scale
    and shift still learn. Training then optimises the function that validation and inference run,
    not one whose output depends on the other windows of a small batch, and a change of training
    data (the end of a warm-up) no longer shifts every layer's normalisation at once.
    """

    max_steps: int = 100_000
    eval_every: int = 3000
    checkpoint_every: int = 3000
    val_batches: int = 300
    log_every: int = 50
    keep_checkpoints: int = 0
    lr_decay_at: tuple[int, ...] = ()
    lr_decay: float = 0.1
    freeze_bn_at: int | None = None

    def __post_init__(self) -> None:
        values = (self.max_steps, self.eval_every, self.checkpoint_every, self.val_batches, self.log_every)
        if min(values) < 1 or self.keep_checkpoints < 0:
            raise ConfigError(f"schedule: values must be >= 1 (keep_checkpoints >= 0), got {dataclasses.asdict(self)}")
        if not 0 < self.lr_decay <= 1 or any(step < 1 for step in self.lr_decay_at):
            raise ConfigError(f"schedule: lr_decay must be in (0, 1] and lr_decay_at steps >= 1, got "
                              f"{self.lr_decay}, {self.lr_decay_at}")
        if self.freeze_bn_at is not None and self.freeze_bn_at < 0:
            raise ConfigError(f"schedule: freeze_bn_at must be >= 0, got {self.freeze_bn_at}")

    def lr_factor(self, step: int, started_at: int = 0) -> float:
        """The multiplier of a recipe learning rate at optimiser step ``step`` (0-based) for an
        optimiser that started training at step ``started_at``."""
        return self.lr_decay ** sum(started_at < boundary <= step for boundary in self.lr_decay_at)

    def bn_frozen(self, step: int) -> bool:
        """Whether optimiser step ``step`` (0-based) trains with frozen BatchNorm statistics."""
        return self.freeze_bn_at is not None and step >= self.freeze_bn_at


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    """Execution choices that do not change the maths.

    ``precision`` (``auto``, ``fp32``, ``bf16``; :mod:`attnwav2lip.precision`): bf16 is bfloat16
    autocast with channels_last networks. ``auto`` is bf16 on CUDA, and on a CPU only where it has
    native bf16 and a start-up probe measures it faster; fp32 elsewhere. A resume keeps the
    precision its checkpoint was trained in. ``sync_batchnorm`` makes BatchNorm use statistics of
    the global batch under DDP (otherwise each process normalises its own share, as the original
    does on one GPU with its batch of 16). ``deterministic`` asks torch for deterministic kernels.
    ``threads`` sets torch's intra-op threads per process (0: torch's default); on a busy or
    small CPU, fewer threads than cores avoids OpenMP spin-waiting against other processes.
    """

    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps (attnwav2lip.devices); cuda and auto: the local rank's GPU
    threads: int = 0
    precision: Precision = "auto"
    sync_batchnorm: bool = False
    deterministic: bool = False
    progress: bool = True

    def __post_init__(self) -> None:
        check_choices(self, "runtime.")
        check_device_name(self.device)

    @staticmethod
    def upgrade_legacy(data: dict[str, Any], where: str) -> dict[str, Any]:
        """Recipes and run folders from before ``precision`` had ``amp`` and ``channels_last`` (both
        CUDA-only): ``amp: false`` is ``fp32``, anything else ``auto``."""
        legacy = {key: data.pop(key) for key in ("amp", "channels_last") if key in data}
        if legacy:
            data.setdefault("precision", "fp32" if legacy.get("amp") is False else "auto")
            log.warning("%s: runtime.%s replaced by runtime.precision (read as %r)", where,
                        " and runtime.".join(legacy), data["precision"])
        return data


@dataclasses.dataclass(frozen=True)
class SyncLossConfig:
    """The expert's sync term: weight alpha, when it switches on, and the frozen expert's BN mode.

    ``schedule``: "rule" keeps alpha at 0 until a validation's mean sync loss falls below
    ``threshold`` (the original's 0.75 rule), then uses ``weight`` for good; "fixed" uses
    ``weight`` from the first step (also the way to switch it on by hand when resuming).
    ``switch_by`` (rule only, not in the original): the step at which alpha switches on if the rule
    has not fired by then, which is how the AttnWav2Lip authors switched by hand, written into the recipe.
    ``expert_bn``: "train" normalises each batch with its own statistics as the original does (its
    0.75 threshold was measured that way); "eval" uses the expert's running statistics.
    ``audio_from_expert``: a fresh run starts the generator's mel encoder from the expert's (not
    in the original; docs/training_synthtalk.md says what it did for the narrow CPU generator).
    ``restart_optimizer`` (not in the original): the generator's Adam starts afresh at the step
    alpha switches on. Its second-moment estimates, fitted to the L1 gradient alone, are orders of
    magnitude below the sync term's, so the first steps after the switch would be many times the
    learning rate (docs/training_synthtalk.md measures the jolt); a fresh Adam sizes them from the new loss.
    """

    weight: float = 0.03
    schedule: SyncSchedule = "rule"
    threshold: float = 0.75
    expert_bn: BnMode = "train"
    audio_from_expert: bool = False
    restart_optimizer: bool = False
    switch_by: int | None = None

    def __post_init__(self) -> None:
        check_choices(self, "sync.")
        if not 0.0 <= self.weight < 1.0:
            raise ConfigError(f"sync.weight must be in [0, 1), got {self.weight}")
        if self.switch_by is not None and (self.schedule != "rule" or self.switch_by < 0):
            raise ConfigError(f"sync.switch_by must be a step >= 0 under schedule: rule, got {self.switch_by} "
                              f"under {self.schedule}")


@dataclasses.dataclass(frozen=True)
class GanConfig:
    """The visual quality discriminator: loss weight beta and its own Adam (the original's values).

    ``start``: "first_step" trains the discriminator and uses beta from step 0 (the original);
    "with_sync" keeps beta at 0 and the discriminator idle until alpha switches on, so one run goes
    L1, then L1 + sync + GAN (the order the original's maintainer recommends for training from scratch).
    """

    enabled: bool = True
    weight: float = 0.07
    start: GanStart = "first_step"
    lr: float = 1e-4
    betas: tuple[float, float] = (0.5, 0.999)
    model: DiscriminatorConfig = DiscriminatorConfig()

    def __post_init__(self) -> None:
        check_choices(self, "gan.")
        if not 0.0 <= self.weight < 1.0:
            raise ConfigError(f"gan.weight must be in [0, 1), got {self.weight}")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """A generator run: L = (1 - a - b) L1 + a L_sync + b L_gen (b = 0 when the GAN is off).

    The model's ``mel_offset`` (saved with its weights, used by inference) is the offset the
    sampler trains with, ``data.sampling.window.mel_offset``; both default to the original
    training's -1. A recipe states it once (``model.mel_offset``; ``upgrade_legacy`` copies it to
    the sampler); saved configs carry both, which must then agree.
    """

    data: DataConfig = DataConfig()
    model: GeneratorConfig = GeneratorConfig(attention="both", mel_offset=-1)
    optim: OptimConfig = OptimConfig(betas=(0.5, 0.999))
    schedule: ScheduleConfig = ScheduleConfig()
    sync: SyncLossConfig = SyncLossConfig()
    gan: GanConfig = GanConfig()
    runtime: RuntimeConfig = RuntimeConfig()

    @staticmethod
    def upgrade_legacy(data: dict[str, Any], where: str) -> dict[str, Any]:
        """``mel_offset`` stated on one side only (``model`` or ``data.sampling.window``) holds for both."""
        model = dict(data.get("model") or {})
        section = dict(data.get("data") or {})
        sampling = dict(section.get("sampling") or {})
        window = dict(sampling.get("window") or {})
        if ("mel_offset" in model) == ("mel_offset" in window):
            return data
        offset = model["mel_offset"] if "mel_offset" in model else window["mel_offset"]
        model["mel_offset"] = window["mel_offset"] = offset
        return {**data, "model": model, "data": {**section, "sampling": {**sampling, "window": window}}}

    def __post_init__(self) -> None:
        if self.model.mel_offset != self.data.sampling.window.mel_offset:
            raise ConfigError(f"model.mel_offset ({self.model.mel_offset}) differs from "
                              f"data.sampling.window.mel_offset ({self.data.sampling.window.mel_offset})")
        beta = self.gan.weight if self.gan.enabled else 0.0
        if self.sync.weight + beta >= 1.0:
            raise ConfigError(f"sync.weight + gan.weight must be < 1, got {self.sync.weight} + {beta}")

    def check_expert_batches(self, world_size: int) -> None:
        """The expert's last feature maps are 1x1, so under ``sync.expert_bn: train`` its BatchNorm
        needs >= 2 windows in every forward: each training micro-batch (when the sync term can switch
        on) and each process's validation batch (validation always measures the sync loss)."""
        if self.sync.expert_bn != "train":
            return
        windows = self.data.batch_size // world_size
        if self.sync.weight > 0:
            windows //= self.data.grad_accum
        if windows < 2:
            raise ConfigError(f"data.batch_size {self.data.batch_size} over {world_size} process(es) x grad_accum "
                              f"{self.data.grad_accum} gives {windows} window(s) per expert forward; sync.expert_bn: "
                              "train normalises each forward by its own statistics and needs >= 2 (or use eval)")


@dataclasses.dataclass(frozen=True)
class ExpertTrainConfig:
    """A lip-sync expert run (SyncNet_color: BCE on the cosine of the two embeddings)."""

    data: DataConfig = DataConfig(batch_size=64)
    model: ExpertConfig = ExpertConfig()
    optim: OptimConfig = OptimConfig()
    schedule: ScheduleConfig = ScheduleConfig(eval_every=10_000, checkpoint_every=10_000, val_batches=1400)
    runtime: RuntimeConfig = RuntimeConfig()


def with_overrides(config: T, overrides: Mapping[str, Any]) -> T:
    """A copy of ``config`` with dotted keys replaced, e.g. {"model.attention": "both"}; re-validated."""
    data = to_dict(config)
    for dotted, value in overrides.items():
        *parents, leaf = dotted.split(".")
        node = data
        for key in parents:
            node = node.get(key) if isinstance(node, dict) else None
        if not isinstance(node, dict) or leaf not in node:
            raise ConfigError(f"unknown config key {dotted!r}")
        node[leaf] = value
    return from_dict(type(config), data)


def resolve_config(cls: type[T], recipe: str | os.PathLike[str] | None, overrides: Mapping[str, Any],
                   resume: str | os.PathLike[str] | None = None) -> T:
    """A run's config: the recipe, else (when resuming) the resumed run's saved config, else defaults; then overrides."""
    if recipe is None and resume is not None:
        recipe = run_config_path(resume)
    config = load_recipe(cls, recipe) if recipe is not None else cls()
    log.debug("config: %s, overrides %s", recipe if recipe is not None else f"{cls.__name__} defaults", dict(overrides))
    return with_overrides(config, overrides)
