"""The one device choice for every job: inference, training, scoring.

``auto`` picks CUDA (this process's local rank under torchrun), then Apple's MPS, then the CPU.
An explicit device is used as given (``cpu``, ``cuda``, ``cuda:N``, ``mps``) and is an error when
this machine lacks it, rather than silently running elsewhere.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    import torch

DEVICE_PATTERN = re.compile(r"auto|cpu|mps|cuda(:\d+)?")
DEVICE_NAMES = "auto | cpu | cuda | cuda:N | mps"


def check_device_name(name: str) -> str:
    """``name`` when it names a device this package can pick (without importing torch)."""
    if not isinstance(name, str) or not DEVICE_PATTERN.fullmatch(name):
        raise ConfigError(f"device must be one of {DEVICE_NAMES}, got {name!r}")
    return name


def pick_device(name: str = "auto", local_rank: int = 0) -> "torch.device":
    """The torch device ``name`` stands for here; ``local_rank`` picks the GPU of ``cuda`` and ``auto``."""
    import torch

    check_device_name(name)
    mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", local_rank)
        return torch.device("mps" if mps else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError(f"device {name!r} is not available on this machine (no CUDA)")
        index = local_rank if device.index is None else device.index
        if index >= torch.cuda.device_count():
            raise ConfigError(f"device {name!r} is not available: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
        return torch.device("cuda", index)
    if device.type == "mps" and not mps:
        raise ConfigError(f"device {name!r} is not available on this machine")
    return device
