"""Seconds per training step of each recipe in configs/, on this machine (synthetic batches, no data loading).

    MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=100000000000 MALLOC_TOP_PAD_=1073741824 \
        .venv/bin/python benchmarks/bench_train.py [--recipes synth_cpu synth_cpu_expert] [--steps 5] [--threads 2]
        [--set model.width=0.125 data.batch_size=4]   (to try other sizes)

One step is what the trainer runs per optimiser step: forward, losses, backward and Adam for the
recipe's global batch (and, for the generator, the discriminator's step). The generator is timed
twice: before the 0.75 rule fires (alpha = 0: no sync term) and after (the frozen expert's
forward and backward added). Random weights: the cost does not depend on their values.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import statistics
import time
from pathlib import Path
from typing import Iterator

import torch

from attnwav2lip.config import load_recipe, parse_assignments
from attnwav2lip.models import Generator, LipSyncExpert, QualityDiscriminator
from attnwav2lip.train import ExpertTrainConfig, RuntimeConfig, TrainConfig, with_overrides
from attnwav2lip.train.adversarial import Adversary
from attnwav2lip.train.expert_task import ExpertTask
from attnwav2lip.train.generator_task import GeneratorTask
from attnwav2lip.train.runtime import Runtime, start, stop
from record import Record, add_json_argument

CONFIGS = Path(__file__).resolve().parent.parent / "configs"


def generator_batch(b: int, t: int) -> dict[str, torch.Tensor]:
    return {"faces": torch.rand(b, 6, t, 96, 96), "indiv_mels": torch.randn(b, t, 1, 80, 16),
            "mel": torch.randn(b, 1, 80, 16), "gt": torch.rand(b, 3, t, 96, 96)}


def expert_batch(b: int, t: int) -> dict[str, torch.Tensor]:
    return {"faces": torch.rand(b, 3 * t, 48, 96), "mel": torch.randn(b, 1, 80, 16),
            "label": (torch.rand(b, 1) < 0.5).float()}


def seconds_per_step(task: object, batch: dict[str, torch.Tensor], steps: int, warmup: int) -> tuple[float, float]:
    """Median wall-clock and mean process-CPU seconds of one step (CPU time / threads is what an
    idle machine's wall clock would show; on a shared machine the wall clock also counts waiting)."""
    task.set_training(True)
    for step in range(warmup):  # allocator and oneDNN primitive caches
        task.train_step([batch], step)
    times = []
    cpu = time.process_time()
    for step in range(warmup, warmup + steps):
        tick = time.perf_counter()
        task.train_step([batch], step)
        times.append(time.perf_counter() - tick)
    return statistics.median(times), (time.process_time() - cpu) / steps


def bench(name: str, steps: int, warmup: int, assignments: list[str], threads: int
          ) -> list[tuple[str, int, int, float, tuple[float, float]]]:
    """(variant, global batch, threads, width, (wall, CPU) seconds per step) rows of one recipe."""
    cls = ExpertTrainConfig if "expert" in name else TrainConfig
    overrides = parse_assignments(cls, assignments)  # typed as the CLI's --set
    if threads:
        overrides["runtime.threads"] = threads  # the recipe's runtime would reset torch's threads
    if cls is ExpertTrainConfig:
        config = with_overrides(load_recipe(ExpertTrainConfig, CONFIGS / f"{name}.yaml"), overrides)
        with running(config.runtime) as runtime:
            task = ExpertTask(LipSyncExpert(config.model), config.optim, runtime)
            batch = expert_batch(config.data.batch_size, config.data.sampling.window.window)
            return [(name, config.data.batch_size, torch.get_num_threads(), config.model.width,
                     seconds_per_step(task, batch, steps, warmup))]
    rows = []
    base = with_overrides(load_recipe(TrainConfig, CONFIGS / f"{name}.yaml"), overrides)
    batch = generator_batch(base.data.batch_size, base.data.sampling.window.window)
    for label, schedule in (("alpha=0", "rule"), ("alpha on", "fixed")):
        config = with_overrides(base, {"sync.schedule": schedule})
        with running(config.runtime) as runtime:
            adversary = Adversary(QualityDiscriminator(config.gan.model), config.gan, runtime) if config.gan.enabled else None
            task = GeneratorTask(Generator(config.model), LipSyncExpert(width=config.model.width), adversary, config, runtime)
            rows.append((f"{name} ({label})", config.data.batch_size, torch.get_num_threads(), config.model.width,
                         seconds_per_step(task, batch, steps, warmup)))
    return rows


@contextlib.contextmanager
def running(options: RuntimeConfig) -> Iterator[Runtime]:
    """The recipe's runtime on the CPU, for one timing only: its threads do not leak into the next recipe's."""
    runtime = start(dataclasses.replace(options, device="cpu"))
    try:
        yield runtime
    finally:
        stop(runtime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=["synth_cpu_expert", "synth_cpu"])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per recipe (median reported)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=0,
                        help="torch threads, overriding the recipes' runtime.threads (0: keep the recipes')")
    parser.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides, e.g. model.width=0.125")
    add_json_argument(parser)
    args = parser.parse_args()
    record = Record(__file__, args)
    print(f"torch {torch.__version__}, CPU")
    print(f"{'recipe':34s} {'batch':>5s} {'width':>5s} {'threads':>7s} {'wall s/step':>11s} {'CPU s/step':>10s} {'windows/s':>9s}")
    for name in args.recipes:
        for variant, batch, threads, width, (wall, cpu) in bench(name, args.steps, args.warmup, args.set, args.threads):
            print(f"{variant:34s} {batch:5d} {width:5.2f} {threads:7d} {wall:11.3f} {cpu:10.3f} "
                  f"{batch / wall:9.1f}", flush=True)
            record.add("seconds_per_step", recipe=variant, batch=batch, width=width, threads=threads, wall=wall, cpu=cpu,
                       windows_per_s=batch / wall)
    record.save()


if __name__ == "__main__":
    main()
