"""Tiny stand-ins for the built-in models, built through the real export path, for tests only.

The package's own assets folder is never touched: tests point ``ATTNWAV2LIP_ASSETS`` at the folder
these functions fill.
"""

from __future__ import annotations

from pathlib import Path

TINY = {"generator": {"width": 0.125}, "expert": {"width": 0.125}, "evaluator": {"width": 0.125, "embedding_dim": 64}}


def tiny_sources(folder: Path) -> dict[str, Path]:
    """Seeded narrow float32 networks of the three built-in kinds, saved as .safetensors in ``folder``."""
    import torch

    from attnwav2lip.checkpoints import save_model
    from attnwav2lip.models.registry import build_model

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        for kind, config in TINY.items():
            paths[kind] = folder / f"{kind}_fp32.safetensors"
            save_model(build_model(kind, config), paths[kind])
    return paths


def tiny_assets(folder: Path) -> Path:
    """``folder`` filled with tiny built-in models by ``export_builtin``; returns it."""
    from attnwav2lip.builtin import export_builtin

    sources = tiny_sources(folder / "sources")
    export_builtin(sources["generator"], sources["expert"], sources["evaluator"], folder)
    return folder
