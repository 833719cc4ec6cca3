"""The page's option fields -> ``SyncOptions``, so every value passes the checks ``sync`` applies."""

from __future__ import annotations

from typing import Sequence

from .. import SyncOptions
from ..errors import ConfigError

# The page's choices, as the CLI lists them; SyncOptions checks every value again.
DETECTORS = ("auto", "mediapipe", "haar")  # not s3fd: it needs a weights file on the server
REFERENCES = ("frame", "window", "neutral")
LOOPS = ("pingpong", "forward")
PRECISIONS = ("auto", "fp32", "bf16")
DEFAULTS = SyncOptions()


def whole(name: str, value: float | int | None) -> int:
    """A number field's value as an int; fractions and blanks are refused (the CLI takes ints)."""
    if value is None or float(value) != int(value):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    return int(value)


def parse_box(text: str | None) -> tuple[int, int, int, int] | None:
    """"TOP BOTTOM LEFT RIGHT" (spaces or commas) -> a fixed box; blank -> None (detect)."""
    parts = (text or "").replace(",", " ").split()
    if not parts:
        return None
    try:
        values = tuple(int(p) for p in parts)
    except ValueError:
        raise ConfigError(f"box must be 4 whole numbers: top bottom left right, got {text!r}") from None
    if len(values) != 4:
        raise ConfigError(f"box needs 4 values: top, bottom, left, right, got {len(values)}")
    return values  # type: ignore[return-value]


def sync_options(
    *,
    pads: Sequence[float | int | None],
    box: str | None,
    face_index: float | int | None,
    detector: str,
    resize_factor: float | int | None,
    reference: str = DEFAULTS.reference,
    close_on_silence: bool = DEFAULTS.close_on_silence,
    loop: str = DEFAULTS.loop,
    crf: float | int | None = DEFAULTS.crf,
    precision: str = DEFAULTS.precision,
) -> SyncOptions:
    """Options for one job (the preview gives only the face fields); ``SyncOptions`` applies the CLI's checks."""
    if detector not in DETECTORS:
        raise ConfigError(f"detector must be one of {'|'.join(DETECTORS)}, got {detector!r}")
    return SyncOptions(
        pads=tuple(whole("pads", p) for p in pads),  # type: ignore[arg-type]  # 4 by the page's fields
        box=parse_box(box),
        face_index=whole("face index", face_index),
        detector=detector,
        reference=reference,
        close_on_silence=bool(close_on_silence),
        loop=loop,
        resize_factor=whole("resize factor", resize_factor),
        crf=whole("crf", crf),
        precision=precision,
        progress=True,  # the pipeline's per-stage bars feed the page's progress bar
    )
