"""The models that ship inside the package: where they are, how to load them, how they are built.

``src/attnwav2lip/assets/`` holds ``generator.safetensors`` (what ``sync`` runs without
``--checkpoint``), ``expert.safetensors`` (its lip-sync expert) and ``evaluator.safetensors`` (the
SynthTalk evaluator behind "LSE (SynthTalk evaluator)"), in the project's format with float16
parameters, and ``MODEL_CARD.md``. ``export_builtin`` writes them from training runs.

The environment variable ``ATTNWAV2LIP_ASSETS`` points the loader at another folder (tests build
tiny models there); it is read here and nowhere else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import safe_open

from .checkpoints import load_model, network_file, save_model
from .errors import CheckpointError, ConfigError

if TYPE_CHECKING:
    from torch import nn

KINDS: tuple[str, ...] = ("generator", "expert", "evaluator")
ASSETS_ENV = "ATTNWAV2LIP_ASSETS"
PACKAGE_ASSETS = Path(__file__).resolve().parent / "assets"
MAX_TOTAL_BYTES = 20_000_000  # the three files together: small enough for a wheel and for git
MODEL_CARD = "MODEL_CARD.md"


@dataclass(frozen=True)
class Asset:
    """One exported built-in model: where it went, where it came from, how big it is."""

    kind: str
    path: Path
    source: Path
    parameters: int
    bytes: int


def assets_dir() -> Path:
    """The folder the built-in models are read from: ``$ATTNWAV2LIP_ASSETS`` if set, else the package's."""
    override = os.environ.get(ASSETS_ENV)
    return Path(override) if override else PACKAGE_ASSETS


def builtin_path(kind: str) -> Path:
    """The shipped ``kind`` file ("generator", "expert" or "evaluator"); CheckpointError if it is absent."""
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    path = assets_dir() / f"{kind}.safetensors"
    if not path.is_file():
        raise CheckpointError(
            f"built-in {kind} not found: {path}; this installation has no built-in models "
            f"(pass --checkpoint, or build them: attnwav2lip build-builtin, see {MODEL_CARD})"
        )
    return path


def load_builtin(kind: str, device: str = "cpu") -> "nn.Module":
    """The shipped ``kind`` network, float32, in eval mode on ``device``."""
    return load_model(builtin_path(kind), kind=kind, device=device)


def describe_generator(generator: "nn.Module") -> str:
    """The one line that says which model ``sync`` runs without a checkpoint, from its own config."""
    config = generator.config
    name = "Wav2Lip" if config.attention == "none" else "AttnWav2Lip"
    return f"built-in {name} width {config.width:g} trained on SynthTalk (synthetic faces only; see {MODEL_CARD})"


def export_builtin(
    generator: str | os.PathLike[str],
    expert: str | os.PathLike[str],
    evaluator: str | os.PathLike[str],
    out_dir: str | os.PathLike[str] | None = None,
    *,
    max_bytes: int = MAX_TOTAL_BYTES,
) -> dict[str, Asset]:
    """Write the three built-in models into ``out_dir`` (default: the package's assets folder).

    Each source is a ``.safetensors`` file, a training checkpoint folder or a run folder (its
    latest checkpoint). Parameters are stored as float16. Nothing in ``out_dir`` changes unless
    all three load as the right kind and together fit in ``max_bytes``: they are written to a
    staging folder beside it first, then renamed into place. A file whose tensors and metadata
    equal the one already there is not replaced, so rebuilding one model keeps the others
    byte-identical (safetensors orders its metadata differently from one process to the next).
    ``MODEL_CARD.md`` is left alone.
    """
    target = Path(out_dir) if out_dir is not None else PACKAGE_ASSETS
    target.mkdir(parents=True, exist_ok=True)
    sources = {kind: network_file(Path(src), kind) for kind, src in zip(KINDS, (generator, expert, evaluator))}
    staging = Path(tempfile.mkdtemp(prefix=".builtin.", dir=target))
    try:
        assets = {}
        for kind, source in sources.items():
            model = load_model(source, kind=kind)
            staged = staging / f"{kind}.safetensors"
            save_model(model, staged, half=True)
            _check_finite(load_model(staged, kind=kind), source)
            parameters = sum(p.numel() for p in model.parameters())
            assets[kind] = Asset(kind, target / staged.name, source, parameters, staged.stat().st_size)
        total = sum(asset.bytes for asset in assets.values())
        if total > max_bytes:
            sizes = ", ".join(f"{k} {a.bytes / 1e6:.1f} MB" for k, a in assets.items())
            raise CheckpointError(f"built-in models total {total / 1e6:.1f} MB ({sizes}), over the {max_bytes / 1e6:g} MB limit")
        for kind in KINDS:
            if not _same_content(staging / f"{kind}.safetensors", assets[kind].path):
                os.replace(staging / f"{kind}.safetensors", assets[kind].path)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return assets


def _same_content(new: Path, old: Path) -> bool:
    """Whether two safetensors files hold the same metadata and the same tensors, bit for bit."""
    import torch

    if not old.is_file():
        return False
    with safe_open(str(new), "pt") as a, safe_open(str(old), "pt") as b:
        if a.metadata() != b.metadata() or set(a.keys()) != set(b.keys()):
            return False
        return all(a.get_tensor(k).dtype == b.get_tensor(k).dtype and torch.equal(a.get_tensor(k), b.get_tensor(k))
                   for k in a.keys())


def _check_finite(model: "nn.Module", source: Path) -> None:
    """float16 tops out at 65504: a larger weight would ship as inf."""
    import torch

    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
            raise CheckpointError(f"{source}: {name} is not finite in float16; it cannot ship as a built-in model")
