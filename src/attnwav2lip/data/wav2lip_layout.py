"""The original Wav2Lip preprocessed layout, read directly or converted to the clip store.

Layout (Wav2Lip's ``preprocess.py`` and ``filelists/``)::

    ROOT/<speaker>/<clip>/0.jpg, 1.jpg, ...   raw BGR face crops of any size, one per video frame
    ROOT/<speaker>/<clip>/audio.wav           the clip's audio
    FILELISTS/train.txt, val.txt, test.txt    lines like ``5535415699068794046/00001`` (first token used)

Frames without a detected face have no jpg; as in the original, a window needs consecutive
frames, so gaps remove windows. Crops are read with cv2, turned to RGB and resized to the model
size (bilinear, as the original). The video is taken to be 25 fps, as the original assumes.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from ..audio import load_audio, melspectrogram
from ..errors import MediaError
from ..fileio import atomic_path
from ..outputs import make_output_folder
from ..progress import progress_of
from .store import MANIFEST, DatasetError, append_jsonl, clean_tmp, finish_tmp, read_clip_manifest, write_clip

FPS = 25.0


def read_filelist(path: str | os.PathLike[str]) -> list[str]:
    """Clip keys of one filelist: the first token of each non-empty line."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(f"{path}: filelist not found (expected lines like 5535415699068794046/00001)") from None
    return [line.split()[0] for line in lines if line.strip()]


def frame_ids(folder: Path) -> np.ndarray:
    """Sorted integer ids of the ``N.jpg`` files in a clip folder (empty when the folder is missing)."""
    if not folder.is_dir():
        return np.zeros(0, np.int64)
    ids = [int(e.name[:-4]) for e in os.scandir(folder) if e.name.endswith(".jpg") and e.name[:-4].isdigit()]
    return np.array(sorted(ids), np.int64)


def read_crop(path: Path, size: int) -> np.ndarray:
    """One raw BGR jpg as uint8 (size, size, 3) RGB."""
    import cv2

    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise DatasetError(f"{path}: unreadable image (expected a jpg face crop)")
    return cv2.cvtColor(cv2.resize(image, (size, size)), cv2.COLOR_BGR2RGB)


def clip_mel(folder: Path) -> np.ndarray:
    """The mel of a clip's ``audio.wav`` (computed once per clip, never per sample)."""
    return melspectrogram(load_audio(folder / "audio.wav"))


class Wav2LipClip:
    """One clip of the original layout, opened: present frames, the mel, windows read from jpgs."""

    fps = FPS

    def __init__(self, folder: Path, ids: np.ndarray, mel: np.ndarray, size: int) -> None:
        self.folder = folder
        self.size = size
        self.mel = mel
        self.present = np.zeros(int(ids.max()) + 1 if len(ids) else 0, bool)
        self.present[ids] = True

    @property
    def num_frames(self) -> int:
        return len(self.present)

    def window(self, start: int, length: int) -> np.ndarray:
        return np.stack([read_crop(self.folder / f"{i}.jpg", self.size) for i in range(start, start + length)])

    def rendered_window(self, start: int, length: int) -> np.ndarray:
        raise DatasetError(f"{self.folder}: rendered references exist only in clip stores made from SynthTalk")


class Wav2LipLayout:
    """The clips of one filelist of the original layout; a ``ClipSource`` for the samplers.

    Mels are computed on first use of a clip and kept: in ``mel_cache`` (a folder, shared by
    workers and runs) when given, else in this object's memory (per worker process; about 80 KB
    per 3 s clip). For large sets prefer converting once with ``convert_wav2lip``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        split: str,
        *,
        filelists: str | os.PathLike[str] | None = None,
        size: int = 96,
        mel_cache: str | os.PathLike[str] | None = None,
    ) -> None:
        self.root = _original_root(root)
        lists = Path(filelists) if filelists is not None else self.root / "filelists"
        self.keys = read_filelist(lists / f"{split}.txt")
        self.size = size
        self.ids = [frame_ids(self.root / key) for key in self.keys]
        self.mel_cache = Path(mel_cache) if mel_cache is not None else None
        self._mels: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.keys)

    def num_frames(self, index: int) -> int:
        """Number of jpgs (the original's eligibility count, gaps not included)."""
        return len(self.ids[index])

    def open(self, index: int) -> Wav2LipClip:
        return Wav2LipClip(self.root / self.keys[index], self.ids[index], self._mel(index), self.size)

    def _mel(self, index: int) -> np.ndarray:
        if index in self._mels:
            return self._mels[index]
        folder = self.root / self.keys[index]
        if self.mel_cache is None:
            mel = self._mels[index] = clip_mel(folder)
            return mel
        path = self.mel_cache / (hashlib.sha1(self.keys[index].encode()).hexdigest() + ".npy")
        if path.is_file():
            mel = self._mels[index] = np.load(path)
            return mel
        mel = clip_mel(folder)

        self.mel_cache.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            np.save(tmp, mel)
        return mel


def convert_wav2lip(
    root: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    splits: tuple[str, ...] = ("train", "val", "test"),
    filelists: str | os.PathLike[str] | None = None,
    size: int = 96,
    progress: bool = True,
) -> dict[str, int]:
    """Convert the original layout to a clip store at ``out``; resumable (listed clips are skipped).

    Missing or unreadable jpgs become placeholder frames recorded in ``meta.json["missing"]``, so
    windows keep the original's consecutive-frame rule. Splits whose filelist is absent are
    skipped, but a missing root or no filelist at all is a DatasetError. Returns counts:
    converted, skipped (already listed), empty (no jpgs or no audio).
    """
    lists = Path(filelists) if filelists is not None else Path(root) / "filelists"
    _check_source(_original_root(root), lists, splits)

    out = make_output_folder(out)
    clean_tmp(out, "convert")
    done = {r.id for r in read_clip_manifest(out)} if (out / MANIFEST).is_file() else set()
    counts = {"converted": 0, "skipped": 0, "empty": 0}
    for split in splits:
        if not (lists / f"{split}.txt").is_file():
            continue
        layout = Wav2LipLayout(root, split, filelists=lists, size=size)
        for key, ids in progress_of(list(zip(layout.keys, layout.ids)), show=progress, desc=f"convert {split}"):
            if key in done:
                counts["skipped"] += 1
                continue
            folder = layout.root / key
            try:
                wav = load_audio(folder / "audio.wav")
            except MediaError:
                counts["empty"] += 1
                continue
            frames, missing = _read_all(folder, ids, size)
            if frames is None:
                counts["empty"] += 1
                continue
            write_clip(out, key, frames, wav, fps=FPS, source=str(folder), missing=missing, tmp_name="convert")
            record = {"id": key, "frames": len(frames), "faces": len(frames) - len(missing), "fps": FPS,
                      "source": str(folder), "split": split}
            append_jsonl(out / MANIFEST, [record])
            done.add(key)
            counts["converted"] += 1
    finish_tmp(out, "convert")
    return counts


def _original_root(root: str | os.PathLike[str]) -> Path:
    """``root`` as a Path, or a DatasetError when it is not a folder."""
    path = Path(root)
    if not path.is_dir():
        raise DatasetError(f"{path}: not a folder (expected the original preprocessed root)")
    return path


def _check_source(root: Path, lists: Path, splits: tuple[str, ...]) -> None:
    """Fail before creating the store: a mistyped path would otherwise convert nothing and succeed."""
    if not any((lists / f"{split}.txt").is_file() for split in splits):
        expected = ", ".join(f"{split}.txt" for split in splits)
        raise DatasetError(f"{lists}: no filelist to convert (expected one of {expected})")


def _read_all(folder: Path, ids: np.ndarray, size: int) -> tuple[np.ndarray | None, list[int]]:
    """All crops of a clip as uint8 (max_id + 1, size, size, 3), with missing/unreadable ids listed."""
    if not len(ids):
        return None, []
    frames = np.zeros((int(ids.max()) + 1, size, size, 3), np.uint8)
    present = set()
    for i in ids:
        try:
            frames[i] = read_crop(folder / f"{i}.jpg", size)
            present.add(int(i))
        except DatasetError:
            continue
    if not present:
        return None, []
    return frames, [i for i in range(len(frames)) if i not in present]
