"""`attnwav2lip info`: versions and optional components, for bug reports."""

from __future__ import annotations

import argparse
import importlib.util
import platform

from .. import __version__


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("info", help="print versions and which optional components are available")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    print(f"attnwav2lip {__version__} on Python {platform.python_version()} ({platform.machine()})")
    for module in ("torch", "numpy", "av", "cv2", "safetensors", "mediapipe", "espeakng_loader", "onnxruntime"):
        spec = importlib.util.find_spec(module)
        if spec is None:
            print(f"  {module:16s} not installed")
            continue
        mod = importlib.import_module(module)
        print(f"  {module:16s} {getattr(mod, '__version__', 'installed')}")
    return 0
