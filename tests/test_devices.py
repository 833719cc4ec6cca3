"""One device choice for inference, training and scoring (attnwav2lip.devices)."""

from __future__ import annotations

import pytest
import torch

from attnwav2lip.devices import check_device_name, pick_device
from attnwav2lip.errors import ConfigError
from attnwav2lip.lipsync import SyncOptions
from attnwav2lip.train import RuntimeConfig


@pytest.mark.parametrize("name", ["auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps"])
def test_every_job_accepts_the_same_names(name: str) -> None:
    assert check_device_name(name) == name
    assert SyncOptions(device=name).device == RuntimeConfig(device=name).device == name


@pytest.mark.parametrize("name", ["gpu", "cuda:", "cuda:x", "CPU", ""])
def test_unknown_names_are_config_errors_everywhere(name: str) -> None:
    for make in (check_device_name, lambda n: SyncOptions(device=n), lambda n: RuntimeConfig(device=n)):
        with pytest.raises(ConfigError, match="device"):
            make(name)


def test_cpu_and_auto_on_a_machine_without_accelerators() -> None:
    assert pick_device("cpu") == torch.device("cpu")
    if not torch.cuda.is_available() and not torch.backends.mps.is_available():
        assert pick_device("auto") == torch.device("cpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("name", ["cuda", "cuda:1"])
def test_missing_cuda_is_a_config_error(name: str) -> None:
    with pytest.raises(ConfigError, match="not available"):
        pick_device(name)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_takes_the_local_rank_unless_an_index_is_given() -> None:
    assert pick_device("cuda", local_rank=0) == torch.device("cuda", 0)
    assert pick_device("cuda:0", local_rank=3) == torch.device("cuda", 0)
    with pytest.raises(ConfigError, match="not available"):
        pick_device(f"cuda:{torch.cuda.device_count()}")
