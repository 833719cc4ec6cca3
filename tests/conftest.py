"""Shared fixtures. Tests run on 2 CPU cores: keep torch to the cores we have."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "2")
# precision "auto" resolves to fp32 in every test, on every CPU, unless a test forces native bf16
# (test_precision.py): results do not depend on the machine, and no run pays for the start-up probe
os.environ["ATTNWAV2LIP_NATIVE_BF16"] = "0"


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> Iterator[None]:
    """Every test network is tiny: a second intra-op thread gains nothing, and on a busy 2-core
    machine OpenMP threads waiting for a core made them 10x slower."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _seeded() -> None:
    """Every test starts from the same random state, so failures reproduce."""
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        return
    torch.manual_seed(0)


@pytest.fixture(scope="module")
def expert_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random width-0.0625 lip-sync expert saved in the project's format (the trainers' frozen expert)."""
    import torch

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import LipSyncExpert

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("expert") / "expert.safetensors"
    save_model(LipSyncExpert(width=0.0625), path)
    return path
