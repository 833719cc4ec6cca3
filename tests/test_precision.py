"""The precision policy: auto, fp32 and bf16 on CPUs with and without native bf16, and runs that record it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from attnwav2lip.config import from_dict
from attnwav2lip.errors import ConfigError
from attnwav2lip.precision import (NATIVE_BF16_ENV, PrecisionChoice, autocast, cpu_flags, native_bf16,
                                   probe_forward, resolve_precision)
from attnwav2lip.train import RuntimeConfig


@pytest.fixture
def native(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NATIVE_BF16_ENV, "1")


@pytest.fixture
def emulated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(NATIVE_BF16_ENV, "0")


def test_auto_falls_back_to_fp32_without_native_bf16_and_says_why(emulated: None) -> None:
    choice = resolve_precision("auto", "cpu", probe=lambda: pytest.fail("no probe without native bf16"))
    assert choice.name == "fp32"
    assert NATIVE_BF16_ENV in choice.reason and str(choice).startswith("fp32 (auto")


def test_auto_takes_bf16_only_where_the_probe_measures_it_faster(native: None) -> None:
    assert resolve_precision("auto", "cpu", probe=lambda: (1.0, 0.5)).name == "bf16"
    slower = resolve_precision("auto", "cpu", probe=lambda: (1.0, 0.97))
    assert slower.name == "fp32" and "probe" in slower.reason


def test_explicit_choices_are_kept_and_bf16_without_hardware_warns(emulated: None, caplog: pytest.LogCaptureFixture) -> None:
    assert resolve_precision("fp32", "cpu").name == "fp32"
    with caplog.at_level(logging.WARNING, logger="attnwav2lip"):
        assert resolve_precision("bf16", "cpu").name == "bf16"
    assert "slower" in caplog.text


def test_auto_is_bf16_on_cuda_as_before(emulated: None) -> None:
    assert resolve_precision("auto", "cuda").name == "bf16"


def test_unknown_precisions_and_overrides_are_config_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="precision"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ConfigError, match="precision"):
        RuntimeConfig(precision="half")  # type: ignore[arg-type]
    monkeypatch.setenv(NATIVE_BF16_ENV, "yes")
    with pytest.raises(ConfigError, match=NATIVE_BF16_ENV):
        native_bf16()


def test_cpu_flags_are_read_from_cpuinfo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    info = tmp_path / "cpuinfo"
    info.write_text("processor\t: 0\nflags\t\t: fpu avx2 amx_bf16 avx512_bf16\n")
    assert {"amx_bf16", "avx512_bf16"} <= cpu_flags(info)
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_probe_times_the_callers_network_and_puts_it_back() -> None:
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU()).train()
    fp32_s, bf16_s = probe_forward(net, (torch.rand(2, 3, 16, 16),), repeats=1)()
    assert fp32_s > 0 and bf16_s > 0
    assert net.training and net[0].weight.is_contiguous()


def test_bf16_autocast_runs_convolutions_in_bf16_and_fp32_does_not() -> None:
    conv, x = torch.nn.Conv2d(3, 4, 3), torch.rand(1, 3, 8, 8)
    with autocast("cpu", PrecisionChoice("bf16", "test")):
        assert conv(x).dtype == torch.bfloat16
    with autocast("cpu", PrecisionChoice("fp32", "test")):
        assert conv(x).dtype == torch.float32


def test_recipes_with_the_old_amp_keys_still_load(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="attnwav2lip"):
        assert from_dict(RuntimeConfig, {"amp": False, "channels_last": True}).precision == "fp32"
        assert from_dict(RuntimeConfig, {"amp": True}).precision == "auto"
    assert caplog.text.count("runtime.precision") == 2
    assert json.dumps(from_dict(RuntimeConfig, {}).precision) == '"auto"'
