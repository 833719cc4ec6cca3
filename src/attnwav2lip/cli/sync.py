"""`attnwav2lip sync`: lip-sync a face video or image to speech (docs/sync.md)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..lipsync.batch import run_batch
from .preprocess import parse_shard

if TYPE_CHECKING:
    from ..lipsync import LipSyncer


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sync", help="lip-sync a face video or image to an audio file or a text",
        description="Make --face speak --audio (or --text) and write an H.264 + AAC video (.mp4, .m4v, .mov or "
                    ".mkv); or run every row of a --batch manifest with one loaded model (docs/sync.md). "
                    "Exit codes: 0 done (every row, with --batch), 1 some --batch rows failed, 2 a usage or input "
                    "error, 128 + N stopped by signal N (130 Ctrl-C, 143 SIGTERM).",
    )
    p.add_argument("--face", help="video (mp4, mov, mkv, webm, avi...) or still image")
    speech = p.add_mutually_exclusive_group()
    speech.add_argument("--audio", help="any audio file, or a video whose sound track to use")
    speech.add_argument("--text", help="text spoken by espeak-ng instead of --audio")
    p.add_argument("-o", "--output", "--outfile", dest="output", help="output .mp4 (or .m4v, .mov, .mkv)")
    p.add_argument("--batch", metavar="MANIFEST",
                   help="CSV or JSONL rows of face, audio or text, output and per-row options, instead of "
                        "--face/--audio/--text/-o; resumable, a bad row fails alone")
    p.add_argument("--shard", metavar="K/N", help="with --batch: run rows K, K+N, K+2N... (K counts from 0: 0/4 .. 3/4)")
    p.add_argument("--status", metavar="FILE",
                   help="with --batch: status file (default: beside the manifest, MANIFEST.shard-K-of-N.status.jsonl)")
    p.add_argument("--checkpoint", help="generator weights (any format load_model reads); default: built-in")
    p.add_argument("--static", action="store_true", help="use only the first frame of a video")
    p.add_argument("--fps", type=float, help="frame rate for a still image (default 25, at most 240)")
    p.add_argument("--pads", type=int, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="pixels added around the detected face (default 0 10 0 0)")
    p.add_argument("--box", type=int, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="fixed face box; skips detection")
    p.add_argument("--crop", type=int, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="crop the input first (-1: full extent)")
    p.add_argument("--rotate", action="store_true", default=None,
                   help="rotate the input 90 degrees clockwise, after any rotation its metadata asks for")
    p.add_argument("--resize-factor", type=int, help="work (and write) at 1/N of the input resolution")
    p.add_argument("--nosmooth", dest="smooth", action="store_false", default=None, help="no box smoothing")
    p.add_argument("--face-index", type=int, help="which face: 0 = largest and longest on screen (default)")
    p.add_argument("--detector", choices=("auto", "mediapipe", "haar", "s3fd"), help="face detector (default auto)")
    p.add_argument("--detector-weights", help="s3fd.pth for --detector s3fd")
    p.add_argument("--detect-every", type=int, metavar="K",
                   help="detect faces in every K-th frame only and move them in between; frames around scene "
                        "cuts and fast motion are all detected (default 1: every frame)")
    p.add_argument("--landmarks", action="store_true", default=None, help="blend mask follows the jaw line")
    p.add_argument("--no-cache", dest="detection_cache", action="store_false", default=None,
                   help="do not reuse or store face detections")
    p.add_argument("--on-missing-face", choices=("pass", "error"), help="frames without a face (default pass)")
    p.add_argument("--loop", choices=("pingpong", "forward"), help="repeat a short video (default pingpong)")
    p.add_argument("--reference", choices=("frame", "window", "neutral"), help="identity reference (default frame)")
    p.add_argument("--neutral-frame", type=int, help="source frame used as the neutral reference")
    p.add_argument("--close-on-silence", action="store_true", default=None, help="closed mouth on silent audio")
    p.add_argument("--blend", choices=("feather", "none"), help="paste with a feathered mask (default) or a rectangle")
    p.add_argument("--batch-size", type=int, help="frames per generator batch (default 16)")
    p.add_argument("--device", metavar="DEVICE", help="auto | cpu | cuda | cuda:N | mps (default auto)")
    p.add_argument("--precision", choices=("auto", "fp32", "bf16"),
                   help="generator precision: bf16 autocast + channels_last, fp32, or auto (default: bf16 on CPUs "
                        "with native bf16 where a start-up probe measures it faster, float16 on CUDA, else fp32)")
    p.add_argument("--preset", help="x264 speed preset, ultrafast ... placebo (default veryfast)")
    p.add_argument("--crf", type=int, help="x264 quality, 0-51, lower is better (default 18)")
    p.add_argument("--no-overlap", dest="overlap", action="store_false", default=None,
                   help="run decode, crop, generator, blend and encode one after the other in one thread "
                        "(slower; for debugging and as the benchmark's baseline)")
    p.add_argument("--quiet", dest="progress", action="store_false", default=None, help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..lipsync import LipSyncer, options_from

    single = {"--face": args.face, "--audio": args.audio, "--text": args.text, "-o": args.output}
    if args.batch is not None:
        given = [flag for flag, value in single.items() if value is not None]
        if given:
            raise ConfigError(f"--batch takes face, speech and output from the manifest, not {', '.join(given)}")
    elif args.face is None or args.output is None or (args.audio is None and args.text is None):
        raise ConfigError("needs --face, --audio or --text, and -o (or --batch MANIFEST)")
    elif args.shard is not None or args.status is not None:
        raise ConfigError("--shard and --status apply to --batch only")
    values = vars(args)
    options = options_from(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    syncer = LipSyncer(args.checkpoint, options)
    if args.batch is not None:
        return _run_batch(args, syncer)
    report = syncer.sync(args.face, args.audio, args.output, text=args.text)
    note = f", {report.missing_face_frames} without a face (unchanged)" if report.missing_face_frames else ""
    print(f"wrote {report.output}: {report.frames} frames at {report.fps:g} fps in {report.seconds:.1f} s{note} "
          f"[{report.precision}]")
    return 0


def _run_batch(args: argparse.Namespace, syncer: "LipSyncer") -> int:
    """The batch's summary on stdout; exit 0 when every row of the shard is done, 1 otherwise."""

    shard = parse_shard(args.shard) if args.shard is not None else (0, 1)
    report = run_batch(args.batch, syncer, shard=shard, status=args.status)
    print(f"batch {args.batch} shard {shard[0]}/{shard[1]}: {len(report.results)} rows, {report.count('done')} done, "
          f"{report.count('skipped')} done earlier, {len(report.failed)} failed (status: {report.status_file})")
    for result in report.failed:
        print(f"  failed row {result.number} ({result.output}): {result.error}")
    return 1 if report.failed else 0
