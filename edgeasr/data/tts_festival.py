"""The Festival speech synthesis system through ``text2wave`` (Debian package ``festival``).

Voices come from Debian's ``festvox-*`` packages: ``kal_diphone`` (festvox-kallpc16k),
``ked_diphone`` (festvox-kdlpc16k) and the HTS voice ``cmu_us_slt_arctic_hts``
(festvox-us-slt-hts, 32 kHz). Each call runs ``text2wave`` on a temporary text file; the
result is resampled to :attr:`FestivalEngine.sample_rate`.

Speaking rate: diphone voices follow Festival's ``Duration_Stretch`` parameter, HTS voices
ignore it and take hts_engine's ``-r`` speed factor instead; both are set.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

import numpy as np

from edgeasr.data.tts import run_synthesis_command

__all__ = ["FestivalEngine", "list_festival_voices", "status"]

_VOICE_NAME = re.compile(r"^[a-z0-9_]+$")  # also keeps names safe inside -eval expressions


@functools.lru_cache(maxsize=1)
def list_festival_voices() -> tuple[str, ...]:
    """Voices Festival finds on its voice path (``(voice.list)``), sorted."""
    festival = shutil.which("festival")
    if festival is None:
        return ()
    done = subprocess.run([festival, "-b", "(print (voice.list))"], capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    names = done.stdout.strip().strip("()").split()
    return tuple(sorted(n for n in names if _VOICE_NAME.match(n)))


def status() -> str:
    """``"ok"`` or why Festival cannot run here."""
    if shutil.which("text2wave") is None or shutil.which("festival") is None:
        return "festival/text2wave are not on PATH (Debian package festival)"
    if not list_festival_voices():
        return "festival has no voices (Debian packages festvox-kallpc16k, festvox-us-slt-hts, ...)"
    return "ok"


class FestivalEngine:
    """Festival voices as a :class:`~edgeasr.data.tts.TTSEngine` (16 kHz output)."""

    name = "festival"

    def __init__(self, sample_rate: int = 16000, timeout: float = 120.0) -> None:
        self.sample_rate = sample_rate
        self._timeout = timeout
        self._program = shutil.which("text2wave") or "text2wave"

    def voices(self) -> list[str]:
        """Installed voices, e.g. ``cmu_us_slt_arctic_hts``, ``kal_diphone``, ``ked_diphone``."""
        return list(list_festival_voices())

    def synthesize(self, text: str, voice: str, rate: float = 1.0) -> np.ndarray:
        """Speak ``text`` with ``voice``; ``rate`` > 1 is faster."""
        if voice not in list_festival_voices():
            raise ValueError(f"unknown festival voice {voice!r}; installed: {list_festival_voices()}")
        if rate <= 0:
            raise ValueError(f"rate must be > 0, got {rate}")
        if not text.strip():
            return np.zeros(0, dtype=np.float32)
        args = [self._program, "-eval", f"(voice_{voice})",
                "-eval", f"(Parameter.set 'Duration_Stretch {1.0 / rate:.4f})"]
        if voice.endswith("_hts"):
            args += ["-eval", f'(set! hts_engine_params (append hts_engine_params '
                              f'(list (list "-r" {rate:.4f}))))']
        args += ["-o", "{wav}", "{text}"]
        return run_synthesis_command(args, text, self.sample_rate, self._timeout)
