"""`attnwav2lip sync`: lip-sync a face video or image to speech (docs/sync.md)."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "sync", help="lip-sync a face video or image to an audio file or a text",
        description="Make --face speak --audio (or --text) and write an H.264 + AAC mp4.",
    )
    p.add_argument("--face", required=True, help="video (mp4, mov, mkv, webm, avi...) or still image")
    speech = p.add_mutually_exclusive_group(required=True)
    speech.add_argument("--audio", help="any audio file, or a video whose sound track to use")
    speech.add_argument("--text", help="text spoken by espeak-ng instead of --audio")
    p.add_argument("-o", "--output", "--outfile", dest="output", required=True, help="output .mp4")
    p.add_argument("--checkpoint", help="generator weights (any format load_model reads); default: built-in")
    p.add_argument("--static", action="store_true", help="use only the first frame of a video")
    p.add_argument("--fps", type=float, help="frame rate for a still image (default 25)")
    p.add_argument("--pads", type=int, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="pixels added around the detected face (default 0 10 0 0)")
    p.add_argument("--box", type=int, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="fixed face box; skips detection")
    p.add_argument("--crop", type=int, nargs=4, metavar=("TOP", "BOTTOM", "LEFT", "RIGHT"),
                   help="crop the input first (-1: full extent)")
    p.add_argument("--rotate", action="store_true", default=None, help="rotate the input 90 degrees clockwise")
    p.add_argument("--resize-factor", type=int, help="work (and write) at 1/N of the input resolution")
    p.add_argument("--nosmooth", dest="smooth", action="store_false", default=None, help="no box smoothing")
    p.add_argument("--face-index", type=int, help="which face: 0 = largest and longest on screen (default)")
    p.add_argument("--detector", choices=("auto", "mediapipe", "haar", "s3fd"), help="face detector (default auto)")
    p.add_argument("--detector-weights", help="s3fd.pth for --detector s3fd")
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
    p.add_argument("--quiet", dest="progress", action="store_false", default=None, help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..lipsync import LipSyncer, options_from

    values = vars(args)
    options = options_from(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})
    report = LipSyncer(args.checkpoint, options).sync(args.face, args.audio, args.output, text=args.text)
    note = f", {report.missing_face_frames} without a face (unchanged)" if report.missing_face_frames else ""
    print(f"wrote {report.output}: {report.frames} frames at {report.fps:g} fps in {report.seconds:.1f} s{note} "
          f"[{report.precision}]")
    return 0
