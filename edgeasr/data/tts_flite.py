"""CMU Flite through its command-line program (Debian package ``flite``).

Each call runs ``flite -voice V -f input.txt -o output.wav`` in a temporary folder. The
built-in voices are kal (8 kHz diphone), kal16 (16 kHz diphone) and the 16 kHz CMU ARCTIC
cluster-gen voices awb, rms and slt; all are resampled to :attr:`FliteEngine.sample_rate`.
The limited-domain ``awb_time`` voice (it only speaks clock times) is left out.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

import numpy as np

from edgeasr.data.tts import run_synthesis_command

__all__ = ["FliteEngine", "list_flite_voices", "status"]

_PROGRAM = "flite"
_LIMITED_DOMAIN = frozenset({"awb_time"})


@functools.lru_cache(maxsize=1)
def list_flite_voices() -> tuple[str, ...]:
    """Voices compiled into the installed ``flite`` (``flite -lv``), general-purpose only."""
    program = shutil.which(_PROGRAM)
    if program is None:
        return ()
    done = subprocess.run([program, "-lv"], capture_output=True, text=True, timeout=30)
    _, _, names = done.stdout.partition(":")
    return tuple(v for v in names.split() if v not in _LIMITED_DOMAIN)


def status() -> str:
    """``"ok"`` or why flite cannot run here."""
    if shutil.which(_PROGRAM) is None:
        return "the flite program is not on PATH (Debian package flite)"
    if not list_flite_voices():
        return "flite lists no voices"
    return "ok"


class FliteEngine:
    """Flite voices as a :class:`~edgeasr.data.tts.TTSEngine` (16 kHz output)."""

    name = "flite"

    def __init__(self, sample_rate: int = 16000, timeout: float = 120.0) -> None:
        self.sample_rate = sample_rate
        self._timeout = timeout
        self._program = shutil.which(_PROGRAM) or _PROGRAM

    def voices(self) -> list[str]:
        """``kal``, ``kal16``, ``awb``, ``rms``, ``slt`` on Debian's build."""
        return list(list_flite_voices())

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> np.ndarray:
        """Speak ``text``; ``rate`` divides flite's ``duration_stretch``."""
        if voice not in list_flite_voices():
            raise ValueError(f"unknown flite voice {voice!r}; installed: {list_flite_voices()}")
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        args = [self._program, "-voice", voice, "--setf", f"duration_stretch={1.0 / rate:.4f}",
                "-f", "{text}", "-o", "{wav}"]
        return run_synthesis_command(args, text, self.sample_rate, self._timeout)
