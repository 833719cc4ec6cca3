"""Where a run executes: device, process group, and how trained modules are wrapped.

Under ``torchrun`` (RANK / WORLD_SIZE / LOCAL_RANK in the environment) the process group is
initialised here (NCCL on CUDA, gloo on CPU); otherwise the run is a single process. Everything
that differs between one process and many lives in this module, so the tasks and the loop read
the same either way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
from typing import Iterator

import torch
import torch.distributed as dist
from torch import nn

from ..devices import pick_device
from ..precision import PrecisionChoice, autocast, memory_format, resolve_precision, time_both
from .config import RuntimeConfig

log = logging.getLogger(__name__)

UNRECORDED = "unrecorded"  # the precision of a checkpoint that predates recording it


@dataclasses.dataclass(frozen=True)
class Runtime:
    """One process's view of the run: its rank, the world size, its device and the options."""

    rank: int
    world_size: int
    device: torch.device
    options: RuntimeConfig
    precision: PrecisionChoice = PrecisionChoice("fp32", "default")
    # torch's process-wide threads and determinism before ``start``, put back by ``stop``
    previous_torch: tuple[int, bool] = (0, False)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    @property
    def on_cuda(self) -> bool:
        return self.device.type == "cuda"

    def prepare(self, module: nn.Module) -> nn.Module:
        """Move a *trained* module to the device; under DDP return it wrapped.

        DDP broadcasts rank 0's parameters and, before every forward, its buffers (BatchNorm
        running statistics): all processes keep identical weights, and the running statistics are
        rank 0's. With ``sync_batchnorm`` BatchNorm layers normalise over the global batch instead.
        """
        module = self.place(module)
        if not self.distributed:
            return module
        if self.options.sync_batchnorm:
            module = nn.SyncBatchNorm.convert_sync_batchnorm(module)
        ids = [self.device.index] if self.on_cuda else None
        return nn.parallel.DistributedDataParallel(module, device_ids=ids)

    def place(self, module: nn.Module) -> nn.Module:
        """Move a module to the device (channels_last under bf16)."""
        return memory_format(module.to(self.device), self.precision)

    def autocast(self) -> contextlib.AbstractContextManager[None]:
        """bfloat16 autocast under a bf16 precision (parameters, losses and optimiser states stay fp32)."""
        return autocast(self.device, self.precision)

    def all_mean(self, values: dict[str, float], weight: float = 1.0) -> dict[str, float]:
        """Weighted mean of per-process metrics over all processes (identity in one process)."""
        if not self.distributed or not values:
            return dict(values)
        keys = sorted(values)
        packed = torch.tensor([values[k] * weight for k in keys] + [weight], dtype=torch.float64, device=self.device)
        dist.all_reduce(packed)
        total = packed[-1].item()
        return {k: packed[i].item() / total for i, k in enumerate(keys)}

    def gather(self, obj: object) -> list[object]:
        """Every process's ``obj``, indexed by rank."""
        if not self.distributed:
            return [obj]
        out: list[object] = [None] * self.world_size
        dist.all_gather_object(out, obj)
        return out

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()


def unwrap(module: nn.Module) -> nn.Module:
    """The network inside a DDP wrapper (itself otherwise)."""
    return module.module if isinstance(module, nn.parallel.DistributedDataParallel) else module


def set_training(module: nn.Module, mode: bool, *, freeze_bn: bool = False) -> None:
    """``module.train(mode)``, with every BatchNorm kept in eval mode when ``freeze_bn``."""
    module.train(mode)
    if mode and freeze_bn:
        for layer in module.modules():
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                layer.eval()


def no_sync(module: nn.Module, last: bool) -> contextlib.AbstractContextManager[None]:
    """Skip DDP's gradient all-reduce on all but the last micro-batch of an accumulated step."""
    if last or not isinstance(module, nn.parallel.DistributedDataParallel):
        return contextlib.nullcontext()
    return module.no_sync()


@contextlib.contextmanager
def frozen(module: nn.Module) -> Iterator[nn.Module]:
    """Use a trained module as a fixed function: no gradients for its parameters meanwhile.

    Gradients still flow *through* it to its input (the generator's adversarial loss goes
    through the discriminator), but none accumulate on its parameters, and DDP's hooks on them
    never fire outside the module's own step.
    """
    params = [p for p in module.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield unwrap(module)
    finally:
        for p in params:
            p.requires_grad_(True)


def start(options: RuntimeConfig, recorded_precision: str | None = None) -> Runtime:
    """Join the process group if launched by torchrun, pick the device, seed and configure torch.

    ``recorded_precision``: the precision a resumed checkpoint trained in ("fp32" or "bf16"); it
    is kept even where ``options.precision`` would now resolve otherwise. ``UNRECORDED`` marks a
    checkpoint from before precisions were recorded: those trained in fp32 on CPUs.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(options.device, local_rank)
    if world_size > 1 and not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, rank=rank, world_size=world_size)
    previous = (torch.get_num_threads(), torch.are_deterministic_algorithms_enabled())
    if options.deterministic:
        torch.use_deterministic_algorithms(True)
    if options.threads > 0:
        torch.set_num_threads(options.threads)
    if recorded_precision == UNRECORDED and device.type == "cpu":
        precision = PrecisionChoice("fp32", "a CPU checkpoint from before precisions were recorded")
    elif recorded_precision not in (None, UNRECORDED):
        precision = PrecisionChoice(recorded_precision, "recorded in the resumed checkpoint")
    else:
        precision = resolve_precision(options.precision, device, probe=lambda: _probe_training(device))
    if rank == 0:
        log.info("precision: %s", precision)
        log.debug("device %s, %d process(es), %d thread(s) each", device, world_size, torch.get_num_threads())
    torch.manual_seed(options.seed)
    return Runtime(rank=rank, world_size=world_size, device=device, options=options, precision=precision,
                   previous_torch=previous)


def _probe_training(device: torch.device) -> tuple[float, float]:
    """Seconds of a few training steps of a small conv stack at the networks' 96-px scale, in fp32
    and in bf16 (the probe :func:`resolve_precision` asks for; about a second on a CPU). Torch's
    global random state is left as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        net = nn.Sequential(nn.Conv2d(6, 32, 7, padding=3), nn.BatchNorm2d(32), nn.ReLU(),
                            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.BatchNorm2d(64), nn.ReLU(),
                            nn.Conv2d(64, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU()).to(device)
        x = torch.rand(10, 6, 96, 96, device=device)

    def step(choice: PrecisionChoice) -> None:
        model = memory_format(net, choice)
        with autocast(device, choice):
            loss = model(x).float().mean()
        loss.backward()

    return time_both(step)


def stop(runtime: Runtime) -> None:
    """Leave the process group (if this module joined one) and put torch's threads and determinism
    back as they were, so a training call from a notebook or a script does not change what follows."""
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()
    threads, deterministic = runtime.previous_torch
    if threads > 0:
        torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(deterministic)
