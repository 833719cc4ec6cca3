"""`attnwav2lip train-expert`: train the lip-sync expert (SyncNet_color) the generator's sync loss uses."""

from __future__ import annotations

import argparse
import json

from .train import add_run_arguments, resume_source, run_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-expert", help="train the lip-sync expert (cosine + BCE on in-sync / shifted windows)",
        description="Train SyncNet_color on in-sync and shifted windows. See docs/training.md.")
    add_run_arguments(parser)
    parser.add_argument("--width", type=float, help="override model.width")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train import ExpertTrainConfig, resolve_config, train_expert

    resume = resume_source(args)
    overrides = run_overrides(ExpertTrainConfig, args, {"model.width": args.width})
    config = resolve_config(ExpertTrainConfig, args.config, overrides, resume)
    metrics = train_expert(config, args.out, resume=resume)
    print(json.dumps({"validation": metrics}))
    return 0
