#!/usr/bin/env python3
"""The attention ablation at CPU scale, from the command line (the library: ``attnwav2lip.evaluation.ablation``).

    # 1. train: one run per variant and seed into OUT/<variant>_s<seed>; rerun the same command after an
    #    interruption (finished runs are skipped, partial ones resumed from their latest checkpoint)
    nice -n 19 .venv/bin/python experiments/ablation.py train --store data/synth_store --expert runs/synth_expert \\
        --config configs/ablation_cpu.yaml --out runs/ablation [--seeds 0 1 2] [--variants none spatial channel both]
        [--steps 400]
    # 2. report: score every finished run's final generator on the same SynthTalk test pairs
    nice -n 19 .venv/bin/python experiments/ablation.py report --corpus data/synth --evaluator runs/synth_evaluator \\
        --out runs/ablation [--pairs 8]

See docs/ablation.md.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Sequence

from attnwav2lip.evaluation.ablation import VARIANTS, plan_runs, report, train

RECIPE = Path(__file__).resolve().parent.parent / "configs" / "ablation_cpu.yaml"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("train", "report"))
    parser.add_argument("--out", required=True, type=Path, help="the ablation folder: one run per variant and seed")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    train_args = parser.add_argument_group("train")
    train_args.add_argument("--store", help="clip store from `attnwav2lip preprocess` (default: the recipe's)")
    train_args.add_argument("--expert", help="the frozen lip-sync expert: weights file, or train-expert run folder")
    train_args.add_argument("--config", default=str(RECIPE), help="the per-run schedule (default: %(default)s)")
    train_args.add_argument("--steps", type=int, help="override schedule.max_steps of every run")
    report_args = parser.add_argument_group("report")
    report_args.add_argument("--corpus", help="the SynthTalk corpus folder (with manifest.jsonl)")
    report_args.add_argument("--evaluator", help="the SynthTalk evaluator: weights file, or train-evaluator run folder")
    report_args.add_argument("--pairs", type=int, default=8, help="test pairs (identity A saying sentence B) per run")
    report_args.add_argument("--split", default="test")
    report_args.add_argument("--pair-seed", type=int, default=0, help="seed of the pair draw (the same for every run)")
    report_args.add_argument("--threads", type=int, default=1, help="torch threads for scoring")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    runs = plan_runs(args.out, args.variants, args.seeds)
    if args.phase == "train":
        if args.expert is None:
            parser.error("train needs --expert")
        train(runs, recipe=args.config, store=args.store, expert=args.expert, steps=args.steps)
        return
    if args.corpus is None or args.evaluator is None:
        parser.error("report needs --corpus and --evaluator")
    import torch

    torch.set_num_threads(args.threads)
    print(report(runs, corpus=args.corpus, evaluator=args.evaluator, pairs=args.pairs, split=args.split,
                 pair_seed=args.pair_seed), end="")


if __name__ == "__main__":
    main()
