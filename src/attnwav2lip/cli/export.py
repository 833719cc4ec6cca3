"""`attnwav2lip export`: a generator checkpoint to ONNX, checked against torch on random input."""

from __future__ import annotations

import argparse

from ..errors import ConfigError
from ..export import TOLERANCE, export_checkpoint


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a generator to ONNX (inputs mels, faces; output generated) and verify it",
        description=(
            "Export a generator checkpoint to one self-contained ONNX file, then run torch and onnxruntime "
            "on the same random batches (sizes 1 and 3) and print the largest absolute difference "
            "(docs/export.md). Exit code 1, and no file, when it exceeds 1e-4. Needs pip install 'attnwav2lip[export]'."
        ),
    )
    parser.add_argument("--checkpoint", required=True, metavar="G", help="generator checkpoint")
    parser.add_argument("-o", "--out", required=True, metavar="MODEL.onnx", help="ONNX file to write")
    parser.add_argument(
        "--batch", default="dynamic",
        help="'dynamic' (default) or a fixed batch size; a fixed size is still callable with any N",
    )
    parser.add_argument("--opset", type=int, default=18, help="ONNX opset, >= 17 (default 18)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.batch != "dynamic" and not args.batch.isdigit():
        raise ConfigError(f"--batch must be 'dynamic' or a positive integer, got {args.batch!r}")
    batch = args.batch if args.batch == "dynamic" else int(args.batch)
    differences = export_checkpoint(args.checkpoint, args.out, batch=batch, opset=args.opset, tolerance=TOLERANCE)
    for n, diff in differences.items():
        print(f"batch {n}: max |torch - onnxruntime| = {diff:.3g}")
    worst = max(differences.values())
    if worst > TOLERANCE:
        print(f"export does not match torch: {worst:.3g} > {TOLERANCE:g}; {args.out} not written")
        return 1
    print(f"wrote {args.out} (batch {batch}, opset {args.opset})")
    return 0
