"""The clip store: one folder per clip, a manifest listing the complete ones.

Layout of a dataset root::

    manifest.jsonl            one JSON record per complete clip (id, frames, faces, fps, source, split)
    videos.jsonl              one record per processed source video (for resumable preprocessing)
    preprocess.yaml           the settings its clips were made with (preprocess refuses others)
    clips/<id>/frames.npy     uint8 (N, S, S, 3) RGB face crops, memory-mapped when read
    clips/<id>/audio.wav      16 kHz mono 16-bit PCM, starting at the clip's first frame
    clips/<id>/mel.npy        float32 (80, M) mel of audio.wav, cached so no sample recomputes it
    clips/<id>/meta.json      fps, frames, size, source, missing frame indices, box statistics
    clips/<id>/boxes.npy      float32 (N, 4) the speaker's box per frame in source pixels (preprocess)
    clips/<id>/references.npy uint8 (N, S, S, 3) the frames with another mouth (SynthTalk only, optional)
    .tmp/                     clips being written; anything found here at start-up is a leftover

A clip is written in a temporary folder, renamed into place, and only then appended to the
manifest, so a crash at any point leaves either nothing or a complete clip. Readers trust the
manifest only; the last record of an id wins, so re-listing a clip after a crash is harmless.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import wave
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..audio import SAMPLE_RATE, melspectrogram
from ..errors import AttnWav2LipError

MANIFEST = "manifest.jsonl"
VIDEOS = "videos.jsonl"
CLIPS = "clips"
TMP = ".tmp"
REFERENCES = "references.npy"  # optional: the frames rendered with another mouth (attnwav2lip.data.rendered_references)


class DatasetError(AttnWav2LipError):
    """A dataset root or clip is missing, incomplete, or not in the expected layout."""


@dataclasses.dataclass(frozen=True)
class ClipRecord:
    """One manifest line: a complete clip of the store."""

    id: str
    frames: int
    fps: float
    source: str
    split: str
    faces: int | None = None  # frames with a face (not placeholders); None in older stores: all of them


def read_clip_manifest(root: str | os.PathLike[str], split: str | None = None) -> list[ClipRecord]:
    """Complete clips of a store (optionally of one split), in first-listed order; last record wins."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise DatasetError(f"{path}: not found (expected a clip store made by `attnwav2lip preprocess`)")
    lines = path.read_text(encoding="utf-8").splitlines()
    records: dict[str, ClipRecord] = {}
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            record = ClipRecord(**json.loads(line))
        except (json.JSONDecodeError, TypeError):
            if number == len(lines):
                continue  # a torn last line from a crash mid-append: that clip was never listed
            raise DatasetError(f"{path}:{number}: not a manifest record") from None
        records[record.id] = record
    return [r for r in records.values() if split is None or r.split == split]


def append_jsonl(path: str | os.PathLike[str], records: Iterable[dict]) -> None:
    """Append records in one ``write`` on an O_APPEND descriptor, so concurrent shards never interleave."""
    data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode("utf-8")
    if not data:
        return
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_jsonl(path: str | os.PathLike[str]) -> list[dict]:
    """Records of a JSON-lines file; a missing file or a torn last line reads as absent."""
    path = Path(path)
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def clip_dir(root: str | os.PathLike[str], clip_id: str) -> Path:
    return Path(root) / CLIPS / clip_id


def write_clip(
    root: str | os.PathLike[str],
    clip_id: str,
    frames: np.ndarray,
    wav: np.ndarray,
    *,
    fps: float,
    source: str,
    missing: Sequence[int] = (),
    extra: dict | None = None,
    arrays: dict[str, np.ndarray] | None = None,
    tmp_name: str = "default",
) -> Path:
    """Write one clip atomically (temp folder, then rename) and return its folder; no manifest entry.

    ``frames`` is uint8 (N, S, S, 3) RGB; frames listed in ``missing`` are placeholders (no face)
    that no window may use. ``wav`` is float32 mono 16 kHz starting at frame 0. ``extra`` goes
    into meta.json, ``arrays`` are saved as ``<name>.npy`` (e.g. the per-frame boxes). An existing
    folder of the same id (left by a crash before its manifest entry) is replaced.
    """
    frames = np.asarray(frames)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[3] != 3 or frames.shape[1] != frames.shape[2]:
        raise ValueError(f"frames must be uint8 (N, S, S, 3), got {frames.dtype} {frames.shape}")
    tmp = Path(root) / TMP / tmp_name / clip_id
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    np.save(tmp / "frames.npy", np.ascontiguousarray(frames))
    pcm = write_wav(tmp / "audio.wav", wav, SAMPLE_RATE)
    np.save(tmp / "mel.npy", melspectrogram(pcm.astype(np.float32) / 32767.0))  # the mel of what is stored
    for name, array in (arrays or {}).items():
        np.save(tmp / f"{name}.npy", array)
    meta = {
        "fps": float(fps),
        "frames": int(frames.shape[0]),
        "size": int(frames.shape[1]),
        "source": source,
        "sample_rate": SAMPLE_RATE,
        "missing": sorted(int(i) for i in missing),
        **(extra or {}),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    final = clip_dir(root, clip_id)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)
    return final


def write_wav(path: Path, wav: np.ndarray, sr: int) -> np.ndarray:
    """Write 16-bit PCM and return the samples written."""
    pcm = (np.clip(np.asarray(wav, np.float32), -1.0, 1.0) * 32767.0).round().astype("<i2")
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(sr)
        out.writeframes(pcm.tobytes())
    return pcm


def clean_tmp(root: str | os.PathLike[str], tmp_name: str) -> int:
    """Remove leftovers of a crashed run under ``.tmp/<tmp_name>``; returns how many files were dropped."""
    folder = Path(root) / TMP / tmp_name
    if not folder.exists():
        return 0
    count = sum(1 for p in folder.rglob("*") if p.is_file())
    shutil.rmtree(folder)
    return count


def finish_tmp(root: str | os.PathLike[str], tmp_name: str) -> None:
    """After a run: remove its emptied ``.tmp/<tmp_name>`` folders, and ``.tmp`` unless another run uses it."""
    clean_tmp(root, tmp_name)
    with contextlib.suppress(OSError):
        (Path(root) / TMP).rmdir()


class StoredClip:
    """An opened clip: memory-mapped frames, the cached mel, and which frames hold a face."""

    def __init__(self, folder: Path) -> None:
        try:
            self.meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            self.frames = np.load(folder / "frames.npy", mmap_mode="r")
            self.mel = np.load(folder / "mel.npy")
        except FileNotFoundError as exc:
            raise DatasetError(f"{folder}: incomplete clip ({Path(exc.filename).name} missing)") from None
        self.fps = float(self.meta["fps"])
        self.present = np.ones(len(self.frames), bool)
        self.present[self.meta.get("missing", [])] = False
        self.folder = folder

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    def window(self, start: int, length: int) -> np.ndarray:
        """uint8 (length, S, S, 3) RGB frames start..start+length-1 (a copy, not a view of the map)."""
        return np.array(self.frames[start : start + length])

    def rendered_window(self, start: int, length: int) -> np.ndarray:
        """Like ``window``, from ``references.npy``: the same frames rendered with another mouth."""
        path = self.folder / REFERENCES
        if not path.is_file():
            raise DatasetError(f"{path}: not found (make it with `attnwav2lip synth-references`; SynthTalk stores only)")
        return np.array(np.load(path, mmap_mode="r")[start : start + length])


class ClipStore:
    """The clips of a store root (optionally one split), openable by position; a ``ClipSource``."""

    def __init__(self, root: str | os.PathLike[str], split: str | None = None) -> None:
        self.root = Path(root)
        self.records = read_clip_manifest(self.root, split)
        if not self.records:
            raise DatasetError(f"{self.root / MANIFEST}: no clips" + (f" in split {split!r}" if split else ""))

    def __len__(self) -> int:
        return len(self.records)

    def num_frames(self, index: int) -> int:
        """Frames with a face: what the original's length filter counts (its jpgs), placeholders not included."""
        record = self.records[index]
        return record.frames if record.faces is None else record.faces

    def open(self, index: int) -> StoredClip:
        return StoredClip(clip_dir(self.root, self.records[index].id))

