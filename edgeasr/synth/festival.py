"""The Festival speech synthesis system through ``text2wave`` (Debian package ``festival``).

Voices come from Debian's ``festvox-*`` packages: ``kal_diphone`` (festvox-kallpc16k),
``ked_diphone`` (festvox-kdlpc16k) and the HTS voice ``cmu_us_slt_arctic_hts``
(festvox-us-slt-hts, 32 kHz). Each call runs ``text2wave`` on a temporary text file; the
result is resampled to the engine's ``sample_rate``.

Speaking rate: diphone voices follow Festival's ``Duration_Stretch`` parameter, HTS voices
ignore it and take hts_engine's ``-r`` speed factor instead; both are set.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess

from edgeasr.synth.command import CommandEngine

__all__ = ["FestivalEngine", "list_festival_voices"]

_VOICE_NAME = re.compile(r"^[a-z0-9_]+$")  # also keeps names safe inside -eval expressions


@functools.lru_cache(maxsize=1)
def list_festival_voices() -> tuple[str, ...]:
    """Voices Festival finds on its voice path (``(voice.list)``), sorted."""
    festival = shutil.which("festival")
    if festival is None:
        return ()
    done = subprocess.run([festival, "-b", "(print (voice.list))"], check=False,
                          capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    names = done.stdout.strip().strip("()").split()
    return tuple(sorted(n for n in names if _VOICE_NAME.match(n)))


class FestivalEngine(CommandEngine):
    """Festival voices, e.g. ``cmu_us_slt_arctic_hts``, ``kal_diphone``, ``ked_diphone``."""

    name = "festival"
    program = "text2wave"
    required = ("text2wave", "festival")
    missing_message = "festival/text2wave are not on PATH (Debian package festival)"
    no_voices_message = ("festival has no voices (Debian packages festvox-kallpc16k, "
                         "festvox-us-slt-hts, ...)")

    @classmethod
    def installed_voices(cls) -> tuple[str, ...]:
        return list_festival_voices()

    def command(self, voice: str, rate: float) -> list[str]:
        args = [self._program, "-eval", f"(voice_{voice})",
                "-eval", f"(Parameter.set 'Duration_Stretch {1.0 / rate:.4f})"]
        if voice.endswith("_hts"):
            args += ["-eval", (f'(set! hts_engine_params (append hts_engine_params '
                               f'(list (list "-r" {rate:.4f}))))')]
        return [*args, "-o", "{wav}", "{text}"]
