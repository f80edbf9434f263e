"""What every ``edgeasr`` command shares: how errors are shown, and quiet native logging."""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading

# One decorator for both CLIs: an EdgeAsrError is one line (exit 1), anything else a traceback.
from edgeasr_device.cli_options import friendly_errors

__all__ = ["NativeLogFilter", "friendly_errors", "is_native_noise"]


# Lines that TensorFlow, absl, oneDNN, the TFLite converter and LiteRT write straight to file
# descriptor 2 from C++ at start-up or conversion, bypassing Python logging (and, in TF
# 2.21, TF_CPP_MIN_LOG_LEVEL): informational only. Warnings and errors are never matched.
_NOISE = re.compile(
    rb"^(?:WARNING: All log messages before absl::InitializeLog\(\) is called"
    rb"|I\d{4} \d\d:\d\d:\d+\.\d+ +\d+ [\w./-]+:\d+\]"  # absl INFO records
    rb"|INFO: (?:Created TensorFlow Lite|Initialized TensorFlow Lite)"
    rb"|fully_quantize: \d+, inference_type: \d+"  # the int8 calibrator's summary
    rb"|E\d{4} [\d:. ]+\d+ util\.cc:\d+\] oneDNN supports DT_BOOL only"  # CPU capability note
    rb")"
)


def is_native_noise(line: bytes) -> bool:
    """True for a native start-up/info log line that ``--verbose`` alone should show."""
    return _NOISE.match(line) is not None


class NativeLogFilter:
    """Drop native info lines from this process's stderr while letting everything else through.

    File descriptor 2 is pointed at a pipe; a thread forwards each line to the original
    stderr unless :func:`is_native_noise` matches it. Python's own ``sys.stderr`` writes go
    through the same pipe, so warnings, errors and tracebacks still appear, in order.
    :meth:`stop` (also run at exit) restores descriptor 2 and drains the pipe.
    """

    def __init__(self) -> None:
        self._saved: int | None = None
        self._thread: threading.Thread | None = None

    @property
    def active(self) -> bool:
        return self._saved is not None

    def start(self) -> None:
        if self.active:
            return
        sys.stderr.flush()
        self._saved = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
        self._thread = threading.Thread(target=self._forward, args=(read_end, self._saved),
                                        name="native-log-filter", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def stop(self) -> None:
        if not self.active:
            return
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
        saved, self._saved = self._saved, None
        os.dup2(saved, 2)  # closes this process's write end of the pipe
        if self._thread is not None:
            self._thread.join(timeout=2.0)  # child processes may still hold the pipe open

    @staticmethod
    def _forward(read_end: int, target: int) -> None:
        with os.fdopen(read_end, "rb", buffering=0) as source:
            pending = b""
            while chunk := source.read(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if not is_native_noise(line):
                        os.write(target, line + b"\n")
            if pending and not is_native_noise(pending):
                os.write(target, pending)


_FILTER = NativeLogFilter()


def quiet_native_logs(verbose: bool) -> None:
    """Filter native info lines from stderr for the rest of the run, unless ``verbose``.

    Only for the real program: under a test runner (``sys.stderr`` replaced) nothing changes.
    """
    if verbose or sys.stderr is not sys.__stderr__ or sys.__stderr__ is None:
        return
    try:
        sys.__stderr__.fileno()
    except (OSError, ValueError, AttributeError):
        return
    _FILTER.start()
