"""Checkpoint folders: weights in the project's format, training state beside them.

A checkpoint is a folder ``checkpoints/step_000003000/`` holding one ``<name>.safetensors`` per
trained network (``attnwav2lip.checkpoints.save_model``: loadable by ``load_model`` on its own)
and ``state.pt``: everything else that an exact resume needs (optimisers, step, data position and
what it means, schedule state, every process's RNG states). ``state.pt`` contains only tensors and
builtins and is read with ``checkpoints.safe_torch_load`` (``weights_only``). ``checkpoints/latest``
names the newest complete one.
"""

from __future__ import annotations

import json
import os
import platform
import random
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checkpoints import CHECKPOINTS, LATEST, STATE_FILE, load_model, resolve_checkpoint, safe_torch_load, save_model
from ..config import recipe_yaml
from ..errors import CheckpointError
from ..fileio import atomic_path, write_text_atomic
from ..precision import cpu_name


def rng_state() -> dict[str, Any]:
    """This process's random generators (Python, NumPy, torch CPU and CUDA) as tensors and builtins."""
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": {"keys": torch.from_numpy(np_state[1].astype(np.int64)), "pos": int(np_state[2]),
                  "has_gauss": int(np_state[3]), "gauss": float(np_state[4])},
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["gauss"]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def checkpoint_dir(run_dir: str | os.PathLike[str], step: int) -> Path:
    return Path(run_dir) / CHECKPOINTS / f"step_{step:09d}"


def save_checkpoint(folder: Path, models: dict[str, nn.Module], state: dict[str, Any]) -> None:
    """Write one checkpoint folder and point ``latest`` at it (weights first, state last).

    A folder of the same step left by an abandoned branch (a run resumed from an earlier checkpoint)
    is replaced whole: none of its files (a network this run no longer has) survive beside the new ones.
    """
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, model in models.items():
        save_model(model, folder / f"{name}.safetensors")
    with atomic_path(folder / STATE_FILE) as tmp:
        torch.save(state, tmp)
    write_text_atomic(folder.parent / LATEST, folder.name + "\n")


def prune_checkpoints(run_dir: Path, keep: int, written: Path) -> None:
    """Delete all but the newest ``keep`` checkpoint folders up to ``written``, the one just saved
    (``keep`` 0: delete none). Later steps, left by a branch abandoned when the run was resumed from
    an earlier checkpoint, are not counted nor deleted: counting them could delete ``written`` itself."""
    if keep < 1:
        return
    folders = sorted(f for f in (run_dir / CHECKPOINTS).glob("step_*") if f.name <= written.name)
    for folder in folders[:-keep]:
        shutil.rmtree(folder)


def run_config_path(path: str | os.PathLike[str]) -> Path:
    """The saved ``config.yaml`` of the run that checkpoint (or run folder) ``path`` belongs to."""
    return run_dir_of(resolve_checkpoint(path)) / "config.yaml"


def run_dir_of(checkpoint: Path) -> Path:
    """The run folder of a checkpoint folder (``<run>/checkpoints/step_*``)."""
    return checkpoint.parent.parent


def load_state(folder: str | os.PathLike[str]) -> dict[str, Any]:
    """The training state of a checkpoint folder (safe load: tensors and builtins only)."""
    return safe_torch_load(Path(folder) / STATE_FILE)


def load_weights(folder: Path, name: str, model: nn.Module) -> None:
    """Copy the weights of ``<folder>/<name>.safetensors`` into ``model`` (same architecture required)."""
    path = folder / f"{name}.safetensors"
    saved = load_model(path)
    try:
        model.load_state_dict(saved.state_dict())
    except RuntimeError as exc:
        raise CheckpointError(f"{path}: does not match the configured {name} ({str(exc).splitlines()[0]})") from None


def write_run_info(run_dir: Path, command: str, *, resumed_from: Path | None = None, precision: str = "") -> None:
    """Record what produced a run: git revision, command, Python and package versions, the CPU and
    the precision it trains in (with the reason it was chosen).

    A resumed run keeps what produced its earlier parts, oldest first, under ``earlier``.
    """
    path = run_dir / "run.json"
    previous = json.loads(path.read_text()) if path.is_file() else None
    earlier = [] if previous is None else previous.pop("earlier", []) + [previous]
    info = {
        "command": command,
        "resumed_from": str(resumed_from) if resumed_from is not None else None,
        "git_revision": _git_revision(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": cpu_name(),
        "precision": precision,
        "packages": {name: _version(name) for name in ("attnwav2lip", "torch", "numpy", "safetensors")},
        "argv": sys.argv,
        "earlier": earlier,
    }
    write_text_atomic(path, json.dumps(info, indent=1) + "\n")


def write_run_config(run_dir: Path, config: Any, step: int) -> None:
    """Save the run's resolved recipe as ``config.yaml``. A resume under a changed recipe keeps the
    one its earlier steps ran under as ``config.to_step_<step>.yaml`` (the step it was resumed at)."""
    path = run_dir / "config.yaml"
    text = recipe_yaml(config)
    if path.is_file() and path.read_text() != text:
        path.replace(run_dir / f"config.to_step_{step:09d}.yaml")
    write_text_atomic(path, text)


def _git_revision() -> str:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if out.returncode != 0:
        return "unknown"
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                           capture_output=True, text=True, timeout=10).stdout.strip()
    return out.stdout.strip() + ("+dirty" if dirty else "")


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"
