"""Lazy public names for packages whose modules import heavy libraries (torch, PyAV, OpenCV).

A package lists ``name -> defining module`` and installs the two module hooks::

    __getattr__, __dir__ = lazy_exports(__name__, {"LipSyncer": "attnwav2lip.lipsync.pipeline"})

so ``import attnwav2lip`` stays instant and a name's module is imported on first use.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Iterable, Mapping


def lazy_exports(
    package: str, names: Mapping[str, str], eager: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` hooks resolving ``names`` on first access."""
    listed = sorted({*names, *eager})

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return listed

    return __getattr__, __dir__
