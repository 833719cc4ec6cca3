"""Atomic output: write to a temporary file beside the target, rename into place on success.

A failed or interrupted run therefore never leaves a half-written file under the final name.
Temporary names carry the writer's host and process id (``.NAME.<host>-<pid>-<hex>.tmp.SUFFIX``),
so a file left by a killed writer (SIGKILL, power loss) is recognisable: the next write of the
same target deletes it once that process is gone, and never one a live process is still writing.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import logging
import os
import re
import secrets
import socket
from pathlib import Path
from typing import Iterator

from .errors import AttnWav2LipError

log = logging.getLogger(__name__)

# OS errors that the place (not the program) causes: full disk or quota, read-only, no permission
_PLACE_ERRORS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EFBIG}


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
    remove_stale_temporaries(target)
    tmp = _create_beside(target)
    try:
        with _place_errors(target):
            yield tmp
            _fsync(tmp)
            os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def _place_errors(target: Path) -> Iterator[None]:
    """A full disk, a quota, a read-only or forbidden place is the user's to fix: one line, not a traceback."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _PLACE_ERRORS:
            raise
        raise AttnWav2LipError(f"cannot write {target}: {os.strerror(exc.errno)}") from None


def _host() -> str:
    """This machine's name as it appears in temporary names (no dots or dashes: they separate fields)."""
    return re.sub(r"[^A-Za-z0-9_]", "_", socket.gethostname())[:32] or "host"


def _create_beside(target: Path) -> Path:
    """Create an empty, uniquely named file next to ``target``, with the mode of any new file.

    ``os.open`` with 0o666 lets the kernel apply the process umask (``mkstemp`` would make it 0600).
    """
    while True:
        tmp = target.with_name(f".{target.stem}.{_host()}-{os.getpid()}-{secrets.token_hex(4)}.tmp{target.suffix}")
        try:
            with _place_errors(target):
                os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
        except FileExistsError:
            continue


def remove_stale_temporaries(target: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files of ``target`` whose writer, a process of this host, is gone.

    Files of other hosts (a shared folder) and of live processes are kept: their writer may still
    be at work. Returns what was deleted.
    """
    target = Path(target)
    pattern = re.compile(rf"\.{re.escape(target.stem)}\.(\w+)-(\d+)-[0-9a-f]+\.tmp{re.escape(target.suffix)}")
    removed = []
    for path in target.parent.glob(f".{glob.escape(target.stem)}.*.tmp{glob.escape(target.suffix)}"):
        match = pattern.fullmatch(path.name)
        if match and match.group(1) == _host() and not _alive(int(match.group(2))):
            path.unlink(missing_ok=True)
            removed.append(path)
            log.info("removed %s, left by a run that was killed", path)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


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
