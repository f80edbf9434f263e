"""One utterance exactly as the synthetic corpus holds it: spoken, resampled, trimmed, clipped."""

from __future__ import annotations

import numpy as np
import soxr

from edgeasr.audio.silence import TTS_TRIM, trim_silence
from edgeasr.synth.engines import ESPEAK_BASE_RATE, TTSEngine, get_engine
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE

__all__ = ["TRIM_PAD_MS", "TRIM_THRESHOLD_DB", "render", "synthesize_utterance"]

#: Silence at either end is cut down to this much, where the signal is this far below its
#: loudest 10 ms frame (see :data:`edgeasr.audio.silence.TTS_TRIM`).
TRIM_THRESHOLD_DB = -40.0
TRIM_PAD_MS = 50.0


def render(engine: TTSEngine, text: str, voice: str, sample_rate: int, rate: int, pitch: int,
           volume: int) -> np.ndarray:
    """``engine`` speaking ``text`` -> float32 ``(N,)`` at ``sample_rate``, trimmed, in [-1, 1].

    ``rate`` is in espeak words per minute (other engines get ``rate / 175`` as their speed
    factor); ``pitch`` and ``volume`` reach espeak only.
    """
    from edgeasr.synth.espeak import EspeakEngine

    speed = rate / ESPEAK_BASE_RATE
    if isinstance(engine, EspeakEngine):
        audio = engine.synthesize(text, voice, speed, pitch=pitch, volume=volume)
    else:
        audio = engine.synthesize(text, voice, speed)
    if sample_rate != engine.sample_rate:
        audio = soxr.resample(audio, engine.sample_rate, sample_rate)
    audio = trim_silence(np.asarray(audio, dtype=np.float32), sample_rate, TRIM_THRESHOLD_DB,
                         TRIM_PAD_MS, **TTS_TRIM)
    return np.clip(audio, -1.0, 1.0).astype(np.float32)


def synthesize_utterance(
    text: str, voice: str, sample_rate: int = DEFAULT_SAMPLE_RATE, rate: int = 175,
    pitch: int = 50, volume: int = 75, engine: str = "espeak",
) -> np.ndarray:
    """Synthesise one utterance exactly as the corpus builder does (resampled, trimmed).

    ``voice`` is one of ``engine``'s voices; espeak's may carry a variant (``"en-us+m3"``).
    ``rate`` is in espeak words per minute (other engines get ``rate / 175``).
    """
    return render(get_engine(engine), text, voice, sample_rate, rate, pitch, volume)
