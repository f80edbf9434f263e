"""CMU Flite through its command-line program (Debian package ``flite``).

Each call runs ``flite -voice V -f input.txt -o output.wav`` in a temporary folder. The
built-in voices are kal (8 kHz diphone), kal16 (16 kHz diphone) and the 16 kHz CMU ARCTIC
cluster-gen voices awb, rms and slt; all are resampled to the engine's ``sample_rate``.
The limited-domain ``awb_time`` voice (it only speaks clock times) is left out.
"""

from __future__ import annotations

import functools
import shutil
import subprocess

from edgeasr.synth.command import CommandEngine

__all__ = ["FliteEngine", "list_flite_voices"]

_PROGRAM = "flite"
_LIMITED_DOMAIN = frozenset({"awb_time"})


@functools.lru_cache(maxsize=1)
def list_flite_voices() -> tuple[str, ...]:
    """Voices compiled into the installed ``flite`` (``flite -lv``), general-purpose only."""
    program = shutil.which(_PROGRAM)
    if program is None:
        return ()
    done = subprocess.run([program, "-lv"], check=False, capture_output=True, text=True,
                          timeout=30)
    _, _, names = done.stdout.partition(":")
    return tuple(v for v in names.split() if v not in _LIMITED_DOMAIN)


class FliteEngine(CommandEngine):
    """Flite voices (``kal``, ``kal16``, ``awb``, ``rms``, ``slt`` on Debian's build).

    ``rate`` divides flite's ``duration_stretch``.
    """

    name = "flite"
    program = _PROGRAM
    missing_message = "the flite program is not on PATH (Debian package flite)"
    no_voices_message = "flite lists no voices"

    @classmethod
    def installed_voices(cls) -> tuple[str, ...]:
        return list_flite_voices()

    def command(self, voice: str, rate: float) -> list[str]:
        return [self._program, "-voice", voice, "--setf", f"duration_stretch={1.0 / rate:.4f}",
                "-f", "{text}", "-o", "{wav}"]
