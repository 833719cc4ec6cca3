"""Training both networks with one loop: the lip-sync expert and the (attention) generator.

    from attnwav2lip.train import TrainConfig, train_generator
    from attnwav2lip.config import load_recipe

    config = load_recipe(TrainConfig, "configs/synth_cpu.yaml")
    train_generator(config, "runs/g1", expert="runs/e1/checkpoints/step_000020000/expert.safetensors")

Modules: ``config`` (recipes), ``trainer`` (the loop and the Task protocol), ``expert_task`` and
``generator_task`` (each network's maths), ``adversarial`` (the discriminator with its own
optimiser), ``expert_loss`` (frozen expert, the 0.75 rule), ``evaluator`` (the SynthTalk
evaluator's training), ``losses``, ``runtime`` (device, DDP), ``sampler`` (sharded deterministic
order), ``state`` (checkpoints, RNG), ``recorder`` (metrics).
See docs/training.md.
"""

from __future__ import annotations

from .api import build_datasets, train_expert, train_generator
from .config import (DataConfig, ExpertTrainConfig, GanConfig, OptimConfig, RuntimeConfig, ScheduleConfig,
                     SyncLossConfig, TrainConfig, resolve_config, with_overrides)
from .trainer import Task, Trainer

__all__ = [
    "train_expert", "train_generator", "build_datasets", "Trainer", "Task",
    "TrainConfig", "ExpertTrainConfig", "DataConfig", "OptimConfig", "ScheduleConfig", "RuntimeConfig",
    "SyncLossConfig", "GanConfig", "resolve_config", "with_overrides",
]
