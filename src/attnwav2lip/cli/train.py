"""`attnwav2lip train`: train the (attention) generator against a frozen lip-sync expert."""

from __future__ import annotations

import argparse
import json
from typing import Any

from ..config import parse_assignments

ATTENTION = ("none", "spatial", "channel", "both")
PRECISIONS = ("auto", "fp32", "bf16")  # attnwav2lip.precision.PRECISIONS, spelled out to keep --help fast


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "train", help="train the generator (L1 + sync loss with the 0.75 rule + GAN)",
        description="Train the generator: L = (1-a-b) L1 + a L_sync + b L_gen. See docs/training.md.")
    add_run_arguments(parser)
    parser.add_argument("--expert", required=True, metavar="CKPT",
                        help="the frozen lip-sync expert: a checkpoint file or a train-expert run folder")
    parser.add_argument("--attention", choices=ATTENTION, help="override model.attention")
    parser.add_argument("--init", metavar="CKPT", help="start the generator from a Wav2Lip (or own) checkpoint")
    parser.add_argument("--init-disc", metavar="CKPT", help="start the discriminator from a checkpoint")
    parser.add_argument("--sync-schedule", choices=("rule", "fixed"),
                        help="alpha by the 0.75 rule, or fixed from the first step (also to switch it on when resuming)")
    parser.add_argument("--expert-bn", choices=("train", "eval"), help="BatchNorm mode of the frozen expert")
    parser.add_argument("--no-gan", action="store_true", help="train without the quality discriminator")
    parser.set_defaults(func=run)


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments both training commands share."""
    parser.add_argument("--config", metavar="RECIPE", help="YAML recipe (configs/*.yaml); default: the "
                        "resumed run's config, else built-in defaults")
    parser.add_argument("--out", "-o", metavar="RUN_DIR", help="run folder (required unless resuming)")
    parser.add_argument("--resume", nargs="?", const="", metavar="CKPT",
                        help="resume exactly: from CKPT (a checkpoint or run folder), or from --out's latest")
    parser.add_argument("--data", metavar="DIR", help="override data.root")
    parser.add_argument("--max-steps", type=int, help="override schedule.max_steps")
    parser.add_argument("--batch-size", type=int, help="override data.batch_size (the global batch)")
    parser.add_argument("--workers", type=int, help="override data.num_workers")
    parser.add_argument("--device", help="override runtime.device (auto, cpu, cuda, cuda:1)")
    parser.add_argument("--seed", type=int, help="override runtime.seed")
    parser.add_argument("--precision", choices=PRECISIONS,
                        help="override runtime.precision: bf16 autocast + channels_last, fp32, or auto (bf16 on CUDA "
                             "and on CPUs with native bf16 where a probe measures it faster)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="assignments",
                        help="override any recipe key, e.g. --set sync.weight=0.05 --set schedule.lr_decay_at=[40000] "
                             "(repeatable; checked against the config's types; applied after the flags above)")


def run_overrides(cls: type, args: argparse.Namespace, extra: dict[str, Any]) -> dict[str, Any]:
    """Dotted config keys of config class ``cls`` for the arguments that were given, ``--set`` last."""
    given = {
        "data.root": args.data, "schedule.max_steps": args.max_steps, "data.batch_size": args.batch_size,
        "data.num_workers": args.workers, "runtime.device": args.device, "runtime.seed": args.seed,
        "runtime.precision": args.precision,
        "runtime.progress": False if args.no_progress else None, **extra,
    }
    return {**{key: value for key, value in given.items() if value is not None},
            **parse_assignments(cls, args.assignments)}


def resume_source(args: argparse.Namespace) -> str | None:
    """``--resume`` alone resumes the run in ``--out``."""
    return args.out if args.resume == "" else args.resume


def run(args: argparse.Namespace) -> int:
    from ..train import TrainConfig, resolve_config, train_generator

    resume = resume_source(args)
    overrides = run_overrides(TrainConfig, args, {
        "model.attention": args.attention, "sync.schedule": args.sync_schedule, "sync.expert_bn": args.expert_bn,
        "gan.enabled": False if args.no_gan else None,
    })
    config = resolve_config(TrainConfig, args.config, overrides, resume)
    metrics = train_generator(config, args.out, expert=args.expert, init=args.init,
                              init_discriminator=args.init_disc, resume=resume)
    print(json.dumps({"validation": metrics}))
    return 0
