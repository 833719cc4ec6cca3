"""ONNX export: the exported generator matches torch at any batch size; the command; missing dependencies."""

from __future__ import annotations

import contextlib
import io
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from attnwav2lip import cli
from attnwav2lip.errors import CheckpointError, DependencyError
from attnwav2lip.export import OnnxGenerator, export_onnx, max_abs_difference


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[nn.Module, Path, str]:
    """A tiny random AttnWav2Lip saved as a checkpoint and exported by the command (dynamic batch)."""
    from attnwav2lip.checkpoints import load_model, save_model
    from attnwav2lip.models import Generator

    folder = tmp_path_factory.mktemp("export")
    checkpoint, onnx_path = folder / "g.safetensors", folder / "g.onnx"
    save_model(Generator(width=0.125, attention="both"), checkpoint)
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(["export", "--checkpoint", str(checkpoint), "-o", str(onnx_path)])
    assert code == 0
    return load_model(checkpoint), onnx_path, stdout.getvalue()


@pytest.mark.slow
def test_command_reports_a_match(exported: tuple[nn.Module, Path, str]) -> None:
    _, onnx_path, stdout = exported
    lines = [line for line in stdout.splitlines() if line.startswith("batch ")]
    assert [line.split(":")[0] for line in lines] == ["batch 1", "batch 3"]
    assert all(float(line.rsplit("=", 1)[1]) <= 1e-4 for line in lines)
    assert sorted(p.name for p in onnx_path.parent.iterdir()) == ["g.onnx", "g.safetensors"]  # one file, no temporaries


@pytest.mark.slow
def test_graph_names_and_dynamic_batch(exported: tuple[nn.Module, Path, str]) -> None:
    import onnx

    _, onnx_path, _ = exported
    graph = onnx.load(str(onnx_path)).graph
    assert [i.name for i in graph.input] == ["mels", "faces"]
    assert [o.name for o in graph.output] == ["generated"]
    assert graph.input[1].type.tensor_type.shape.dim[0].dim_param  # symbolic batch axis
    assert OnnxGenerator(onnx_path).batch_size is None


@pytest.mark.slow
def test_generator_config_travels_in_the_file(exported: tuple[nn.Module, Path, str]) -> None:
    generator, onnx_path, _ = exported
    assert OnnxGenerator(onnx_path).config == generator.config  # mel_offset, attention, width...


@pytest.mark.slow
@pytest.mark.parametrize("batch", [1, 3])
def test_onnx_matches_torch(exported: tuple[nn.Module, Path, str], batch: int) -> None:
    generator, onnx_path, _ = exported
    session = OnnxGenerator(onnx_path)
    assert max_abs_difference(generator, session, batch, seed=batch) <= 1e-4
    # numpy in, torch out, the same numbers as torch in
    mels = np.random.default_rng(batch).uniform(-4, 4, (batch, 1, 80, 16)).astype(np.float32)
    faces = np.random.default_rng(batch).random((batch, 6, 96, 96), dtype=np.float32)
    out = session(mels, faces)
    assert isinstance(out, torch.Tensor) and out.shape == (batch, 3, 96, 96) and out.dtype == torch.float32
    torch.testing.assert_close(out, session(torch.from_numpy(mels), torch.from_numpy(faces)), rtol=0, atol=0)
    with torch.no_grad():
        torch.testing.assert_close(out, generator(torch.from_numpy(mels), torch.from_numpy(faces)), rtol=0, atol=1e-4)


class _Blend(nn.Module):
    """A small network with the generator's input/output contract (a real export, seconds not tens)."""

    def __init__(self) -> None:
        super().__init__()
        self.face = nn.Conv2d(6, 3, 3, padding=1)
        self.audio = nn.Linear(80 * 16, 3)

    def forward(self, mels: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.face(faces) + self.audio(mels.flatten(1))[:, :, None, None])


@pytest.mark.slow
def test_fixed_batch_export_accepts_any_batch(tmp_path: Path) -> None:
    model = _Blend().eval()
    path = export_onnx(model, tmp_path / "fixed.onnx", batch=2)
    session = OnnxGenerator(path)
    assert session.batch_size == 2 and session.config is None  # no attnwav2lip config to store
    for n in (1, 2, 5):  # chunks of 2, the last one padded
        assert max_abs_difference(model, session, n) <= 1e-5
    assert session(np.zeros((0, 1, 80, 16)), np.zeros((0, 6, 96, 96))).shape == (0, 3, 96, 96)


def test_missing_onnxruntime_is_a_dependency_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    with pytest.raises(DependencyError, match=r"attnwav2lip\[export\]"):
        OnnxGenerator(tmp_path / "any.onnx")


def test_missing_onnx_makes_the_command_exit_2(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "onnxscript", None)
    code = cli.main(["export", "--checkpoint", str(tmp_path / "g.safetensors"), "-o", str(tmp_path / "g.onnx")])
    assert code == 2
    assert "onnxscript" in capsys.readouterr().err


def test_unreadable_model_file_is_a_checkpoint_error(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not found"):
        OnnxGenerator(tmp_path / "missing.onnx")
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"not a model")
    with pytest.raises(CheckpointError, match="not a loadable ONNX model"):
        OnnxGenerator(junk)


def test_failed_verification_leaves_nothing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The export and onnxruntime are stubbed: only the keep-or-discard logic runs (fast)."""
    from attnwav2lip import export
    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models import Generator

    save_model(Generator(width=0.0625), tmp_path / "g.safetensors")
    monkeypatch.setattr(export, "export_onnx", lambda generator, path, **_: Path(path).write_bytes(b"graph"))
    monkeypatch.setattr(export, "OnnxGenerator", lambda path: None)
    monkeypatch.setattr(export, "max_abs_difference", lambda generator, session, n: 0.5)
    code = cli.main(["export", "--checkpoint", str(tmp_path / "g.safetensors"), "-o", str(tmp_path / "g.onnx")])
    assert code == 1 and "not written" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["g.safetensors"]  # no model, no temporary
