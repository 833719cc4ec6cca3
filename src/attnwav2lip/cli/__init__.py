"""The one ``attnwav2lip`` command. Each subcommand lives in its own module of this package.

A command module defines ``register(subparsers)``, which adds its parser and sets
``func=handler``. Handlers call the Python API and hold no logic of their own. Modules must stay
cheap to import (no torch at import time) so that ``--help`` is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import signal
import sys
import threading
from typing import Iterator, NoReturn, Sequence

from .. import __version__
from ..errors import AttnWav2LipError
from .evaluate import upgrade_legacy_argv

# Subcommand modules, in the order `--help` lists them.
COMMANDS: tuple[str, ...] = (
    "sync",
    "serve",
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


# Signals that end a run the way Ctrl-C does: Docker, systemd, `timeout` and job schedulers send
# SIGTERM, a closed terminal SIGHUP. Each becomes KeyboardInterrupt, so every atomic write unwinds.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupted(KeyboardInterrupt):
    """A stop signal arrived; ``signum`` says which (the exit code is 128 + signum, as shells report)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line, like every other error of the command (``--help`` has the rest)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="attnwav2lip",
        description="Lip-sync talking-face generation (AttnWav2Lip) and its research pipeline.",
    )
    parser.add_argument("--version", action="version", version=f"attnwav2lip {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", dest="log_level", action="store_const", const=logging.DEBUG,
                          default=logging.INFO, help="also show debug records")
    loudness.add_argument("-q", "--quiet", dest="log_level", action="store_const", const=logging.WARNING,
                          help="only warnings and errors: no notices, no progress bars")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; user errors become one line on stderr and exit code 2."""
    argv = upgrade_legacy_argv(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    configure_logging(args.log_level)
    try:
        with _stop_signals_interrupt():
            result = args.func(args)
    except AttnWav2LipError as exc:
        print(f"attnwav2lip {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        print(f"interrupted ({signal.Signals(signum).name})", file=sys.stderr)
        return 128 + signum
    return int(result or 0)


@contextlib.contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise ``Interrupted`` while the command runs (main thread only:
    a CLI embedded in a thread keeps its host's handlers)."""

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {s: signal.signal(s, interrupt) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is when a record comes (tests and notebooks swap it)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: ANN201 - logging's own attribute
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure_logging(level: int = logging.INFO) -> None:
    """The library logs through ``logging`` under ``attnwav2lip``; the CLI shows its records on stderr,
    one line each, prefixed like every other message of the command. Above INFO, progress bars hide too
    (:mod:`attnwav2lip.progress`)."""
    logger = logging.getLogger("attnwav2lip")
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("attnwav2lip: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


if __name__ == "__main__":
    sys.exit(main())
