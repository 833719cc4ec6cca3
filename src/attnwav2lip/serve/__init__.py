"""``attnwav2lip serve``: a web page and an HTTP API for lip sync (Gradio; the ``[serve]`` extra).

    from attnwav2lip.serve import ServeConfig, launch
    launch(ServeConfig(port=7860))          # http://127.0.0.1:7860, API described at /?view=api

Modules: ``config`` (what the server is told), ``options`` (page fields -> SyncOptions),
``limits`` (refusing oversized inputs), ``preview`` (the first frame with the face box),
``jobs`` (one sync on a thread: progress, cancel), ``app`` (the page and its handlers).
Importing this package does not import Gradio; ``launch`` and ``build`` do.
"""

from __future__ import annotations

from .._lazy import lazy_exports
from .config import AUTH_ENV, Limits, ServeConfig, auth_from_env

__all__ = ["AUTH_ENV", "Limits", "ServeConfig", "auth_from_env", "build", "launch"]
__getattr__, __dir__ = lazy_exports(__name__, {"build": "attnwav2lip.serve.app", "launch": "attnwav2lip.serve.app"},
                                    eager=["AUTH_ENV", "Limits", "ServeConfig", "auth_from_env"])
