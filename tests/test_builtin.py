"""The built-in models: float16 storage, export from training runs, the size limit, loading, the default generator."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
import torch

from attnwav2lip import builtin
from attnwav2lip.checkpoints import load_model, save_model
from attnwav2lip.cli import main
from attnwav2lip.errors import CheckpointError, ConfigError
from attnwav2lip.models import Generator
from builtin_assets import tiny_assets, tiny_sources


@pytest.fixture(scope="module")
def sources(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return tiny_sources(tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def assets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_assets(tmp_path_factory.mktemp("assets"))


def _dtypes(path: Path) -> dict[str, str]:
    """Tensor name -> safetensors dtype, read from the file's own header."""
    with path.open("rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length))
    return {name: entry["dtype"] for name, entry in header.items() if name != "__metadata__"}


def test_half_storage_round_trip(tmp_path: Path) -> None:
    model = Generator(width=0.125).eval()
    save_model(model, tmp_path / "g16.safetensors", half=True)
    save_model(model, tmp_path / "g32.safetensors")
    dtypes = _dtypes(tmp_path / "g16.safetensors")
    params = {name for name, _ in model.named_parameters()}
    assert {dtypes[n] for n in params} == {"F16"}
    assert dtypes["face_encoder_blocks.0.0.conv_block.1.running_var"] == "F32"  # buffers keep their dtype
    assert (tmp_path / "g16.safetensors").stat().st_size < 0.55 * (tmp_path / "g32.safetensors").stat().st_size

    loaded = load_model(tmp_path / "g16.safetensors", kind="generator")
    assert all(t.dtype == torch.float32 for t in loaded.state_dict().values() if t.is_floating_point())
    for name, tensor in model.state_dict().items():
        expected = tensor.half().float() if name in params else tensor
        assert torch.equal(loaded.state_dict()[name], expected), name
    mels, faces = torch.rand(2, 1, 80, 16), torch.rand(2, 6, 96, 96)
    with torch.no_grad():
        assert torch.allclose(loaded(mels, faces), model(mels, faces), atol=2e-3)


@pytest.mark.slow
def test_export_writes_three_half_files_from_runs_and_files(sources: dict[str, Path], tmp_path: Path) -> None:
    from attnwav2lip.train.state import checkpoint_dir, save_checkpoint

    run = tmp_path / "expert_run"  # a run folder: its latest checkpoint's expert.safetensors is used
    save_checkpoint(checkpoint_dir(run, 7), {"expert": load_model(sources["expert"])}, {"step": 7})
    out = tmp_path / "assets"
    assets = builtin.export_builtin(sources["generator"], run, sources["evaluator"], out)

    assert sorted(p.name for p in out.iterdir()) == ["evaluator.safetensors", "expert.safetensors", "generator.safetensors"]
    assert assets["expert"].source == checkpoint_dir(run, 7) / "expert.safetensors"
    for kind, asset in assets.items():
        assert asset.path == out / f"{kind}.safetensors" and asset.bytes == asset.path.stat().st_size
        assert "F16" in _dtypes(asset.path).values()
        original, shipped = load_model(sources[kind]), load_model(asset.path, kind=kind)
        assert asset.parameters == sum(p.numel() for p in original.parameters())
        first = next(iter(original.state_dict()))
        assert torch.equal(shipped.state_dict()[first], original.state_dict()[first].half().float())

    before = {kind: asset.path.read_bytes() for kind, asset in assets.items()}
    builtin.export_builtin(sources["generator"], run, sources["evaluator"], out)  # the same models again
    assert {kind: asset.path.read_bytes() for kind, asset in assets.items()} == before


@pytest.mark.slow
def test_export_refuses_over_the_size_limit_and_leaves_the_folder_alone(sources: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "assets"
    out.mkdir()
    (out / "MODEL_CARD.md").write_text("card")
    with pytest.raises(CheckpointError, match=r"over the 0\.1 MB limit"):
        builtin.export_builtin(sources["generator"], sources["expert"], sources["evaluator"], out, max_bytes=100_000)
    assert [p.name for p in out.iterdir()] == ["MODEL_CARD.md"]  # no model, no staging folder left


def test_export_refuses_a_source_of_the_wrong_kind(sources: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a generator"):
        builtin.export_builtin(sources["expert"], sources["expert"], sources["evaluator"], tmp_path)
    with pytest.raises(CheckpointError, match="source not found"):
        builtin.export_builtin(tmp_path / "nope", sources["expert"], sources["evaluator"], tmp_path)


def test_missing_assets_are_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from attnwav2lip.lipsync import LipSyncer

    monkeypatch.setenv(builtin.ASSETS_ENV, str(tmp_path))
    with pytest.raises(CheckpointError, match="built-in generator not found: .*no built-in models"):
        builtin.builtin_path("generator")
    with pytest.raises(CheckpointError, match="built-in generator not found"):
        LipSyncer()
    with pytest.raises(ConfigError, match="kind must be one of"):
        builtin.builtin_path("discriminator")


def test_default_generator_is_the_shipped_one(assets: Path, monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    from attnwav2lip.lipsync import LipSyncer, default_generator

    monkeypatch.setenv(builtin.ASSETS_ENV, str(assets))
    assert builtin.builtin_path("evaluator") == assets / "evaluator.safetensors"
    with caplog.at_level("INFO", logger="attnwav2lip"):
        generator = default_generator()
    assert caplog.messages == ["no --checkpoint given; using the built-in AttnWav2Lip width 0.125 "
                               "trained on SynthTalk (synthetic faces only; see MODEL_CARD.md)"]
    shipped = load_model(assets / "generator.safetensors")
    assert all(torch.equal(a, b) for a, b in zip(generator.state_dict().values(), shipped.state_dict().values()))
    assert not generator.training
    syncer = LipSyncer()
    assert torch.equal(syncer.generator.state_dict()["output_block.1.bias"], shipped.state_dict()["output_block.1.bias"])
    assert builtin.load_builtin("expert").kind == "expert" and builtin.load_builtin("evaluator").kind == "evaluator"


def test_build_builtin_command(sources: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["build-builtin", "--generator", str(sources["generator"]), "--expert", str(sources["expert"]),
            "--evaluator", str(sources["evaluator"]), "--out", str(tmp_path)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "generator" in out and "total" in out and (tmp_path / "generator.safetensors").is_file()


def test_the_package_ships_a_model_card() -> None:
    card = (builtin.PACKAGE_ASSETS / builtin.MODEL_CARD).read_text(encoding="utf-8")
    assert "synthetic faces only" in card.lower()
