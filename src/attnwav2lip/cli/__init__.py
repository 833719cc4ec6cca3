"""The one ``attnwav2lip`` command. Each subcommand lives in its own module of this package.

A command module defines ``register(subparsers)``, which adds its parser and sets
``func=handler``. Handlers call the Python API and hold no logic of their own. Modules must stay
cheap to import (no torch at import time) so that ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ..errors import AttnWav2LipError

# Subcommand modules, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "sync",
    "demo",
    "synth",
    "preprocess",
    "synth_references",
    "train_expert",
    "train",
    "train_evaluator",
    "evaluate",
    "attention_maps",
    "export",
    "build_builtin",
    "info",
)


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="attnwav2lip",
        description="Lip-sync talking-face generation (AttnWav2Lip) and its research pipeline.",
    )
    parser.add_argument("--version", action="version", version=f"attnwav2lip {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit code 2."""
    args = build_parser().parse_args(argv)
    try:
        result = args.func(args)
    except AttnWav2LipError as exc:
        print(f"attnwav2lip {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
