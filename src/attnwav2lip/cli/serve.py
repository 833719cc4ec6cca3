"""`attnwav2lip serve`: a web page and an HTTP API for lip sync (docs/serve.md)."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import DependencyError
from ..serve import Limits, ServeConfig, auth_from_env


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="a web page and an HTTP API for lip sync (needs the [serve] extra)",
        description="Serve a Gradio page and its HTTP API for lip sync. Sign-in: set ATTNWAV2LIP_AUTH=user:password "
                    "in the environment (never on the command line).",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=7860, help="default 7860")
    p.add_argument("--checkpoint", action="append", default=[], type=Path,
                   help="a generator file the page offers besides the built-in model (repeatable)")
    p.add_argument("--concurrency", type=int, default=1, help="lip-sync jobs running at once (default 1)")
    p.add_argument("--queue-size", type=int, default=8, help="jobs waiting beyond those; more are refused (default 8)")
    p.add_argument("--max-upload-mb", type=float, default=200.0, help="largest upload (default 200)")
    p.add_argument("--max-seconds", type=float, default=120.0, help="longest speech or face video (default 120)")
    p.add_argument("--max-side", type=int, default=1920, help="largest face input side, after resizing (default 1920)")
    p.add_argument("--ttl", type=float, default=3600.0, help="seconds before uploads and results are removed "
                                                              "(default 3600)")
    p.add_argument("--workdir", type=Path, help="folder for running jobs (default: a new temporary folder)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    limits = Limits(upload_mb=args.max_upload_mb, seconds=args.max_seconds, side=args.max_side)
    config = ServeConfig(host=args.host, port=args.port, checkpoints=tuple(args.checkpoint),
                         concurrency=args.concurrency, queue_size=args.queue_size, limits=limits, ttl_seconds=args.ttl,
                         workdir=args.workdir, auth=auth_from_env())
    try:
        from ..serve import launch
    except ImportError as exc:
        raise DependencyError(f"serve needs the [serve] extra: pip install 'attnwav2lip[serve]' ({exc})") from None
    print(f"serving on http://{args.host}:{args.port} (Ctrl+C stops)" + (" with sign-in" if config.auth else ""))
    launch(config)
    return 0
