"""Stopping a training run cleanly on Ctrl-C (SIGINT) or SIGTERM.

While :class:`StopSignals` is active the first signal only records a request; the
``Checkpointer`` sees it after the batch in progress, writes a ``partial`` checkpoint at that
batch and raises :class:`TrainingStopped`, so ``--resume`` continues with the next batch. A
request during the epoch's last batch or its dev evaluation lets the epoch checkpoint be
written first. A second signal stops at once, the usual way (KeyboardInterrupt for SIGINT,
exit status 143 for SIGTERM).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingStopped(Exception):
    """Training stopped on a signal after saving its position (not an error of the input)."""

    def __init__(self, signum: int, epoch: int, step: int):
        super().__init__(f"stopped by {signal.Signals(signum).name} in epoch {epoch + 1} "
                         f"after batch {step}")
        self.signum = signum
        self.epoch = epoch
        self.step = step

    @property
    def exit_status(self) -> int:
        """The shell's convention for a process ended by a signal: 128 + its number."""
        return 128 + self.signum


class StopSignals:
    """Context manager: record SIGINT/SIGTERM in ``requested`` instead of dying.

    Handlers can only be installed from the main thread; elsewhere (training called from a
    worker thread) this does nothing and the signals keep their usual effect.
    """

    def __init__(self) -> None:
        self.requested: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> StopSignals:  # noqa: PYI034 (typing.Self needs Python 3.11)
        if threading.current_thread() is threading.main_thread():
            for signum in SIGNALS:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        self._restore()

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is None:
            self.requested = signum
            return
        self._restore()  # a second signal: stop now
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)
