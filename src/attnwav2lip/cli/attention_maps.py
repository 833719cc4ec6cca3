"""`attnwav2lip attention-maps`: the paper's Fig. 3 for any checkpoint, plus how much attention falls on the mouth."""

from __future__ import annotations

import argparse

from ..outputs import check_output_file
from ..video import write_png
from ..viz import attention_report


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "attention-maps",
        help="draw a generator's spatial attention maps over face crops (the paper's Fig. 3)",
        description=(
            "Detect the face in an image or in a few evenly spaced video frames, crop it to 96x96, run the "
            "generator and draw every block's spatial attention map (>= 12x12) over the crops. Prints each "
            "block's share of attention inside a mouth box against the box's share of the crop area "
            "(docs/attention_maps.md). Needs a generator with spatial attention ('spatial' or 'both')."
        ),
    )
    parser.add_argument("--checkpoint", required=True, metavar="G", help="generator checkpoint")
    parser.add_argument("--face", required=True, metavar="IMAGE_OR_VIDEO", help="image or video with a face")
    parser.add_argument(
        "--audio", metavar="A",
        help="speech for the mel windows (default: a video's own audio track, else silence)",
    )
    parser.add_argument(
        "--mouth-box", type=int, nargs=4, metavar=("X1", "Y1", "X2", "Y2"),
        help="mouth region in 96x96 crop pixels, end exclusive (default: the lower middle, 22 54 74 78)",
    )
    parser.add_argument(
        "--synthtalk-truth", metavar="CLIP.npz",
        help="--face is a SynthTalk clip: take each row's true mouth box from its truth file (clips/<id>.npz)",
    )
    parser.add_argument("--frames", type=int, default=4, help="rows: video frames, or speech windows for an image (default 4)")
    parser.add_argument("-o", "--out", required=True, metavar="OUT.png", help="figure to write (PNG)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    check_output_file(args.out, (args.checkpoint, args.face, args.audio, args.synthtalk_truth), suffixes={".png"})
    report = attention_report(
        args.checkpoint, args.face, audio=args.audio,
        mouth_box=tuple(args.mouth_box) if args.mouth_box else None, frames=args.frames,
        synthtalk_truth=args.synthtalk_truth,
    )
    write_png(args.out, report.figure)
    print(f"wrote {args.out}: {len(report.frames)} row(s), frames {list(report.frames)}, speech: {report.audio}")
    if args.synthtalk_truth:
        print(f"true SynthTalk mouth box per row {list(report.mouth_boxes)} (x1 y1 x2 y2 in the 96x96 crop)")
    else:
        print(f"mouth box {report.mouth_boxes[0]} (x1 y1 x2 y2 in the 96x96 crop)")
    print(f"{'block':<10} {'attention in box':>16} {'area of box':>11} {'ratio':>6}")
    for block, (share, area) in report.shares.items():
        print(f"{block:<10} {share:>16.3f} {area:>11.3f} {share / area:>6.2f}")
    return 0
