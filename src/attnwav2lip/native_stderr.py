"""Keep the known start-up chatter of native libraries off the terminal, and nothing else.

MediaPipe's C++ side (TFLite, absl) writes INFO and WARNING lines straight to file descriptor 2
when its graphs start, before any error of ours; Python cannot set those libraries' log levels
(GLOG_minloglevel and TF_CPP_MIN_LOG_LEVEL have no effect on them). So while a graph starts,
descriptor 2 points at a temporary file, and afterwards every captured line that is not known
chatter goes to the real stderr: real errors of C libraries still reach the terminal. The
redirection is process-wide, so anything other threads write in that window (a few hundred
milliseconds) arrives late but is never lost; a lock keeps two starts from nesting it.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
import tempfile
import threading
from typing import Iterator

CHATTER = re.compile(
    rb"INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|W0000 [^\n]* inference_feedback_manager\.cc:\d+\] Feedback manager requires a model with a single signature"
    rb" inference\. Disabling support for feedback tensors\."
)
_lock = threading.Lock()


@contextlib.contextmanager
def without_native_chatter() -> Iterator[None]:
    """Run the block with descriptor 2 captured; pass on every line but the known chatter."""
    with _lock, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            kept = [line for line in capture.read().splitlines(keepends=True) if not CHATTER.match(line)]
            if kept:
                os.write(2, b"".join(kept))
