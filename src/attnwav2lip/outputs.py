"""Checks of where a command will write, made before any work starts.

A run that fails only after minutes of work, or that replaces its own input with its result, is
the costliest kind of mistake; these checks refuse such outputs at once, in one line.
"""

from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from .errors import ConfigError

# suffix -> FFmpeg muxer of every video container the writer produces (H.264 + AAC in each)
VIDEO_CONTAINERS = {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska"}


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """Whether two paths name one file: the same real path (symbolic links) or inode (hard links)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # either does not exist
        return False


def check_output_file(
    out: str | os.PathLike[str],
    inputs: Collection[str | os.PathLike[str] | None] = (),
    *,
    suffixes: Collection[str] | None = None,
) -> Path:
    """``out`` if a file can be written there: not an input, not a folder, a suffix in ``suffixes``
    (when given), in an existing writable folder. ConfigError otherwise."""
    out = Path(out)
    if out.is_dir():
        raise ConfigError(f"output {out} is a folder; give a file name")
    for source in inputs:
        if source is not None and same_file(out, source):
            raise ConfigError(f"output {out} is also an input ({source}); writing it would destroy that input")
    if suffixes is not None and out.suffix.lower() not in suffixes:
        wrote = f"{out.suffix!r} files" if out.suffix else "files without a suffix"
        raise ConfigError(f"output {out}: cannot write {wrote}; use {', '.join(sorted(suffixes))}")
    folder = out.parent
    if not folder.is_dir():
        raise ConfigError(f"output folder does not exist: {folder}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"output folder is not writable: {folder}")
    return out


def check_output_folder(out: str | os.PathLike[str], inputs: Collection[str | os.PathLike[str] | None] = ()) -> Path:
    """``out`` if it can be (or already is) a folder that is none of ``inputs``. ConfigError otherwise."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"output folder {out} is an existing file; give a folder")
    for source in inputs:
        if source is not None and Path(source).is_file() and same_file(out, source):
            raise ConfigError(f"output {out} is also an input ({source})")
    return out


def make_output_folder(out: str | os.PathLike[str]) -> Path:
    """Create the folder ``out`` (and its parents) if needed; ConfigError, in one line, when a file
    is in the way or the place refuses it."""
    out = check_output_folder(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a parent is a file, read-only place, no permission, full disk
        raise ConfigError(f"cannot create output folder {out}: {exc.strerror}") from None
    return out
