"""`attnwav2lip build-builtin`: turn three training runs into the models that ship with the package."""

from __future__ import annotations

import argparse

from ..builtin import export_builtin


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "build-builtin",
        help="write the built-in generator, expert and SynthTalk evaluator (float16) from training runs",
        description=(
            "Each source is a .safetensors file, a training checkpoint folder or a run folder (its latest "
            "checkpoint). The three are stored with float16 parameters in the package's assets folder "
            "(or --out), only if together they fit the size limit. MODEL_CARD.md is not touched."
        ),
    )
    parser.add_argument("--generator", required=True, metavar="RUN", help="generator run, checkpoint or file")
    parser.add_argument("--expert", required=True, metavar="RUN", help="lip-sync expert run, checkpoint or file")
    parser.add_argument("--evaluator", required=True, metavar="RUN", help="SynthTalk evaluator run, checkpoint or file")
    parser.add_argument("--out", metavar="DIR", help="output folder (default: the package's assets folder)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    assets = export_builtin(args.generator, args.expert, args.evaluator, args.out)
    for asset in assets.values():
        print(f"{asset.kind:9s} {asset.parameters:>10,d} parameters {asset.bytes / 1e6:6.2f} MB  {asset.path}  <- {asset.source}")
    print(f"total {sum(a.bytes for a in assets.values()) / 1e6:.2f} MB")
    return 0
