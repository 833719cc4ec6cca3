"""Which videos to preprocess, under which key and split: LRS2, LRS3, SynthTalk, or any folder/list.

Recognised inputs (``find_videos``):
- **LRS2**: a folder with ``main/`` (and optionally ``pretrain/``) and filelists ``train.txt``,
  ``val.txt``, ``test.txt`` (``pretrain.txt``) whose lines start with ``5535415699068794046/00001``;
  key = that token, split = the filelist's name.
- **LRS3**: a folder with ``pretrain/``, ``trainval/`` and/or ``test/`` holding ``<spk>/<clip>.mp4``;
  key = ``<split>/<spk>/<clip>``, split = the folder's name.
- **SynthTalk**: a corpus folder (``corpus.yaml`` + ``manifest.jsonl``); its split column is used.
- any other folder: every video below it (key = relative path without suffix, split "train");
- a text file: one video path per line (relative to the file), split "train".
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

from ..synth.corpus import read_corpus_manifest
from ..video import VIDEO_SUFFIXES
from .store import DatasetError

LRS2_LISTS = ("train", "val", "test", "pretrain")
LRS3_SPLITS = ("pretrain", "trainval", "test")


@dataclasses.dataclass(frozen=True)
class VideoItem:
    """One source video: ``key`` names its clips in the store (unique, stable across runs)."""

    key: str
    path: Path
    split: str


def find_videos(videos: str | os.PathLike[str]) -> list[VideoItem]:
    """The videos of a dataset folder or list file, sorted by key (see the module docstring)."""
    root = Path(videos)
    if root.is_file():
        items = _from_list(root)
    elif (root / "main").is_dir() and any((root / f"{s}.txt").is_file() for s in LRS2_LISTS):
        items = _lrs2(root)
    elif any((root / s).is_dir() for s in LRS3_SPLITS):
        items = _lrs3(root)
    elif (root / "corpus.yaml").is_file():
        items = _synthtalk(root)
    elif root.is_dir():
        items = [VideoItem(_key(p.relative_to(root)), p, "train") for p in _walk(root)]
    else:
        raise DatasetError(f"{root}: not found (expected a folder of videos or a list file)")
    keys = [item.key for item in items]
    if len(set(keys)) != len(keys):
        raise DatasetError(f"{root}: two videos map to the same key")
    return sorted(items, key=lambda item: item.key)


def in_shard(key: str, shard: int, num_shards: int) -> bool:
    """Stable assignment of a video to one of ``num_shards`` (a hash of its key, not its position)."""
    return int(hashlib.sha1(key.encode("utf-8")).hexdigest()[:12], 16) % num_shards == shard


def _key(relative: Path) -> str:
    return relative.with_suffix("").as_posix()


def _walk(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.suffix.lower() in VIDEO_SUFFIXES and p.is_file())


def _from_list(path: Path) -> list[VideoItem]:
    items = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            video = (path.parent / line.strip()).resolve()
            items.append(VideoItem(_key(Path(line.strip())).lstrip("./") or video.stem, video, "train"))
    return items


def _lrs2(root: Path) -> list[VideoItem]:
    items = []
    for split in LRS2_LISTS:
        listing = root / f"{split}.txt"
        if not listing.is_file():
            continue
        folder = root / ("pretrain" if split == "pretrain" else "main")
        for line in listing.read_text(encoding="utf-8").splitlines():
            if line.strip():
                key = line.split()[0]
                items.append(VideoItem(key, folder / f"{key}.mp4", split))
    return items


def _lrs3(root: Path) -> list[VideoItem]:
    items = []
    for split in LRS3_SPLITS:
        if (root / split).is_dir():
            items += [VideoItem(_key(p.relative_to(root)), p, split) for p in _walk(root / split)]
    return items


def _synthtalk(root: Path) -> list[VideoItem]:
    try:
        return [VideoItem(str(r["id"]), root / r["video"], str(r["split"])) for r in read_corpus_manifest(root)]
    except (KeyError, TypeError):
        raise DatasetError(f"{root / 'manifest.jsonl'}: expected SynthTalk records with id, video and split") from None
