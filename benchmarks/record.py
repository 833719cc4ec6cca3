"""The numbers a speed benchmark prints, also as JSON: one file per run, beside the printed tables.

Each ``bench_*.py`` adds every row it prints with ``Record.add(table, **cells)`` and ends with
``Record.save()``, which writes ``benchmarks/results/<script>.json`` (or ``--json PATH``) with the
machine the numbers came from, so runs on different machines or days can be compared by program.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


def add_json_argument(parser: argparse.ArgumentParser) -> None:
    """``--json PATH``: where the run's JSON goes (default: benchmarks/results/<script>.json)."""
    parser.add_argument("--json", type=Path, metavar="PATH",
                        help="write the numbers as JSON here (default: benchmarks/results/<script>.json)")


class Record:
    """The rows of one benchmark run, grouped by table, with the run's settings and machine."""

    def __init__(self, script: str, args: argparse.Namespace) -> None:
        self.name = Path(script).stem
        self.path: Path = getattr(args, "json", None) or RESULTS / f"{self.name}.json"
        self.settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k != "json"}
        self.tables: dict[str, list[dict[str, Any]]] = {}

    def add(self, table: str, **cells: Any) -> None:
        self.tables.setdefault(table, []).append(cells)

    def save(self) -> Path:
        import torch

        machine = {"python": platform.python_version(), "torch": torch.__version__, "platform": platform.platform(),
                   "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                   "load_average": os.getloadavg()[0]}
        data = {"benchmark": self.name, "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "argv": sys.argv[1:], "settings": self.settings, "machine": machine, "tables": self.tables}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
        print(f"\nJSON: {self.path}")
        return self.path
