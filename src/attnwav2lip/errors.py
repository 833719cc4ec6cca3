"""Errors a user can cause. The CLI prints their one-line message and exits with code 2.

Bugs are not wrapped: they stay ordinary exceptions with tracebacks.
"""

from __future__ import annotations


class AttnWav2LipError(Exception):
    """Base class of every user-facing error (bad input, missing file, wrong checkpoint...)."""


class MediaError(AttnWav2LipError):
    """A media file is missing, unreadable, corrupt, or lacks the stream we need."""


class CheckpointError(AttnWav2LipError):
    """A checkpoint is missing, truncated, unsafe, foreign, or of the wrong kind."""


class NoFaceError(AttnWav2LipError):
    """No usable face was found where one was required."""


class ConfigError(AttnWav2LipError):
    """A configuration value or recipe file is invalid."""


class DependencyError(AttnWav2LipError):
    """An optional dependency needed for the requested feature is not installed."""
