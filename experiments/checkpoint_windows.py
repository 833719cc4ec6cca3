"""Score a run by windows of consecutive checkpoints, from one `evaluate synthtalk` scores.csv.

One checkpoint's lip-sync scores move between checkpoints 500 steps apart by more than recipes
differ (docs/training_synthtalk.md), so a run is judged by the mean of several consecutive
checkpoints. For every window of ``--window`` consecutive generator rows (in the order they were
given to `evaluate synthtalk --checkpoint ...`), this prints the mean over the window of each
row's mean over pairs, and the mean of the rows' median |offset|, beside the reference rows:

    attnwav2lip evaluate synthtalk CORPUS --split val --evaluator EVALUATOR --out OUT \\
        --checkpoint RUN/checkpoints/step_000013000 --checkpoint RUN/checkpoints/step_000013500 ...
    python experiments/checkpoint_windows.py OUT/scores.csv --window 3
"""

from __future__ import annotations

import argparse
import csv
import math
from collections import defaultdict
from pathlib import Path
from statistics import mean, median

REFERENCE_ROWS = ("ground truth", "truth at 96 px", "input (do nothing)")
COLUMNS = (("lse_d", "LSE-D"), ("lse_c", "LSE-C"), ("opening_corr", "opening r"), ("psnr", "PSNR dB"),
           ("l1", "L1"), ("mouth_l1", "mouth L1"))


def read_rows(path: Path) -> dict[str, list[dict[str, str]]]:
    """Per-pair records of each row, rows in file order; pairs that failed are left out."""
    rows: dict[str, list[dict[str, str]]] = defaultdict(list)
    with path.open(newline="", encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            if not record["error"]:
                rows[record["row"]].append(record)
    return rows


def row_scores(records: list[dict[str, str]]) -> dict[str, float]:
    """Mean over pairs of every column, and the median |offset|."""
    scores = {}
    for name, _ in COLUMNS:
        values = [float(r[name]) for r in records if math.isfinite(float(r[name]))]
        scores[name] = mean(values) if values else math.nan
    scores["abs_offset"] = median(abs(float(r["offset"])) for r in records)
    return scores


def table(lines: list[tuple[str, dict[str, float]]]) -> str:
    header = ["row", *(label for _, label in COLUMNS), "median |offset|"]
    out = ["| " + " | ".join(header) + " |", "|---" + "|---:" * (len(header) - 1) + "|"]
    for name, scores in lines:
        cells = [f"{scores[key]:.4f}" if key in ("l1", "mouth_l1") else f"{scores[key]:.3f}" for key, _ in COLUMNS]
        out.append(f"| {name} | " + " | ".join(cells) + f" | {scores['abs_offset']:.2f} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scores", type=Path, help="scores.csv written by `evaluate synthtalk`")
    parser.add_argument("--window", type=int, default=3, help="consecutive checkpoints per window (default 3)")
    args = parser.parse_args()
    rows = read_rows(args.scores)
    generators = [name for name in rows if name not in REFERENCE_ROWS]
    per_row = {name: row_scores(records) for name, records in rows.items()}
    lines = [(name, per_row[name]) for name in rows if name in REFERENCE_ROWS]
    lines += [(name, per_row[name]) for name in generators]
    for start in range(len(generators) - args.window + 1):
        members = generators[start : start + args.window]
        window = {key: mean(per_row[m][key] for m in members) for key in per_row[members[0]]}
        lines.append((f"mean of {members[0]} .. {members[-1]}", window))
    print(table(lines))


if __name__ == "__main__":
    main()
