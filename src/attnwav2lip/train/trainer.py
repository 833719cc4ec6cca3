"""The one training loop, shared by the expert and the generator through small task objects.

The loop owns what is common to both networks: the sample order and its position, micro-batches
and the global batch, periodic validation, checkpoints and exact resume, metrics and progress.
A :class:`Task` owns one network's maths: its forward passes, losses, optimisers and schedule.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..data.sampling import WindowSampler
from ..errors import ConfigError
from ..progress import progress_bar
from .config import DataConfig, ScheduleConfig
from .recorder import Recorder
from .runtime import Runtime
from .sampler import Position, ShardedBatchSampler
from .state import (checkpoint_dir, load_state, load_weights, prune_checkpoints, rng_state, save_checkpoint,
                    set_rng_state)

log = logging.getLogger(__name__)

Batch = Mapping[str, torch.Tensor]

# what a saved (epoch, batch) position means, by state key: the recipe value (or quantity) it depends on
ORDER_KEYS: dict[str, str] = {"batch_size": "data.batch_size", "train_samples": "the training set's samples per epoch",
                              "seed": "runtime.seed", "clips": "the training clips (fingerprint)"}


class Task(Protocol):
    """One network's training maths, driven by :class:`Trainer`."""

    draws_samples: bool  # whether ``write_samples`` makes a picture (else no validation batch is loaded for it)

    def networks(self) -> dict[str, nn.Module]:
        """The trained networks (unwrapped) by checkpoint name, e.g. {"generator": g}."""

    def optimizers(self) -> list[torch.optim.Optimizer]:
        """Every optimiser, as built from the recipe (the trainer scales their rates by the schedule)."""

    def optimizer_starts(self) -> list[int | None]:
        """The step at which each optimiser began training (None: not yet); decays before it do not apply."""

    def set_training(self, mode: bool, freeze_bn: bool = False) -> None:
        """Switch the trained networks between train and eval mode (BatchNorm kept in eval when ``freeze_bn``)."""

    def train_step(self, micro_batches: Sequence[Batch], step: int) -> dict[str, float]:
        """Optimiser step ``step`` (0-based, global) over this process's share of a global batch;
        returns scalar metrics. Loss weights that follow the schedule are functions of ``step``."""

    def validation_step(self, batch: Batch) -> dict[str, float]:
        """Metrics of one validation batch (called under ``torch.no_grad`` in eval mode)."""

    def after_validation(self, metrics: dict[str, float], step: int) -> dict[str, float]:
        """React to a validation's global means (e.g. the 0.75 rule); returns metrics to record."""

    def write_samples(self, batch: Batch, path: Path) -> None:
        """Save a picture of what the network does on ``batch`` (called only when ``draws_samples``)."""

    def state_dict(self) -> dict[str, Any]:
        """Optimisers and schedule state (the networks are saved as weights separately)."""

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


class SingleOptimizerTask:
    """The parts of a ``Task`` shared by networks trained with one optimiser and no schedule state
    or pictures (the expert, the SynthTalk evaluator); subclasses set ``self.optimizer``."""

    optimizer: torch.optim.Optimizer
    draws_samples = False

    def optimizers(self) -> list[torch.optim.Optimizer]:
        return [self.optimizer]

    def optimizer_starts(self) -> list[int | None]:
        return [0]

    def after_validation(self, metrics: dict[str, float], step: int) -> dict[str, float]:
        return {}

    def write_samples(self, batch: Batch, path: Path) -> None:
        raise NotImplementedError("these networks make no images")

    def state_dict(self) -> dict[str, Any]:
        return {"optimizer": self.optimizer.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state["optimizer"])


class Trainer:
    """Runs a task over a dataset until ``schedule.max_steps``, resumable at any checkpoint."""

    def __init__(self, task: Task, train_set: Dataset, val_set: Dataset, *, data: DataConfig,
                 schedule: ScheduleConfig, runtime: Runtime, run_dir: Path) -> None:
        if data.batch_size % (runtime.world_size * data.grad_accum):
            raise ConfigError(f"data.batch_size {data.batch_size} is not divisible by {runtime.world_size} "
                              f"process(es) x grad_accum {data.grad_accum}")
        self.task = task
        self.data = data
        self.schedule = schedule
        self.runtime = runtime
        self.run_dir = run_dir
        self.train_set = train_set
        self.val_set = val_set
        seed = runtime.options.seed
        self.sampler = ShardedBatchSampler(len(train_set), data.batch_size, rank=runtime.rank,
                                           world_size=runtime.world_size, seed=seed, name="training set")
        self.val_sampler = ShardedBatchSampler(len(val_set), data.batch_size, rank=runtime.rank,
                                               world_size=runtime.world_size, shuffle=False, name="validation set")
        self.step = 0
        self.position = Position()
        self.last_validation: dict[str, float] = {}
        # the recipe's optimiser settings (rates, betas...), taken before a resume loads the saved ones
        self.recipe_groups = [[_hyperparameters(group) for group in optimizer.param_groups]
                              for optimizer in task.optimizers()]
        self.sample_order = self._sample_order()  # fixed for the run: saved with every checkpoint

    def resume(self, folder: Path) -> None:
        """Continue exactly where checkpoint ``folder`` left off (weights, optimiser states under the
        recipe's settings, sample order, RNG)."""
        for name, network in self.task.networks().items():
            load_weights(folder, name, network)
        state = load_state(folder)
        self.step = state["step"]
        self.position = self._saved_position(state, folder)
        self.task.load_state_dict(state["task"])
        for optimizer, groups in zip(self.task.optimizers(), self.recipe_groups):
            _apply_hyperparameters(optimizer, groups)
        if state["world_size"] == self.runtime.world_size:
            set_rng_state(state["rng"][self.runtime.rank])
        else:
            log.warning("%s: saved by %d process(es), resumed by %d: its random generator states are not restored "
                        "(the sample order is)", folder, state["world_size"], self.runtime.world_size)

    def _sample_order(self) -> dict[str, int | str]:
        """What the data position means: the same (epoch, batch) names the same samples only while these hold."""
        order: dict[str, int | str] = {"batch_size": self.data.batch_size, "train_samples": len(self.train_set),
                                       "seed": self.runtime.options.seed}
        sampler = getattr(self.train_set, "sampler", None)  # the project's window datasets
        if isinstance(sampler, WindowSampler):
            order["clips"] = sampler.fingerprint()
        return order

    def _saved_position(self, state: dict[str, Any], folder: Path) -> Position:
        """The checkpoint's data position, refused when the sample order it points into has changed
        (a larger batch or a smaller training set would put it past the epoch's end: no batch, ever)."""
        for key, saved in state.get("sample_order", {}).items():
            now = self.sample_order[key]
            if saved != now:
                raise ConfigError(f"{folder}: {ORDER_KEYS[key]} is {now} but was {saved}; an exact resume needs it "
                                  "unchanged (start a new run from the weights instead, e.g. train --init)")
        position = Position(**state["position"])
        if position.batch >= self.sampler.batches_per_epoch:
            raise ConfigError(f"{folder}: saved at batch {position.batch} of an epoch that now has "
                              f"{self.sampler.batches_per_epoch} batches; an exact resume needs data.batch_size and "
                              "the training set unchanged")
        return position

    def fit(self) -> dict[str, float]:
        """Train to ``max_steps``; returns the last validation's metrics (empty if none ran)."""
        recorder = Recorder(self.run_dir, enabled=self.runtime.is_main)
        progress = _progress(self.schedule.max_steps, self.step, self.runtime)
        window: list[dict[str, float]] = []  # metrics since the last log record
        busy = 0.0  # seconds spent loading and stepping since then (validation and saving excluded)
        try:
            while self.step < self.schedule.max_steps:
                tick = time.perf_counter()
                for batch in self._epoch_batches():
                    self.task.set_training(True, freeze_bn=self.schedule.bn_frozen(self.step))
                    self._set_learning_rates()
                    window.append(self.task.train_step(_split(self._to_device(batch), self.data.grad_accum), self.step))
                    self.step += 1
                    self._advance()
                    progress.update(1)
                    busy += time.perf_counter() - tick
                    if self.step % self.schedule.log_every == 0:
                        logged = self.runtime.all_mean(_mean(window))
                        recorder.log("train", self.step, {**logged, "sec_per_step": busy / len(window)})
                        progress.set_postfix({k: f"{v:.3g}" for k, v in logged.items()})
                        window, busy = [], 0.0
                    if self.step % self.schedule.eval_every == 0:
                        self.last_validation = self._validate()
                        recorder.log("val", self.step, self.last_validation)
                    if self.step % self.schedule.checkpoint_every == 0 or self.step == self.schedule.max_steps:
                        self._checkpoint()
                    if self.step >= self.schedule.max_steps:
                        break
                    tick = time.perf_counter()
        finally:
            progress.close()
            recorder.close()
        return self.last_validation

    def _epoch_batches(self) -> DataLoader:
        """A loader over the rest of the current epoch, from the stored position."""
        self.sampler.set_position(self.position)
        _set_epoch(self.train_set, self.position.epoch)
        return self._loader(self.train_set, self.sampler)

    def _advance(self) -> None:
        batch = self.position.batch + 1
        if batch >= self.sampler.batches_per_epoch:
            self.position = Position(self.position.epoch + 1, 0)
        else:
            self.position = Position(self.position.epoch, batch)

    def _set_learning_rates(self) -> None:
        starts = self.task.optimizer_starts()
        for optimizer, groups, start in zip(self.task.optimizers(), self.recipe_groups, starts):
            factor = self.schedule.lr_factor(self.step, self.step if start is None else start)
            for group, recipe in zip(optimizer.param_groups, groups):
                group["lr"] = recipe["lr"] * factor

    @torch.no_grad()
    def _validate(self) -> dict[str, float]:
        """Mean metrics over the first ``val_batches`` batches of the validation set, all processes."""
        self.task.set_training(False)
        _set_epoch(self.val_set, 0)
        totals: dict[str, float] = {}
        count = 0
        for i, batch in enumerate(self._loader(self.val_set, self.val_sampler)):
            if i >= self.schedule.val_batches:
                break
            for key, value in self.task.validation_step(self._to_device(batch)).items():
                totals[key] = totals.get(key, 0.0) + value
            count += 1
        means = self.runtime.all_mean({k: v / count for k, v in totals.items()}, weight=count)
        return {**means, **self.task.after_validation(means, self.step)}

    def _checkpoint(self) -> None:
        rng = self.runtime.gather(rng_state())
        if self.runtime.is_main:
            state = {"step": self.step, "position": {"epoch": self.position.epoch, "batch": self.position.batch},
                     "sample_order": self.sample_order, "task": self.task.state_dict(), "rng": rng,
                     "world_size": self.runtime.world_size, "precision": self.runtime.precision.name}
            folder = checkpoint_dir(self.run_dir, self.step)
            save_checkpoint(folder, self.task.networks(), state)
            prune_checkpoints(self.run_dir, self.schedule.keep_checkpoints, folder)
            if self.task.draws_samples:
                self._write_samples(self.run_dir / "samples" / f"step_{self.step:09d}.png")
        self.runtime.barrier()

    @torch.no_grad()
    def _write_samples(self, path: Path) -> None:
        self.task.set_training(False)
        batch = next(iter(self._loader(self.val_set, self.val_sampler, workers=0)))
        path.parent.mkdir(parents=True, exist_ok=True)
        self.task.write_samples(self._to_device(batch), path)

    def _loader(self, dataset: Dataset, sampler: ShardedBatchSampler, workers: int | None = None) -> DataLoader:
        workers = self.data.num_workers if workers is None else workers
        return DataLoader(dataset, batch_sampler=sampler, num_workers=workers, pin_memory=self.runtime.on_cuda)

    def _to_device(self, batch: Batch) -> Batch:
        return {k: v.to(self.runtime.device, non_blocking=True) for k, v in batch.items()}


def _hyperparameters(group: dict[str, Any]) -> dict[str, Any]:
    """A param group's settings (lr, betas, eps, weight_decay...) without its parameters."""
    return {k: v for k, v in group.items() if k != "params"}


def _apply_hyperparameters(optimizer: torch.optim.Optimizer, groups: list[dict[str, Any]]) -> None:
    """Put the recipe's settings back over those a loaded optimiser state carried: a resume under a
    new recipe (new betas) follows the new recipe, as it does for the learning rate."""
    for group, recipe in zip(optimizer.param_groups, groups):
        group.update(recipe)


def _split(batch: Batch, parts: int) -> list[Batch]:
    """Cut a batch into ``parts`` equal micro-batches along the first axis."""
    chunks = {k: v.chunk(parts) for k, v in batch.items()}
    return [{k: c[i] for k, c in chunks.items()} for i in range(parts)]


def _mean(records: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for r in records for k in r}
    return {k: sum(r[k] for r in records if k in r) / sum(1 for r in records if k in r) for k in sorted(keys)}


def _set_epoch(dataset: Dataset, epoch: int) -> None:
    """Datasets that draw per (seed, epoch, index) are told the epoch before it is iterated."""
    set_epoch = getattr(dataset, "set_epoch", None)
    if set_epoch is not None:
        set_epoch(epoch)


def _progress(total: int, initial: int, runtime: Runtime) -> Any:
    return progress_bar(show=runtime.is_main and runtime.options.progress, total=total, initial=initial, unit="step")
