"""`attnwav2lip synth-references`: give a SynthTalk clip store rendered generator references."""

from __future__ import annotations

import argparse

from ..data.store import read_clip_manifest
from ..progress import progress_of


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "synth-references", help="render each clip of a SynthTalk store again with another sentence's mouth",
        description="Writes references.npy into every clip of a clip store made (by `preprocess`) from a "
                    "SynthTalk corpus: the clip's frames, rendered again with the mouth of another sentence "
                    "of the same split and cropped with the clip's own boxes. Training reads them with "
                    "data.sampling.window.reference: rendered (docs/data.md).",
    )
    parser.add_argument("--corpus", required=True, metavar="DIR", help="the SynthTalk corpus (`attnwav2lip synth`)")
    parser.add_argument("--store", required=True, metavar="DIR", help="the clip store made from it (`attnwav2lip preprocess`)")
    parser.add_argument("--seed", type=int, default=0, help="draws each clip's donor sentence (default 0)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..data.rendered_references import write_rendered_references

    total = len(read_clip_manifest(args.store))
    written = sum(1 for _ in progress_of(write_rendered_references(args.store, args.corpus, seed=args.seed),
                                          total=total, unit="clip", desc="references"))
    print(f"{written} clips of {args.store} have rendered references")
    return 0
