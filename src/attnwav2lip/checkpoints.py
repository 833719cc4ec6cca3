"""Load any supported checkpoint into the right network, safely; save the project's own format.

Recognised by content, not by name:

- the original Wav2Lip files (``wav2lip.pth``, ``wav2lip_gan.pth``, ``lipsync_expert.pth``, the HQ
  script's discriminator checkpoints: a dict with ``state_dict``), syncnet_python's
  ``syncnet_v2.model`` (a plain state dict), in torch's zip format or the legacy pre-zip format,
  with or without DataParallel's ``module.`` prefix. These were trained on BGR images; they are
  converted to RGB once, here (docs/models.md), so the returned network takes and returns RGB
  and computes what the original computes on the BGR image.
- the project's own format: a safetensors file whose metadata holds the network's kind and its
  config as JSON, enough to rebuild the exact network. Weights only; training state lives apart.

Every pickle is read with ``torch.load(weights_only=True)`` (:func:`safe_torch_load`): a file whose
pickle would import or call anything beyond tensors and plain containers is refused and its code
never runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
import struct
import pickletools
from pathlib import Path
from typing import TYPE_CHECKING, Any, Mapping

from safetensors import safe_open

from . import __version__
from .config import to_dict
from .errors import CheckpointError, ConfigError
from .fileio import atomic_path

if TYPE_CHECKING:
    import torch
    from torch import nn

FORMAT_NAME = "attnwav2lip"
FORMAT_VERSION = "1"
EXPECTED = "a Wav2Lip generator, lip-sync expert or discriminator checkpoint, syncnet_v2.model, or an attnwav2lip .safetensors file"

# A key that only network ``kind`` has, in the original layouts and ours.
_SIGNATURES: dict[str, str] = {
    "generator": "face_decoder_blocks.0.0.conv_block.0.weight",
    "expert": "face_encoder.0.conv_block.0.weight",
    "discriminator": "binary_pred.0.weight",
    "evaluator": "netcnnlip.0.weight",
}

# BGR <-> RGB: (key, dim, permutation) of the tensors that touch image channels (docs/models.md).
# Each permutation reverses channel triples, so applying it twice is the identity.
_COLOUR_PERMUTATIONS: dict[str, tuple[tuple[str, int, tuple[int, ...]], ...]] = {
    "generator": (
        ("face_encoder_blocks.0.0.conv_block.0.weight", 1, (2, 1, 0, 5, 4, 3)),
        ("output_block.1.weight", 0, (2, 1, 0)),
        ("output_block.1.bias", 0, (2, 1, 0)),
    ),
    "discriminator": (("face_encoder_blocks.0.0.conv_block.0.weight", 1, (2, 1, 0)),),
    "expert": (("face_encoder.0.conv_block.0.weight", 1, tuple(3 * f + c for f in range(5) for c in (2, 1, 0))),),
    "evaluator": (("netcnnlip.0.weight", 1, (2, 1, 0)),),
}

# First-layer key and its width-1.0 output channels: how an original file's width is read.
_WIDTH_PROBES: dict[str, tuple[str, int]] = {
    "generator": ("face_encoder_blocks.0.0.conv_block.0.weight", 16),
    "expert": ("face_encoder.0.conv_block.0.weight", 32),
    "discriminator": ("face_encoder_blocks.0.0.conv_block.0.weight", 32),
    "evaluator": ("netcnnlip.0.weight", 96),
}


@dataclasses.dataclass(frozen=True)
class _Weights:
    """What a checkpoint file holds, already in RGB order."""

    kind: str
    config: dict[str, Any]
    state: dict[str, "torch.Tensor"]
    provenance: str | None = None  # where the network comes from, e.g. "syncnet_v2" (see ``file_provenance``)


STATE_FILE = "state.pt"  # a training checkpoint folder's resume state (``train.state``)
LATEST = "latest"  # ``<run>/checkpoints/latest`` names the newest complete checkpoint
CHECKPOINTS = "checkpoints"


def resolve_checkpoint(path: str | os.PathLike[str]) -> Path:
    """A checkpoint folder from itself, a run folder (its latest) or a run's ``checkpoints/``."""
    path = Path(path)
    for candidate in (path, path / CHECKPOINTS):
        latest = candidate / LATEST
        if latest.is_file():
            path = candidate / latest.read_text(encoding="utf-8").strip()
            break
    if not (path / STATE_FILE).is_file():
        raise CheckpointError(f"{path}: not a training checkpoint (expected a folder with {STATE_FILE}, "
                              f"or a run folder with {CHECKPOINTS}/{LATEST})")
    return path


def network_file(path: str | os.PathLike[str], kind: str) -> Path:
    """A network's weights file: ``path`` itself, or ``<kind>.safetensors`` of the training checkpoint
    (or run folder, its latest) that ``path`` names."""
    path = Path(path)
    if path.is_file():
        return path
    if not path.exists():
        raise CheckpointError(f"{kind} source not found: {path}")
    weights = resolve_checkpoint(path) / f"{kind}.safetensors"
    if not weights.is_file():
        raise CheckpointError(f"{path}: its checkpoint has no {weights.name}; expected a {kind} training run")
    return weights


def load_model(path: str | os.PathLike[str], *, kind: str | None = None, device: str = "cpu") -> "nn.Module":
    """The network stored in ``path``, built with its config, weights loaded, in eval mode on ``device``.

    ``kind`` ("generator", "expert", "discriminator", "evaluator") demands a network kind; a file
    holding another kind raises CheckpointError. With ``kind``, ``path`` may also be a training
    checkpoint folder or a run folder (its latest checkpoint), as ``network_file`` resolves it. An original generator comes back as
    ``GeneratorConfig(attention="none", width=1.0, mel_offset=0)``. The network is float32 whatever
    the file stores (float16 files, such as the built-in models, are widened on load).
    """
    from .models.registry import build_model

    path = network_file(path, kind) if kind is not None and Path(path).is_dir() else Path(path)
    weights = _read(path, kind)
    try:
        model = build_model(weights.kind, weights.config)
    except ConfigError as exc:
        raise CheckpointError(f"{path}: invalid {weights.kind} config in the file ({exc})") from None
    _fit(model, weights.state, Path(path))
    model.load_state_dict(weights.state, strict=False)
    if weights.provenance is not None:
        model.provenance = weights.provenance  # kept by save_model: a converted syncnet_v2 stays syncnet_v2
    return model.to(device).eval()


def save_model(model: "nn.Module", path: str | os.PathLike[str], *, half: bool = False) -> None:
    """Save ``model``'s weights and config as an attnwav2lip safetensors file, atomically.

    ``half`` stores the floating-point parameters as float16 (half the size: how the built-in
    models ship); buffers such as BatchNorm statistics keep their dtype, since small running
    variances would lose precision in float16. ``load_model`` returns float32 networks either way.
    """
    import torch
    from safetensors.torch import save_file

    kind = getattr(model, "kind", None)
    config = getattr(model, "config", None)
    if kind not in _SIGNATURES or not dataclasses.is_dataclass(config):
        raise TypeError(f"expected one of attnwav2lip's networks, got {type(model).__name__}")
    halved = {name for name, p in model.named_parameters() if p.is_floating_point()} if half else set()
    state = {
        name: (tensor.detach().to(torch.float16) if name in halved else tensor.detach()).cpu().contiguous()
        for name, tensor in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "config": json.dumps(to_dict(config)),
        "attnwav2lip_version": __version__,
    }
    if getattr(model, "provenance", None):
        metadata["provenance"] = model.provenance
    with atomic_path(path) as tmp:
        mode = tmp.stat().st_mode
        save_file(state, str(tmp), metadata=metadata)
        os.chmod(tmp, mode)  # safetensors recreates the file 0600; keep an ordinary new file's mode


def init_generator_from_wav2lip(generator: "nn.Module", path: str | os.PathLike[str]) -> list[str]:
    """Load every layer ``generator`` shares with the generator checkpoint ``path``; return the keys left as initialised.

    Used to start an attention generator from a trained Wav2Lip: the original layers load (in
    RGB), the attention modules keep their fresh initialisation and are returned by name.
    """
    weights = _read(Path(path), "generator")
    own = generator.state_dict()
    extra = sorted(set(weights.state) - set(own))
    if extra:
        raise CheckpointError(
            f"{path}: has {len(extra)} weight(s) this generator lacks (first: {extra[0]}); "
            f"is its attention {weights.config.get('attention', 'none')!r}?"
        )
    _check_shapes(own, weights.state, Path(path))
    generator.load_state_dict(weights.state, strict=False)
    return [name for name in own if name not in weights.state and not name.endswith("num_batches_tracked")]


def swap_colour_order(kind: str, state: Mapping[str, "torch.Tensor"]) -> dict[str, "torch.Tensor"]:
    """A copy of ``state`` with BGR and RGB swapped in the tensors that touch image channels.

    The swap is its own inverse: it turns original (BGR) weights into RGB weights and back.
    """
    import torch

    swapped = dict(state)
    for key, dim, order in _COLOUR_PERMUTATIONS[kind]:
        if key in swapped:
            swapped[key] = swapped[key].index_select(dim, torch.tensor(order))
    return swapped


# --- reading ---------------------------------------------------------------------------------

def _read(path: Path, expect: str | None) -> _Weights:
    from .models.registry import DESCRIPTIONS

    if expect is not None and expect not in _SIGNATURES:
        raise ConfigError(f"kind must be one of {', '.join(_SIGNATURES)}, got {expect!r}")
    with _checked_file(path).open("rb") as file:
        head = file.read(16)
    if head.startswith(b"PK\x03\x04") or head[:1] == b"\x80":
        weights = _read_original(path)
    elif _looks_like_safetensors(path, head):
        weights = _read_own(path)
    else:
        raise CheckpointError(f"{path}: not a checkpoint; expected {EXPECTED}")
    if expect is not None and weights.kind != expect:
        raise CheckpointError(
            f"{path.name} is {_with_article(DESCRIPTIONS[weights.kind])} checkpoint, not {_with_article(DESCRIPTIONS[expect])}"
        )
    return weights


def _checked_file(path: Path) -> Path:
    if not path.exists():
        raise CheckpointError(f"checkpoint not found: {path}")
    if not path.is_file():
        raise CheckpointError(f"{path}: is not a file; expected {EXPECTED}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path}: empty file; expected {EXPECTED}")
    return path


def _looks_like_safetensors(path: Path, head: bytes) -> bool:
    """safetensors: an 8-byte little-endian header length, then a JSON header."""
    if len(head) < 9:
        return False
    (header_len,) = struct.unpack("<Q", head[:8])
    return head[8:9] == b"{" and 8 + header_len <= path.stat().st_size


def safe_torch_load(path: str | os.PathLike[str]) -> Any:
    """``torch.load(weights_only=True)`` onto the CPU: the one reader of every pickle the project loads
    (original checkpoints, S3FD, training states), so any untrusted file fails the same way, as a
    one-line CheckpointError naming it (and, for a pickle that would run code, what it would load)."""
    import torch

    path = _checked_file(Path(path))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        unsafe = _unsafe_part(exc)
        if unsafe:
            raise CheckpointError(f"{path}: refused: this checkpoint would run code ({unsafe}); "
                                  "only weights-only checkpoints are loaded") from None
        raise CheckpointError(f"{path}: corrupt or truncated PyTorch file ({_first_line(exc)})") from None
    except Exception as exc:  # any other failure to parse an untrusted file is the file's fault
        raise CheckpointError(f"{path}: corrupt or truncated PyTorch file ({_first_line(exc)})") from None


def _unsafe_part(exc: BaseException) -> str:
    """What a pickle refused by torch's weights-only loader asked for ("" when the bytes are no
    pickle at all): a global it would load, or a pickle opcode beyond plain tensors and containers."""

    text = str(exc)
    found = re.search(r"GLOBAL (\S+)", text)
    if found:
        return f"it loads {found.group(1)}"
    found = re.search(r"Unsupported operand (\d+)", text)
    opcode = pickletools.code2op.get(chr(int(found.group(1)))) if found else None
    return f"pickle opcode {opcode.name}" if opcode is not None else ""


def _read_original(path: Path) -> _Weights:
    """An original checkpoint: dict with ``state_dict`` or a plain state dict, BGR, maybe ``module.``-prefixed."""
    import torch

    data = safe_torch_load(path)
    state = data.get("state_dict", data) if isinstance(data, dict) else None
    if not isinstance(state, dict) or not state or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: holds no state dict of tensors; expected {EXPECTED}")
    state = {key.removeprefix("module."): tensor for key, tensor in state.items()}
    kind = _recognise(state, path)
    probe, base = _WIDTH_PROBES[kind]
    config: dict[str, Any] = {"width": state[probe].shape[0] / base}
    if kind == "generator":
        config.update(attention="none", mel_offset=0)  # Wav2Lip itself, with its inference's offset
    if kind == "evaluator" and "netfclip.3.weight" in state:
        config["embedding_dim"] = state["netfclip.3.weight"].shape[0]
    return _Weights(kind, config, swap_colour_order(kind, state), "syncnet_v2" if kind == "evaluator" else "Wav2Lip")


def _read_own(path: Path) -> _Weights:
    try:
        with safe_open(str(path), framework="pt") as file:
            metadata = file.metadata() or {}
            state = {name: file.get_tensor(name) for name in file.keys()}
    except Exception as exc:  # SafetensorError and anything else a damaged file provokes
        raise CheckpointError(f"{path}: corrupt or truncated safetensors file ({_first_line(exc)})") from None
    if metadata.get("format") != FORMAT_NAME or metadata.get("kind") not in _SIGNATURES:
        raise CheckpointError(f"{path}: safetensors file without attnwav2lip metadata (kind and config); expected {EXPECTED}")
    if metadata.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path}: attnwav2lip format version {metadata.get('format_version')!r}, this version reads {FORMAT_VERSION}")
    try:
        config = json.loads(metadata.get("config", "{}"))
    except json.JSONDecodeError:
        raise CheckpointError(f"{path}: its config metadata is not valid JSON") from None
    return _Weights(metadata["kind"], config, state, metadata.get("provenance"))


def file_provenance(path: str | os.PathLike[str]) -> str | None:
    """Where the network of an own-format file comes from, as saved in its metadata ("SynthTalk
    evaluator", "syncnet_v2"); None for other files and for files saved before it was recorded."""
    try:
        with safe_open(str(path), framework="pt") as file:
            return (file.metadata() or {}).get("provenance")
    except Exception:  # not a safetensors file (SafetensorError, OSError): it records nothing
        return None


def _recognise(state: Mapping[str, Any], path: Path) -> str:
    kinds = [kind for kind, key in _SIGNATURES.items() if key in state]
    if len(kinds) != 1:
        raise CheckpointError(f"{path}: weights of no known network; expected {EXPECTED}")
    return kinds[0]


def _fit(model: "nn.Module", state: Mapping[str, "torch.Tensor"], path: Path) -> None:
    """Refuse weights that do not fill ``model`` exactly (num_batches_tracked may be absent: pre-0.4.1 files)."""
    own = model.state_dict()
    missing = [k for k in own if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        what = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        raise CheckpointError(
            f"{path}: weights do not match the {model.kind} they describe "
            f"({len(missing)} missing, {len(unexpected)} unexpected keys; {what})"
        )
    _check_shapes(own, state, path)


def _check_shapes(own: Mapping[str, "torch.Tensor"], state: Mapping[str, "torch.Tensor"], path: Path) -> None:
    for key, tensor in state.items():
        if key in own and tuple(tensor.shape) != tuple(own[key].shape):
            raise CheckpointError(
                f"{path}: {key} has shape {tuple(tensor.shape)}, the network expects {tuple(own[key].shape)}"
            )


def _with_article(noun: str) -> str:
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def _first_line(exc: BaseException) -> str:
    """The error's first line, or only its kind where torch's text would advise weights_only=False."""
    text = str(exc).strip()
    if not text or "weights_only" in text:
        return type(exc).__name__
    return text.splitlines()[0]
