"""Atomic output: write to a temporary file beside the target, rename into place on success.

A failed or interrupted run therefore never leaves a half-written file under the final name.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path
from typing import Iterator

from .errors import AttnWav2LipError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; rename it to ``path`` if the block succeeds.

    The temporary name keeps the target's suffix so format-sniffing writers (PyAV, OpenCV) work.
    The file is flushed to disk before the rename, so the target is whole even after a power cut.
    """
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise AttnWav2LipError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise AttnWav2LipError(f"output folder is not writable: {folder}")
    tmp = _create_beside(target)
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def _create_beside(target: Path) -> Path:
    """Create an empty, uniquely named file next to ``target``, with the mode of any new file.

    ``os.open`` with 0o666 lets the kernel apply the process umask (``mkstemp`` would make it 0600).
    """
    while True:
        tmp = target.with_name(f".{target.stem}.{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_bytes_atomic(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def create_text_atomic(path: str | os.PathLike[str], text: str) -> bool:
    """Write ``text`` to ``path`` whole, unless ``path`` exists; False when it already did.

    A hard link fails on an existing name, so of writers racing to create the file exactly one
    wins and no reader ever sees it half written.
    """
    target = Path(path)
    tmp = _create_beside(target)
    try:
        tmp.write_text(text, encoding="utf-8")
        _fsync(tmp)
        os.link(tmp, target)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
