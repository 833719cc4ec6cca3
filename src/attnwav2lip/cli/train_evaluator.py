"""`attnwav2lip train-evaluator`: a SyncNet evaluator trained on SynthTalk's reserved evaluator split."""

from __future__ import annotations

import argparse
import json

from .train import add_run_arguments, resume_source, run_overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train-evaluator", help="train a SynthTalk evaluator (SyncNet's contrastive loss, evaluator split)",
        description=(
            "Train a narrow evaluation SyncNet on the 'evaluator' split of a SynthTalk corpus (--data), on "
            "in-sync and shifted windows with SyncNet's contrastive loss. Its scores are 'LSE (SynthTalk "
            "evaluator)' and are never comparable with syncnet_v2's. See docs/evaluation.md."
        ),
    )
    add_run_arguments(parser)
    parser.add_argument("--width", type=float, help="override model.width (default 0.25)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..train.evaluator import EvaluatorTrainConfig, train_evaluator
    from ..train import resolve_config

    resume = resume_source(args)
    overrides = run_overrides(EvaluatorTrainConfig, args, {"model.width": args.width})
    config = resolve_config(EvaluatorTrainConfig, args.config, overrides, resume)
    metrics = train_evaluator(config, args.out, resume=resume)
    print(json.dumps({"validation": metrics}))
    return 0
