"""Lip-sync: the streaming ``sync`` pipeline.

- ``options``: ``SyncOptions`` (what ``sync`` can be told) and ``SyncReport`` (what it did);
- ``sources``: the ``--face`` input as working frames, and the disk cache of a looped source;
- ``references``: the generator's identity reference for each frame;
- ``stopwatch``: wall and CPU time per stage;
- ``pipeline``: ``LipSyncer``, the flow of one call, top to bottom.

``LipSyncer`` loads torch; the options do not, so the CLI can check them cheaply.
"""

from __future__ import annotations

from .._lazy import lazy_exports
from .options import SyncOptions, SyncReport, options_from

__all__ = ["LipSyncer", "SyncOptions", "SyncReport", "default_generator", "options_from"]
__getattr__, __dir__ = lazy_exports(__name__, {"LipSyncer": "attnwav2lip.lipsync.pipeline",
                                               "default_generator": "attnwav2lip.lipsync.pipeline"},
                                    eager=["SyncOptions", "SyncReport", "options_from"])
