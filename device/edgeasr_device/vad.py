"""Voice-activity detection: is a short frame of audio speech?

Two detectors behind one interface (``frame_samples``; ``is_speech(frame) -> bool``):

- :class:`WebrtcVad` wraps the WebRTC VAD of the ``webrtcvad-wheels`` package (a small C
  extension with wheels for Linux aarch64/armv7 and x86-64, no further dependencies: it fits
  the device's numpy + LiteRT budget). It takes 10, 20 or 30 ms of 16-bit audio at 8, 16, 32
  or 48 kHz. Install it with ``pip install webrtcvad-wheels``.
- :class:`EnergyVad` is a numpy fallback with no dependency: frame energy against a noise
  floor that follows the quietest recent frames. It works on clean and moderately noisy
  audio; it cannot tell speech from other loud sounds.

silero-vad was not chosen: it needs PyTorch or onnxruntime on the device.
:func:`make_vad` picks WebRTC when it is installed and the rate suits it, else energy.
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np

from edgeasr_device.errors import EdgeAsrError

__all__ = ["VAD_KINDS", "EnergyVad", "Vad", "WebrtcVad", "make_vad"]

VAD_KINDS = ("auto", "webrtc", "energy")
_WEBRTC_RATES = (8000, 16000, 32000, 48000)


class Vad(Protocol):
    """Frames of ``frame_samples`` float32 samples in [-1, 1] -> speech or not."""

    frame_samples: int

    def is_speech(self, frame: np.ndarray) -> bool: ...


class EnergyVad:
    """Speech when a frame is ``margin_db`` above the running noise floor and above
    ``floor_db`` dBFS.

    The floor drops at once to a quieter frame and rises by ``rise_db`` per second
    otherwise, so it settles on the background level between words.

    Args:
        sample_rate: Hz.
        frame_ms: frame length.
        margin_db: how far above the noise floor speech is.
        floor_db: frames quieter than this (dBFS) are never speech.
    """

    def __init__(self, sample_rate: int, frame_ms: int = 30, margin_db: float = 12.0,
                 floor_db: float = -55.0, rise_db: float = 6.0):
        self.frame_samples = max(1, sample_rate * frame_ms // 1000)
        self.margin_db = margin_db
        self.floor_db = floor_db
        self._rise = rise_db * frame_ms / 1000.0
        self._noise: float | None = None

    def level_db(self, frame: np.ndarray) -> float:
        x = np.asarray(frame, np.float32)
        power = float(np.mean(x.astype(np.float64) ** 2)) if x.size else 0.0
        return 10.0 * math.log10(power + 1e-12)

    def is_speech(self, frame: np.ndarray) -> bool:
        level = self.level_db(frame)
        if self._noise is None:
            self._noise = min(level, -40.0)
        speech = level > self._noise + self.margin_db and level > self.floor_db
        self._noise = min(level, self._noise + self._rise)
        return speech


class WebrtcVad:
    """The WebRTC VAD; ``aggressiveness`` 0 (keeps most audio) .. 3 (drops most non-speech)."""

    def __init__(self, sample_rate: int, frame_ms: int = 30, aggressiveness: int = 2):
        try:
            import webrtcvad
        except ImportError as exc:
            raise EdgeAsrError("the WebRTC VAD needs `pip install webrtcvad-wheels` "
                               "(or choose vad='energy')") from exc
        if sample_rate not in _WEBRTC_RATES or frame_ms not in (10, 20, 30):
            raise EdgeAsrError(f"the WebRTC VAD takes 10/20/30 ms frames at "
                               f"{', '.join(map(str, _WEBRTC_RATES))} Hz, not {frame_ms} ms at "
                               f"{sample_rate} Hz (choose vad='energy')")
        if aggressiveness not in (0, 1, 2, 3):
            raise EdgeAsrError(f"VAD aggressiveness must be 0..3, got {aggressiveness!r}")
        self._vad = webrtcvad.Vad(aggressiveness)
        self.sample_rate = sample_rate
        self.frame_samples = sample_rate * frame_ms // 1000

    def is_speech(self, frame: np.ndarray) -> bool:
        pcm = np.clip(np.asarray(frame, np.float32) * 32768.0, -32768, 32767).astype("<i2")
        return bool(self._vad.is_speech(pcm.tobytes(), self.sample_rate))


def webrtc_available() -> bool:
    try:
        import webrtcvad  # noqa: F401
    except ImportError:
        return False
    return True


def make_vad(kind: str, sample_rate: int, aggressiveness: int = 2) -> Vad:
    """``"webrtc"``, ``"energy"``, or ``"auto"`` (WebRTC when installed and usable)."""
    if kind not in VAD_KINDS:
        raise EdgeAsrError(f"unknown VAD {kind!r}: choose one of {', '.join(VAD_KINDS)}")
    if kind == "webrtc" or (kind == "auto" and webrtc_available()
                            and sample_rate in _WEBRTC_RATES):
        return WebrtcVad(sample_rate, aggressiveness=aggressiveness)
    return EnergyVad(sample_rate)
