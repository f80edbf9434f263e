"""Signals for waveform augmentation: coloured noise, room responses, convolution, mixing.

Everything works on mono float32 waveforms of shape ``(N,)``:

* :func:`colored_noise`: Gaussian noise with a ``1/f**alpha`` power spectrum (white 0, pink 1,
  brown 2) above ``low_cut_hz``, nothing below; unit RMS.
* :func:`synthetic_rir`: a room impulse response: a unit direct path at sample 0, then, after a
  short gap, exponentially decaying Gaussian noise that falls 60 dB in ``rt60_s`` seconds,
  scaled to a direct-to-reverberant energy ratio. :func:`decay_rt60` measures RT60 back
  (Schroeder backward integration, T20 fit).
* :func:`fft_convolve_same`: linear convolution by FFT, cut to the input's length, so a response
  whose direct path is at sample 0 keeps the signal's timing; :func:`align_direct_path` trims a
  recorded response to start at its direct path.
* :func:`mix_at_snr` and :func:`reverberate` apply noise and responses to a signal.
"""

from __future__ import annotations

import numpy as np

from edgeasr.errors import DataError

__all__ = ["COLORS", "align_direct_path", "colored_noise", "decay_rt60", "fft_convolve_same",
           "mix_at_snr", "reverberate", "rms", "synthetic_rir"]

COLORS = {"white": 0.0, "pink": 1.0, "brown": 2.0}  # name -> alpha of the 1/f**alpha power spectrum
_DECAY_60DB = np.log(1000.0)  # amplitude e-folds in RT60: 10**(-60/20) = exp(-ln 1000)


def colored_noise(num_samples: int, alpha: float, sample_rate: int, rng: np.random.Generator,
                  low_cut_hz: float = 20.0) -> np.ndarray:
    """Noise of shape ``(num_samples,)`` with power ``∝ 1/f**alpha`` above ``low_cut_hz``, unit RMS.

    White noise (``alpha == 0``) is drawn in the time domain; coloured noise as a complex Gaussian
    spectrum shaped by ``f**(-alpha/2)`` and one inverse FFT. Bins below ``low_cut_hz`` are zero
    (else brown noise would put most of its energy in inaudible drift).
    """
    if num_samples <= 0:
        return np.zeros(0, np.float32)
    if alpha == 0:
        noise = rng.standard_normal(num_samples, dtype=np.float32)
    else:
        size = _fast_fft_length(num_samples)  # then cut: an awkward length can be 10x slower
        bins = size // 2 + 1
        spectrum = np.empty(bins, np.complex64)
        spectrum.real = rng.standard_normal(bins, dtype=np.float32)
        spectrum.imag = rng.standard_normal(bins, dtype=np.float32)
        freqs = np.arange(bins, dtype=np.float32) * np.float32(sample_rate / size)
        shape = np.zeros(bins, np.float32)
        keep = freqs >= max(low_cut_hz, 1e-6)
        shape[keep] = freqs[keep] ** np.float32(-alpha / 2.0)
        spectrum *= shape
        noise = np.fft.irfft(spectrum, size)[:num_samples].astype(np.float32, copy=False)
    noise -= noise.mean(dtype=np.float64)
    level = rms(noise)
    return noise / np.float32(level) if level > 0 else noise


def synthetic_rir(rt60_s: float, drr_db: float, sample_rate: int, rng: np.random.Generator,
                  gap_s: tuple[float, float] = (0.001, 0.008)) -> np.ndarray:
    """A synthetic room impulse response of shape ``(L,)``, ``L = round(rt60_s * sample_rate)``.

    ``h[0] = 1`` is the direct path; the diffuse tail starts after a gap drawn from ``gap_s``
    (seconds), is Gaussian noise under the envelope ``10**(-3 t / rt60_s)`` (-60 dB at
    ``t = rt60_s``, where the response ends) and is scaled so that direct energy over tail energy
    is ``drr_db`` dB.
    """
    if rt60_s <= 0:
        raise ValueError(f"rt60_s must be positive, got {rt60_s}")
    length = max(int(round(rt60_s * sample_rate)), 2)
    gap = min(max(int(round(rng.uniform(*gap_s) * sample_rate)), 1), length - 1)
    t = np.arange(length, dtype=np.float32) / np.float32(sample_rate)
    rir = rng.standard_normal(length, dtype=np.float32)
    rir *= np.exp(np.float32(-_DECAY_60DB / rt60_s) * t)
    rir[:gap] = 0.0
    tail_energy = float(np.sum(np.square(rir, dtype=np.float64)))
    if tail_energy > 0:
        rir *= np.float32(np.sqrt(10.0 ** (-drr_db / 10.0) / tail_energy))
    rir[0] = 1.0
    return rir


def decay_rt60(rir: np.ndarray, sample_rate: int, fit_db: tuple[float, float] = (-5.0, -25.0)) -> float:
    """RT60 in seconds of an impulse response ``(L,)`` whose direct path is its peak.

    Schroeder backward integration of the energy after the direct path; a straight line fitted
    to the decay curve between ``fit_db`` (T20 by default), extrapolated to -60 dB.
    """
    rir = np.asarray(rir, dtype=np.float64)
    tail = rir[int(np.argmax(np.abs(rir))) + 1:]
    edc = np.cumsum(np.square(tail)[::-1])[::-1]
    if tail.size < 2 or edc[0] <= 0:
        raise ValueError("the impulse response has no decay after its direct path")
    edc_db = 10.0 * np.log10(np.maximum(edc / edc[0], 1e-30))
    hi, lo = max(fit_db), min(fit_db)
    region = np.flatnonzero((edc_db <= hi) & (edc_db >= lo))
    if region.size < 2:
        raise ValueError(f"the decay does not span {hi:g} to {lo:g} dB")
    slope = np.polyfit(region / sample_rate, edc_db[region], 1)[0]  # dB per second
    return float(-60.0 / slope)


def align_direct_path(rir: np.ndarray) -> np.ndarray:
    """A recorded response ``(L,)`` cut to start at its peak (the direct path), peak scaled to 1.

    Raises:
        DataError: the response is silent (all zeros).
    """
    rir = np.asarray(rir, dtype=np.float32)
    peak = int(np.argmax(np.abs(rir)))
    if rir[peak] == 0:
        raise DataError("the impulse response is silent")
    return rir[peak:] / rir[peak]


def fft_convolve_same(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``(N,)`` signal convolved with an ``(L,)`` kernel, keeping the first ``N`` outputs.

    With the kernel's direct path at index 0 the output is aligned with the input.
    """
    n, m = signal.shape[0], kernel.shape[0]
    if n == 0 or m == 0:
        return np.zeros(n, np.float32)
    size = _fast_fft_length(n + m - 1)
    spectrum = np.fft.rfft(signal.astype(np.float32, copy=False), size)
    spectrum *= np.fft.rfft(kernel.astype(np.float32, copy=False), size)
    return np.fft.irfft(spectrum, size)[:n].astype(np.float32, copy=False)


def _fast_fft_length(n: int) -> int:
    """Smallest ``2**a * 3**b * 5**c >= n`` (pocketfft is fastest on such lengths)."""
    best = 1 << max(n - 1, 0).bit_length()
    p5 = 1
    while p5 < best:
        p35 = p5
        while p35 < best:
            p = p35
            while p < n:
                p *= 2
            best = min(best, p)
            p35 *= 3
        p5 *= 5
    return best


def mix_at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    """``signal + g * noise`` (both ``(N,)``) with ``g`` setting their RMS ratio to ``snr_db``.

    A silent signal or noise is returned unchanged (the SNR is undefined).
    """
    signal_rms, noise_rms = rms(signal), rms(noise)
    if signal_rms == 0 or noise_rms == 0:
        return signal
    return signal + noise * np.float32(signal_rms / (noise_rms * 10.0 ** (snr_db / 20.0)))


def reverberate(signal: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``signal`` ``(N,)`` convolved with ``rir`` ``(L,)``: same length, timing and RMS."""
    wet = fft_convolve_same(signal, rir)
    before, after = rms(signal), rms(wet)
    return wet * np.float32(before / after) if after > 0 else wet


def rms(x: np.ndarray) -> float:
    """Root mean square of ``x`` (0 for an empty array), accumulated in float64."""
    return float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
