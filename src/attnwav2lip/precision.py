"""One numeric-precision policy for training and inference: ``auto``, ``fp32`` or ``bf16``.

``bf16`` means bfloat16 autocast with channels_last modules: on CUDA, and on CPUs with native
bfloat16 (Intel AMX or AVX512-BF16, where oneDNN runs bf16 convolutions in hardware) it is 1.5-3x
faster than float32. On CPUs without those instructions (AVX2 only) the same kernels are emulated
and run tens of times slower, so ``auto`` on a CPU asks the hardware first (the kernel's CPU
flags, as ``lscpu`` shows them) and then a short probe on the caller's own network, and keeps
float32 unless bf16 is measured faster. On CUDA ``auto`` is bf16. Losses, BatchNorm statistics
and optimiser states stay float32 under autocast; scoring (LSE, ground-truth metrics) always runs
in float32 so that scores do not depend on the machine.

``ATTNWAV2LIP_NATIVE_BF16=0|1`` overrides the CPU-flag check (tests force either path with it on
any CPU); it never turns an explicit ``fp32`` or ``bf16`` into the other.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import platform
import time
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Literal, get_args

from .errors import ConfigError

if TYPE_CHECKING:
    import torch
    from torch import nn

log = logging.getLogger(__name__)

Precision = Literal["auto", "fp32", "bf16"]
PRECISIONS: tuple[str, ...] = get_args(Precision)
NATIVE_BF16_ENV = "ATTNWAV2LIP_NATIVE_BF16"
# CPU flags (Linux /proc/cpuinfo names) under which oneDNN has bf16 convolution kernels in hardware
NATIVE_BF16_FLAGS = ("amx_bf16", "avx512_bf16")
# auto keeps fp32 unless bf16 takes at most this share of fp32's time (noise and short probes)
PROBE_MARGIN = 0.9


@dataclasses.dataclass(frozen=True)
class PrecisionChoice:
    """A resolved precision and the reason it was chosen (printed and recorded with runs and reports)."""

    name: Literal["fp32", "bf16", "fp16"]  # fp16: ``sync``'s CUDA default (the generator cast to half)
    reason: str

    @property
    def bf16(self) -> bool:
        return self.name == "bf16"

    def __str__(self) -> str:
        return f"{self.name} ({self.reason})"


def check_precision(name: str) -> str:
    if name not in PRECISIONS:
        raise ConfigError(f"precision must be one of {', '.join(PRECISIONS)}, got {name!r}")
    return name


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as the kernel reports them (empty where unknown, e.g. not Linux)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_name(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    try:
        for line in cpuinfo.read_text(errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name":
                return value.strip()
    except OSError:
        pass

    return platform.processor() or platform.machine()


def native_bf16() -> tuple[bool, str]:
    """Whether this CPU has bf16 in hardware, and the evidence (the env override or its flags)."""
    forced = os.environ.get(NATIVE_BF16_ENV)
    if forced is not None:
        if forced not in ("0", "1"):
            raise ConfigError(f"{NATIVE_BF16_ENV} must be 0 or 1, got {forced!r}")
        return forced == "1", f"{NATIVE_BF16_ENV}={forced}"
    found = [f for f in NATIVE_BF16_FLAGS if f in cpu_flags()]
    if found:
        return True, "CPU flags " + ", ".join(found)
    return False, "no " + " or ".join(NATIVE_BF16_FLAGS) + " in the CPU flags"


def resolve_precision(requested: str, device: "torch.device | str",
                      probe: Callable[[], tuple[float, float]] | None = None) -> PrecisionChoice:
    """The precision to run ``requested`` with on ``device``.

    ``probe`` times the caller's own work once in each precision and returns (fp32 seconds, bf16
    seconds); ``auto`` on a CPU with native bf16 keeps bf16 only when it measures faster. Without a
    probe, native bf16 alone decides.
    """
    import torch

    check_precision(requested)
    device = torch.device(device)
    if requested == "fp32":
        return PrecisionChoice("fp32", "asked for")
    if device.type == "cuda":
        return PrecisionChoice("bf16", "asked for" if requested == "bf16" else "auto on CUDA")
    if device.type != "cpu":
        if requested == "bf16":
            raise ConfigError(f"precision bf16 is supported on CPU and CUDA, not on {device.type}")
        return PrecisionChoice("fp32", f"auto on {device.type}")
    native, evidence = native_bf16()
    if requested == "bf16":
        if not native:
            log.warning("precision bf16 on a CPU without native bf16 (%s): expect it to be many times slower "
                        "than fp32", evidence)
        return PrecisionChoice("bf16", "asked for")
    if not native:
        return PrecisionChoice("fp32", f"auto: {evidence}")
    if probe is None:
        return PrecisionChoice("bf16", f"auto: {evidence}")
    fp32_s, bf16_s = probe()
    ratio = bf16_s / fp32_s
    if ratio <= PROBE_MARGIN:
        return PrecisionChoice("bf16", f"auto: {evidence}; probe {fp32_s / bf16_s:.2f}x faster than fp32")
    return PrecisionChoice("fp32", f"auto: {evidence}, but the probe measured bf16 at {ratio:.2f}x fp32's time")


def autocast(device: "torch.device | str", choice: PrecisionChoice) -> contextlib.AbstractContextManager[None]:
    """bfloat16 autocast on ``device`` under a bf16 choice; a no-op under fp32."""
    import torch

    if not choice.bf16:
        return contextlib.nullcontext()
    return torch.autocast(torch.device(device).type, dtype=torch.bfloat16)


def memory_format(module: "nn.Module", choice: PrecisionChoice) -> "nn.Module":
    """``module`` in channels_last under bf16 (oneDNN's and cuDNN's fast layout there); in the default
    contiguous (NCHW) layout otherwise, where channels_last measured slower on CPUs."""
    import torch

    return module.to(memory_format=torch.channels_last if choice.bf16 else torch.contiguous_format)


def time_both(run: Callable[[PrecisionChoice], None], repeats: int = 2) -> tuple[float, float]:
    """Best-of-``repeats`` seconds of ``run`` under fp32 and under bf16, after one untimed call each
    (oneDNN builds its kernels on the first). ``run`` must put its module in the right memory format."""
    timings = []
    for choice in (PrecisionChoice("fp32", "probe"), PrecisionChoice("bf16", "probe")):
        run(choice)
        best = float("inf")
        for _ in range(repeats):
            tick = time.perf_counter()
            run(choice)
            best = min(best, time.perf_counter() - tick)
        timings.append(best)
    return timings[0], timings[1]


def probe_forward(module: "nn.Module", inputs: tuple["torch.Tensor", ...], repeats: int = 2) -> Callable[[], tuple[float, float]]:
    """A probe for :func:`resolve_precision`: ``module``'s forward on ``inputs`` in each precision.

    The module is put back in its own memory format and mode afterwards.
    """
    import torch

    def probe() -> tuple[float, float]:
        was_training = module.training
        module.eval()
        try:
            def run(choice: PrecisionChoice) -> None:
                memory_format(module, choice)
                with torch.no_grad(), autocast(inputs[0].device, choice):
                    module(*inputs)

            return time_both(run, repeats)
        finally:
            module.to(memory_format=torch.contiguous_format)
            module.train(was_training)

    return probe
