"""`attnwav2lip demo`: render a SynthTalk face, lip-sync it to other speech, score it against the truth."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="lip-sync a rendered SynthTalk face to a different sentence and score it against the truth",
        description=__doc__,
    )
    parser.add_argument("--out", default="demo_output", help="output folder (default: demo_output)")
    parser.add_argument("--checkpoint", help="generator checkpoint (default: the built-in model)")
    parser.add_argument("--evaluator", help="SynthTalk evaluator for the LSE lines (default: the built-in one)")
    parser.add_argument("--identity", type=int, default=11, help="SynthTalk identity seed (default: 11)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..demo import DemoConfig, format_result, run_demo

    config = DemoConfig(identity_seed=args.identity, checkpoint=args.checkpoint, evaluator=args.evaluator)
    print(format_result(run_demo(args.out, config, progress=not args.no_progress)))
    return 0
