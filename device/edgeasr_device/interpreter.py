"""The TFLite interpreter: LiteRT (``ai-edge-litert``) first, ``tflite-runtime`` as fallback.

``ai-edge-litert`` is the maintained successor of ``tflite-runtime`` (which stopped at 2.14 in
2023) and ships aarch64 wheels for CPython 3.11+. TensorFlow's own ``tf.lite.Interpreter`` is
deprecated and is never used here: the device package must install without TensorFlow.
"""

from __future__ import annotations

from typing import Any

from edgeasr_device.errors import EdgeAsrError


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
