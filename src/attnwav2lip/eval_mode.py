"""Running a network in eval mode for a while, then putting its mode back."""

from __future__ import annotations

import contextlib
from typing import Iterator, TypeVar

M = TypeVar("M")


@contextlib.contextmanager
def eval_mode(module: M) -> Iterator[M]:
    """Run ``module`` in eval mode (BatchNorm on running statistics) and restore its mode after.

    Duck-typed: a scorer that is no ``nn.Module`` (no ``eval``/``train``) passes through untouched.
    """
    was_training = bool(getattr(module, "training", False))
    if hasattr(module, "eval"):
        module.eval()  # type: ignore[attr-defined]
    try:
        yield module
    finally:
        if hasattr(module, "train"):
            module.train(was_training)  # type: ignore[attr-defined]
