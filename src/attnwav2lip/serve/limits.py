"""Refuse inputs beyond the server's limits before any work starts (upload size is Gradio's job)."""

from __future__ import annotations

import os

from ..errors import ConfigError, MediaError
from ..video import probe
from .config import Limits


def check_face(path: str | os.PathLike[str], limits: Limits, resize_factor: int = 1) -> None:
    """A face video or photo no longer, and once resized no larger, than the limits allow."""
    info = probe(path)
    if not info.has_video:
        raise MediaError("the face input has no picture: upload a video or a photo")
    if max(info.width, info.height) // resize_factor > limits.side:
        raise ConfigError(f"the face input is {info.width}x{info.height}; this server works on at most "
                          f"{limits.side} px on the longer side (raise the resize factor)")
    if info.duration > limits.seconds:
        raise ConfigError(f"the face video lasts {info.duration:.0f} s; this server takes at most {limits.seconds:g} s")


def check_speech(path: str | os.PathLike[str] | None, text: str | None, limits: Limits) -> None:
    """Exactly one of a speech file and a text, within the limits."""
    if (path is None) == (not text):
        raise ConfigError("give speech: an audio file or a recording, or a text to speak (not both)")
    if text:
        if len(text) > limits.text_chars:
            raise ConfigError(f"the text has {len(text)} characters; this server speaks at most {limits.text_chars}")
        return
    info = probe(path)  # type: ignore[arg-type]  # not None here
    if not info.has_audio:
        raise MediaError("the speech file has no sound track")
    if info.duration > limits.seconds:
        raise ConfigError(f"the speech lasts {info.duration:.0f} s; this server takes at most {limits.seconds:g} s")
