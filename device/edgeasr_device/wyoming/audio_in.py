"""Wyoming audio (PCM in any rate, sample width and channel count) -> the model's waveform.

An utterance declares its format in ``audio-start``; its ``audio-chunk`` events carry raw
little-endian PCM. :class:`PcmConverter` turns each chunk into float32 mono samples at the
model's rate: :func:`~edgeasr_device.audio.prepare_waveform` scales and mixes the samples, and
one soxr stream per utterance resamples them, so chunk boundaries leave no trace and the
result equals converting the whole utterance at once.
"""

from __future__ import annotations

import numpy as np
import soxr

from edgeasr_device.audio import prepare_waveform
from edgeasr_device.errors import AudioError
from edgeasr_device.wyoming.events import ProtocolError

__all__ = ["MAX_CHANNELS", "RATES", "WIDTHS", "PcmConverter"]

#: Sample widths (bytes) Wyoming PCM may have: unsigned 8-bit, signed 16- and 32-bit.
WIDTHS = {1: np.dtype("u1"), 2: np.dtype("<i2"), 4: np.dtype("<i4")}
#: Sample rates accepted (Hz).
RATES = range(4000, 192001)
MAX_CHANNELS = 16


def audio_format(data: dict, kind: str) -> tuple[int, int, int]:
    """``(rate, width, channels)`` of an audio event, checked.

    Raises:
        ProtocolError: missing or unusable values.
    """
    values = []
    for key in ("rate", "width", "channels"):
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ProtocolError(f"{kind}: '{key}' must be an integer, got {value!r}",
                                "bad-audio-format")
        values.append(value)
    rate, width, channels = values
    if rate not in RATES or width not in WIDTHS or not 1 <= channels <= MAX_CHANNELS:
        raise ProtocolError(f"{kind}: unsupported audio format rate={rate} width={width} "
                            f"channels={channels} (rates {RATES.start}-{RATES.stop - 1} Hz, "
                            f"widths 1/2/4 bytes, 1-{MAX_CHANNELS} channels)",
                            "bad-audio-format")
    return rate, width, channels


class PcmConverter:
    """Raw PCM chunks of one utterance -> float32 mono ``(N,)`` at ``target_rate``.

    Args:
        rate, width, channels: the utterance's format (``audio-start``).
        target_rate: the model's sample rate.
    """

    def __init__(self, rate: int, width: int, channels: int, target_rate: int):
        self.rate, self.width, self.channels = rate, width, channels
        self.frame_bytes = width * channels
        self.frames = 0  # input frames received
        self._dtype = WIDTHS[width]
        self._rest = b""
        self._resampler = (soxr.ResampleStream(rate, target_rate, 1, dtype="float32",
                                               quality="HQ") if rate != target_rate else None)

    @property
    def seconds(self) -> float:
        """Audio received so far, in seconds."""
        return self.frames / self.rate

    def convert(self, pcm: bytes) -> np.ndarray:
        """The samples of one chunk (an incomplete last frame waits for the next chunk; so
        do fewer frames than channels, which the next chunk completes)."""
        data = self._rest + pcm
        whole = len(data) // self.frame_bytes * self.frame_bytes
        if whole < self.frame_bytes * self.channels:  # (N, C) needs N >= C: wait for more
            whole = 0
        self._rest = data[whole:]
        if not whole:
            return np.zeros(0, np.float32)
        frames = np.frombuffer(data[:whole], dtype=self._dtype).reshape(-1, self.channels)
        self.frames += frames.shape[0]
        try:
            mono = prepare_waveform(frames, self.rate, self.rate, name="audio-chunk")
        except AudioError as err:
            raise ProtocolError(str(err), "bad-audio") from err
        if self._resampler is None:
            return mono
        return self._resampler.resample_chunk(mono, last=False)

    def flush(self) -> np.ndarray:
        """The resampler's last samples, at the end of the utterance."""
        if self._resampler is None:
            return np.zeros(0, np.float32)
        return self._resampler.resample_chunk(np.zeros(0, np.float32), last=True)
