"""ONNX export of the generator and an onnxruntime stand-in with the generator's call contract.

Users asked for ONNX and CPU speed-ups (a recurring request on Wav2Lip's issue tracker). ``export_onnx`` writes a
graph with inputs ``mels`` (N, 1, 80, 16) and ``faces`` (N, 6, 96, 96) and output ``generated``
(N, 3, 96, 96); ``OnnxGenerator`` runs it with onnxruntime and can replace the torch generator
in code that only calls ``generator(mels, faces)``. It is not an ``nn.Module``, so ``LipSyncer``
(which needs a torch ``Generator``) does not accept it: ``sync`` does not run ONNX. The
generator's config travels in the file's metadata, so ``OnnxGenerator.config.mel_offset`` is
the offset the weights were trained with.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .checkpoints import load_model
from .config import from_dict, to_dict
from .errors import CheckpointError, ConfigError, DependencyError
from .eval_mode import eval_mode
from .fileio import atomic_path
from .outputs import check_output_file

if TYPE_CHECKING:
    import torch

    from .models import GeneratorConfig

INPUT_NAMES = ("mels", "faces")
OUTPUT_NAME = "generated"
DEFAULT_OPSET = 18
MEL_SHAPE = (1, 80, 16)
FACE_SHAPE = (6, 96, 96)
CONFIG_KEY = "attnwav2lip.generator_config"  # ONNX metadata: the generator's config as JSON
TOLERANCE = 1e-4  # max |torch - onnxruntime| accepted; float32 exports land near 1e-7


def require(*modules: str) -> None:
    """Import the optional export dependencies, or raise a DependencyError naming the extra."""
    missing = []
    for name in modules:
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise DependencyError(
            f"ONNX export needs {', '.join(missing)}: pip install 'attnwav2lip[export]'"
        )


def export_onnx(
    generator: torch.nn.Module,
    path: str | os.PathLike[str],
    batch: Literal["dynamic"] | int = "dynamic",
    opset: int = DEFAULT_OPSET,
) -> Path:
    """Export ``generator`` (in eval mode) to a single self-contained ONNX file at ``path``.

    ``batch="dynamic"`` leaves the batch axis free; an int fixes it (some runtimes optimise
    static shapes better). The weights are stored inside the file, not as external data, so
    the file can be written atomically and moved around alone (fine below ONNX's 2 GB limit).
    """
    require("onnx", "onnxscript")
    import torch

    if batch != "dynamic" and (not isinstance(batch, int) or batch < 1):
        raise ConfigError(f"batch must be 'dynamic' or a positive integer, got {batch!r}")
    if opset < 17:
        raise ConfigError(f"opset must be >= 17, got {opset}")
    # Batch 2 for the example: torch.export specialises a dimension traced at size 1.
    example_batch = 2 if batch == "dynamic" else batch
    param = next(generator.parameters())
    example = (
        torch.zeros(example_batch, *MEL_SHAPE, dtype=param.dtype, device=param.device),
        torch.zeros(example_batch, *FACE_SHAPE, dtype=param.dtype, device=param.device),
    )
    dynamic_shapes = None
    if batch == "dynamic":
        dim = torch.export.Dim("batch", min=1)
        dynamic_shapes = ({0: dim}, {0: dim})
    with eval_mode(generator):
        program = torch.onnx.export(
            generator,
            example,
            input_names=list(INPUT_NAMES),
            output_names=[OUTPUT_NAME],
            opset_version=opset,
            dynamic_shapes=dynamic_shapes,
            dynamo=True,
            verbose=False,
        )
    config = getattr(generator, "config", None)
    if dataclasses.is_dataclass(config):
        program.model.metadata_props[CONFIG_KEY] = json.dumps(to_dict(config))
    target = Path(path)
    with atomic_path(target) as tmp:
        program.save(tmp, external_data=False)
    return target


class OnnxGenerator:
    """Runs an exported generator with onnxruntime: ``gen(mels, faces) -> torch.Tensor``.

    Inputs may be numpy arrays or torch tensors (any device; they are copied to host float32).
    A file exported with a fixed batch size still accepts any N: inputs are run in chunks of
    that size, the last one zero-padded.
    """

    def __init__(self, path: str | os.PathLike[str], threads: int | None = None) -> None:
        require("onnxruntime")
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads is not None:
            options.intra_op_num_threads = threads
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
            if not Path(path).is_file():
                raise CheckpointError(f"ONNX model not found: {path}") from None
            raise CheckpointError(f"{path}: not a loadable ONNX model ({exc.__class__.__name__})") from None
        names = tuple(i.name for i in self.session.get_inputs())
        if names != INPUT_NAMES:
            raise CheckpointError(f"{path}: expected ONNX inputs {INPUT_NAMES}, found {names}")
        batch_dim = self.session.get_inputs()[0].shape[0]
        self.batch_size: int | None = batch_dim if isinstance(batch_dim, int) else None
        self.config = _stored_config(self.session, path)

    def __call__(self, mels: np.ndarray | torch.Tensor, faces: np.ndarray | torch.Tensor) -> torch.Tensor:
        import torch

        mel_array, face_array = _host_float32(mels), _host_float32(faces)
        if mel_array.shape[1:] != MEL_SHAPE or face_array.shape[1:] != FACE_SHAPE:
            raise ValueError(
                f"expected mels (N, {', '.join(map(str, MEL_SHAPE))}) and faces (N, "
                f"{', '.join(map(str, FACE_SHAPE))}), got {mel_array.shape} and {face_array.shape}"
            )
        if len(mel_array) != len(face_array):
            raise ValueError(f"mels and faces differ in batch size: {len(mel_array)} vs {len(face_array)}")
        n = len(mel_array)
        step = self.batch_size or max(n, 1)
        outputs = []
        for start in range(0, n, step):
            chunk_m, chunk_f = mel_array[start : start + step], face_array[start : start + step]
            real = len(chunk_m)
            if self.batch_size is not None and real < step:
                chunk_m = np.concatenate([chunk_m, np.zeros((step - real, *MEL_SHAPE), np.float32)])
                chunk_f = np.concatenate([chunk_f, np.zeros((step - real, *FACE_SHAPE), np.float32)])
            (out,) = self.session.run([OUTPUT_NAME], {"mels": chunk_m, "faces": chunk_f})
            outputs.append(out[:real])
        if not outputs:
            return torch.zeros((0, 3, *FACE_SHAPE[1:]), dtype=torch.float32)
        return torch.from_numpy(np.concatenate(outputs))


def _stored_config(session: Any, path: str | os.PathLike[str]) -> GeneratorConfig | None:
    """The generator config ``export_onnx`` stored in the file (None for graphs exported elsewhere)."""
    from .models import GeneratorConfig

    text = session.get_modelmeta().custom_metadata_map.get(CONFIG_KEY)
    if text is None:
        return None
    try:
        return from_dict(GeneratorConfig, json.loads(text), where=f"{path} metadata")
    except (json.JSONDecodeError, ConfigError) as exc:
        raise CheckpointError(f"{path}: unreadable generator config in the metadata ({exc})") from None


def _host_float32(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().to("cpu").float().numpy()
    return np.ascontiguousarray(x, dtype=np.float32)


class _Mismatch(Exception):
    """Raised inside ``atomic_path`` to discard an export that does not match torch."""


def export_checkpoint(
    checkpoint: str | os.PathLike[str],
    path: str | os.PathLike[str],
    batch: Literal["dynamic"] | int = "dynamic",
    opset: int = DEFAULT_OPSET,
    check_batches: tuple[int, ...] = (1, 3),
    tolerance: float = TOLERANCE,
) -> dict[int, float]:
    """Export a generator checkpoint and verify it: max |torch - onnxruntime| per batch size.

    The file is verified under a temporary name and only appears at ``path`` when no difference
    exceeds ``tolerance``, so a failed check never leaves a wrong model behind.
    """
    check_output_file(path, (checkpoint,), suffixes={".onnx"})
    require("onnx", "onnxscript", "onnxruntime")
    generator = load_model(checkpoint, kind="generator")
    differences: dict[int, float] = {}
    with contextlib.suppress(_Mismatch), atomic_path(path) as tmp:
        export_onnx(generator, tmp, batch=batch, opset=opset)
        session = OnnxGenerator(tmp)
        differences = {n: max_abs_difference(generator, session, n) for n in check_batches}
        if max(differences.values(), default=0.0) > tolerance:
            raise _Mismatch
    return differences


def max_abs_difference(generator: torch.nn.Module, onnx_model: OnnxGenerator, batch: int, seed: int = 0) -> float:
    """Largest |torch - onnxruntime| over one random batch (inputs in the generator's ranges)."""
    import torch

    rng = torch.Generator().manual_seed(seed)
    mels = torch.rand((batch, *MEL_SHAPE), generator=rng) * 8 - 4  # the mel front end's [-4, 4]
    faces = torch.rand((batch, *FACE_SHAPE), generator=rng)
    param = next(generator.parameters())
    with eval_mode(generator), torch.no_grad():
        expected = generator(mels.to(param.device, param.dtype), faces.to(param.device, param.dtype))
    got = onnx_model(mels, faces)
    return float((expected.float().cpu() - got).abs().max())
