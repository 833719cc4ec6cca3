"""Which audio goes with which video: Wav2Lip's published pair lists and the paper's random pairing.

* ``lrs2.txt`` / ``lrs3.txt`` / ``lrw.txt`` (Wav2Lip's ``evaluation/test_filelists``): one pair per
  line, **audio first, video second**, names relative to the data root without ``.mp4``. LRW
  names are bare (``BRING_00018``): the LRW tree must be flattened, or found at
  ``WORD/test/WORD_NNNNN.mp4`` (``resolve_media`` tries both).
* ReSyncED lists (``random_pairs.txt``, ``tts_pairs.txt``): **video first, audio second**, with
  file extensions.
* AttnWav2Lip's protocol (paper §4): each test video gets the audio of another, randomly chosen
  test video whose speech is shorter than the video; seeded so runs can be repeated.
"""

from __future__ import annotations

import os
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Mapping

from ..errors import ConfigError, MediaError
from ..fileio import write_text_atomic

ListOrder = Literal["audio-video", "video-audio"]
MEDIA_SUFFIX = ".mp4"
_LRW_NAME = re.compile(r"^(?P<word>[A-Z0-9]+)_\d{5}$")


@dataclass(frozen=True)
class Pair:
    """One test item: the face video to re-voice and the clip whose audio drives it."""

    video: str
    audio: str


def list_order(path: str | os.PathLike[str]) -> ListOrder:
    """The column order of a published list, from its name: ReSyncED lists put the video first."""
    parts = {part.lower() for part in Path(path).parts}
    name = Path(path).name.lower()
    return "video-audio" if "resynced" in parts or name in {"random_pairs.txt", "tts_pairs.txt"} else "audio-video"


def read_pair_list(path: str | os.PathLike[str], order: ListOrder | None = None) -> list[Pair]:
    """Parse a pair list; ``order`` defaults to what ``list_order`` infers from the file name.

    Blank lines and lines starting with ``#`` are skipped; any other line must hold two names.
    """
    order = order or list_order(path)
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise MediaError(f"pair list not found: {path}") from None
    pairs = []
    for number, line in enumerate(lines, 1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            raise ConfigError(f"{path}:{number}: expected two names (audio and video), got {len(fields)}")
        first, second = fields
        pairs.append(Pair(video=second, audio=first) if order == "audio-video" else Pair(video=first, audio=second))
    if not pairs:
        raise ConfigError(f"{path}: no pairs in the list")
    return pairs


def resolve_media(name: str, root: str | os.PathLike[str]) -> Path:
    """The file a list entry names: ``root/name`` (``.mp4`` added when the name has no suffix),
    or the LRW layout ``root/WORD/test/WORD_NNNNN.mp4`` for a bare LRW name."""
    root = Path(root)
    filename = name if Path(name).suffix else name + MEDIA_SUFFIX
    candidates = [root / filename]
    match = _LRW_NAME.match(Path(name).stem)
    if match and "/" not in name:
        candidates.append(root / match["word"] / "test" / filename)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise MediaError(f"{name}: not found under {root} (tried {', '.join(str(c) for c in candidates)})")


def random_pairing(durations: Mapping[str, float], seed: int = 0) -> list[Pair]:
    """Pair each video with the audio of a different clip whose speech is strictly shorter.

    ``durations`` maps clip name to speech length in seconds. Videos are visited in sorted order
    and audio drawn with ``random.Random(seed)``, so the pairing depends only on the names,
    lengths and seed. The shortest clip(s) have no shorter partner and are left out.
    """
    rng = random.Random(seed)
    names = sorted(durations)
    pairs = []
    for video in names:
        shorter = [n for n in names if durations[n] < durations[video]]
        if shorter:
            pairs.append(Pair(video=video, audio=rng.choice(shorter)))
    return pairs


def write_pair_list(path: str | os.PathLike[str], pairs: list[Pair], order: ListOrder | None = None) -> None:
    """Save pairs in a published list's format, atomically.

    ``order`` defaults to what ``list_order`` infers from the name, so ``read_pair_list`` reads the
    file back unchanged: audio first (Wav2Lip's format), video first for a ReSyncED-style name.
    """
    order = order or list_order(path)
    rows = [f"{p.audio} {p.video}" if order == "audio-video" else f"{p.video} {p.audio}" for p in pairs]
    write_text_atomic(path, "".join(row + "\n" for row in rows))
