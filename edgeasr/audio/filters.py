"""Filters for corpus preprocessing: a zero-phase high-pass and spectral gating.

Both take and return float ``(N,)`` audio (float32 out) and are deterministic.
:mod:`scipy.signal` is imported inside the functions because it takes about a second
to import and most commands never filter.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = ["highpass", "spectral_gate"]


@lru_cache(maxsize=16)
def _highpass_sos(rate: int, cutoff_hz: float, order: int) -> np.ndarray:
    from scipy import signal

    return signal.butter(order, cutoff_hz, btype="highpass", fs=rate, output="sos")


def highpass(audio: np.ndarray, rate: int, cutoff_hz: float = 80.0, order: int = 4) -> np.ndarray:
    """Zero-phase Butterworth high-pass of float ``(N,)`` audio -> float32 ``(N,)``.

    Run forwards and backwards (``sosfiltfilt``), so the magnitude response is the
    square of an order-``order`` filter's: -6 dB at ``cutoff_hz``, no phase shift.
    """
    from scipy import signal  # imported here: scipy.signal takes ~1 s to import

    sos = _highpass_sos(int(rate), float(cutoff_hz), int(order))
    x = np.asarray(audio, dtype=np.float64)
    if x.shape[0] < 2:
        return x.astype(np.float32)
    padlen = min(3 * (2 * sos.shape[0] + 1), x.shape[0] - 1)
    return signal.sosfiltfilt(sos, x, padlen=padlen).astype(np.float32)


def spectral_gate(audio: np.ndarray, rate: int, threshold_db: float = 6.0,
                  reduction_db: float = 15.0, noise_fraction: float = 0.2) -> np.ndarray:
    """Attenuate time-frequency bins that do not rise above the noise floor.

    The noise floor per frequency bin is the mean power of the quietest
    ``noise_fraction`` of STFT frames (so the audio needs some pauses). A bin is kept
    when its power, smoothed over 5 frames, exceeds floor + ``threshold_db``; the
    others are scaled down by ``reduction_db``. The keep-mask is softened outwards
    (3 bins x 5 frames) to avoid abrupt edges. ~32 ms Hann frames, 75 % overlap.

    Args:
        audio: float ``(N,)``.
    Returns:
        float32 ``(N,)``.
    """
    from scipy import ndimage, signal

    x = np.asarray(audio, dtype=np.float64)
    n_fft = 1 << max(4, int(round(math.log2(rate * 0.032))))
    hop = n_fft // 4
    if x.shape[0] < n_fft:
        return x.astype(np.float32)
    _, _, spec = signal.stft(x, fs=rate, nperseg=n_fft, noverlap=n_fft - hop)  # (F, T)
    power = np.abs(spec) ** 2
    energy = power.sum(axis=0)
    centres = np.arange(power.shape[1]) * hop
    inside = (centres >= n_fft // 2) & (centres + n_fft // 2 <= x.shape[0])
    usable = np.flatnonzero(inside & (energy > 1e-12 * max(float(energy.max()), 1e-30)))
    if usable.size == 0:
        return x.astype(np.float32)
    count = max(1, int(math.ceil(noise_fraction * usable.size)))
    quiet = usable[np.argsort(energy[usable], kind="stable")[:count]]
    floor = power[:, quiet].mean(axis=1, keepdims=True)
    smoothed = ndimage.uniform_filter1d(power, size=5, axis=1, mode="nearest")
    keep = (smoothed > floor * 10.0 ** (threshold_db / 10.0)).astype(np.float64)
    keep = np.maximum(keep, ndimage.uniform_filter(keep, size=(3, 5), mode="nearest"))
    floor_gain = 10.0 ** (-reduction_db / 20.0)
    gain = floor_gain + (1.0 - floor_gain) * keep
    _, y = signal.istft(spec * gain, fs=rate, nperseg=n_fft, noverlap=n_fft - hop)
    return y[: x.shape[0]].astype(np.float32)
