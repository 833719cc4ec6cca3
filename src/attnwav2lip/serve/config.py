"""``ServeConfig``: everything ``attnwav2lip serve`` is told, checked once at start-up."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError

AUTH_ENV = "ATTNWAV2LIP_AUTH"


@dataclass(frozen=True)
class Limits:
    """What one job may ask for; a request beyond them is refused with a one-line message."""

    upload_mb: float = 200.0  # any single upload (face, speech, checkpoint)
    seconds: float = 120.0  # speech length, and face video length
    side: int = 1920  # longer side of the face input, in pixels
    text_chars: int = 1000  # text to speak

    def __post_init__(self) -> None:
        for name in ("upload_mb", "seconds", "side", "text_chars"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"limit {name} must be > 0, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class ServeConfig:
    """The server: where it listens, which models it offers, how much work it takes on."""

    host: str = "127.0.0.1"  # localhost only unless told otherwise
    port: int = 7860
    checkpoints: tuple[Path, ...] = ()  # generator files offered besides the built-in model
    concurrency: int = 1  # lip-sync jobs running at once
    queue_size: int = 8  # jobs waiting beyond those; more are refused
    limits: Limits = field(default_factory=Limits)
    ttl_seconds: float = 3600.0  # uploads and results are removed this long after they were made
    workdir: Path | None = None  # job folders; default: a fresh temporary folder
    auth: tuple[str, str] | None = None  # (user, password), from ATTNWAV2LIP_AUTH only

    def __post_init__(self) -> None:
        for name, ok, rule in (
            ("port", 0 <= self.port < 65536, "0..65535"), ("concurrency", self.concurrency >= 1, ">= 1"),
            ("queue_size", self.queue_size >= 1, ">= 1"), ("ttl_seconds", self.ttl_seconds > 0, "> 0"),
        ):
            if not ok:
                raise ConfigError(f"{name} must be {rule}, got {getattr(self, name)!r}")
        for path in self.checkpoints:
            if not Path(path).is_file():
                raise ConfigError(f"--checkpoint {path}: file not found")
        names = [Path(p).name for p in self.checkpoints]
        if len(set(names)) != len(names):
            raise ConfigError("--checkpoint files need distinct names: the page lists them by name")


def auth_from_env(environ: os._Environ[str] | dict[str, str] = os.environ) -> tuple[str, str] | None:
    """``ATTNWAV2LIP_AUTH=user:password`` as a pair, or None when unset.

    Read from the environment only: a password on the command line would show in ``ps``.
    """
    value = environ.get(AUTH_ENV, "")
    if not value:
        return None
    user, sep, password = value.partition(":")
    if not (sep and user and password):
        raise ConfigError(f"{AUTH_ENV} must be user:password")
    return user, password
