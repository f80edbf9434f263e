"""The TFLite interpreter: LiteRT (``ai-edge-litert``) first, ``tflite-runtime`` as fallback.

``ai-edge-litert`` is the maintained successor of ``tflite-runtime`` (which stopped at 2.14 in
2023) and ships aarch64 wheels for CPython 3.11+. TensorFlow's own ``tf.lite.Interpreter`` is
deprecated and is never used here: the device package must install without TensorFlow.

The interpreter's native code logs to the process's stderr (file descriptor 2), e.g.
``INFO: Created TensorFlow Lite XNNPACK delegate for CPU.`` when the first tensors are
allocated; no environment variable silences it (``TF_CPP_MIN_LOG_LEVEL`` does not reach the
TFLite logger). :func:`hidden_native_info` therefore redirects descriptor 2 around the calls
that log and passes everything but ``INFO:`` lines back to stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from edgeasr_device.errors import EdgeAsrError

__all__ = ["hidden_native_info", "interpreter_class", "make_interpreter"]

_INFO_PREFIX = "INFO: "


def interpreter_class() -> tuple[type, str]:
    """The first importable interpreter class and the name of its package."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter, "ai-edge-litert"
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter, "tflite-runtime"
    except ImportError:
        pass
    raise EdgeAsrError(
        "no TFLite interpreter is installed: `pip install ai-edge-litert` "
        "(or `pip install tflite-runtime` where LiteRT has no wheel)"
    )


def make_interpreter(model_content: bytes, num_threads: int = 1) -> Any:
    """An interpreter for a model held in memory, using ``num_threads`` CPU threads."""
    cls, _ = interpreter_class()
    return cls(model_content=model_content, num_threads=num_threads)


@contextlib.contextmanager
def hidden_native_info(enabled: bool = True) -> Iterator[None]:
    """Drop the ``INFO:`` lines native code writes to stderr inside the block.

    Everything else written to file descriptor 2 meanwhile (warnings, errors, Python's own
    stderr output) is written back to ``sys.stderr`` when the block ends, also when it ends
    with an exception. Does nothing when ``enabled`` is false or descriptor 2 is not open.
    """
    if not enabled:
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            text = capture.read().decode("utf-8", errors="replace")
            kept = "".join(line for line in text.splitlines(keepends=True)
                           if not line.startswith(_INFO_PREFIX))
            if kept and sys.stderr is not None:
                sys.stderr.write(kept)
                sys.stderr.flush()
