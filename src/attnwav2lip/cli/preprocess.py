"""`attnwav2lip preprocess`: videos (LRS2, LRS3, SynthTalk, any folder or list) or the original
Wav2Lip preprocessed layout -> the clip store used for training."""

from __future__ import annotations

import argparse

from ..data.preprocess import PreprocessConfig, OffsetCheckConfig, preprocess
from ..data.wav2lip_layout import convert_wav2lip
from ..errors import ConfigError
from ..faces.factory import DetectorConfig

# options of --videos (detection, sync check, parallelism) and their defaults; --from-wav2lip
# converts existing crops and uses none of them
VIDEO_OPTIONS = {
    "workers": 1, "shard": "0/1", "detector": "auto", "detector_weights": None, "sync_weights": None,
    "min_sync_confidence": 3.0,
}


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "preprocess",
        help="turn videos (or an original Wav2Lip preprocessed folder) into a training clip store",
        description="Detect and track the speaker, crop faces, cut at scenes, and store 25 fps crops with "
        "16 kHz audio and cached mels. Resumable: rerun the same command after a crash.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--videos", metavar="DIR|LIST", help="LRS2/LRS3/SynthTalk root, a folder of videos, or a list file")
    source.add_argument("--from-wav2lip", metavar="ROOT", help="convert the original layout (N.jpg + audio.wav, filelists/*.txt)")
    parser.add_argument("--out", required=True, metavar="DATASET", help="clip store folder (created if missing)")
    parser.add_argument("--workers", type=int, default=VIDEO_OPTIONS["workers"],
                        help="processes working on videos in parallel (default 1)")
    parser.add_argument("--shard", default=VIDEO_OPTIONS["shard"], metavar="I/N", help="process only shard I of N (default 0/1)")
    parser.add_argument("--detector", default=VIDEO_OPTIONS["detector"], help="auto | mediapipe | haar | s3fd (default auto)")
    parser.add_argument("--detector-weights", default=VIDEO_OPTIONS["detector_weights"], metavar="PATH",
                        help="s3fd.pth for --detector s3fd")
    parser.add_argument("--size", type=int, default=96, help="face crop size in pixels (default 96)")
    parser.add_argument("--sync-weights", default=VIDEO_OPTIONS["sync_weights"], metavar="PATH",
                        help="evaluation SyncNet weights: measure each clip's A/V offset, shift it, drop unsynced clips")
    parser.add_argument("--min-sync-confidence", type=float, default=VIDEO_OPTIONS["min_sync_confidence"],
                        help="with --sync-weights: drop clips below this LSE-C (default 3)")
    parser.add_argument("--filelists", default=None, metavar="DIR", help="with --from-wav2lip: folder of train/val/test.txt (default ROOT/filelists)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)


def parse_shard(text: str) -> tuple[int, int]:
    try:
        index, count = (int(v) for v in text.split("/"))
    except ValueError:
        raise ConfigError(f"--shard {text!r}: expected I/N, e.g. 0/4") from None
    return index, count


def check_options(args: argparse.Namespace) -> None:
    """Refuse options the chosen source ignores, rather than run without them."""
    if args.from_wav2lip:
        given = [f"--{name.replace('_', '-')}" for name, default in VIDEO_OPTIONS.items() if getattr(args, name) != default]
        if given:
            raise ConfigError(f"--from-wav2lip converts existing crops: {', '.join(given)} apply to --videos only")
    elif args.filelists is not None:
        raise ConfigError("--filelists applies to --from-wav2lip only")


def run(args: argparse.Namespace) -> int:
    check_options(args)
    if args.from_wav2lip:
        counts = convert_wav2lip(args.from_wav2lip, args.out, filelists=args.filelists, size=args.size, progress=not args.quiet)
    else:
        config = PreprocessConfig(
            size=args.size,
            detector=DetectorConfig(name=args.detector, weights=args.detector_weights),
            sync=OffsetCheckConfig(weights=args.sync_weights, min_confidence=args.min_sync_confidence),
        )
        counts = preprocess(args.videos, args.out, config, workers=args.workers, shard=parse_shard(args.shard), progress=not args.quiet)
    print(" ".join(f"{k}={v}" for k, v in counts.items()))
    return 0
