"""Loudness normalisation (ITU-R BS.1770 integrated loudness, via ``pyloudnorm``)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["normalize_loudness"]


def normalize_loudness(audio: np.ndarray, rate: int, target_lufs: float = -23.0,
                       peak_dbfs: float = -1.0,
                       floor_lufs: float = -70.0) -> tuple[np.ndarray, str | None]:
    """Scale float ``(N,)`` audio to ``target_lufs`` integrated loudness (ITU-R BS.1770).

    The gain is lowered if the peak would exceed ``peak_dbfs`` (never clips). Audio
    shorter than one 400 ms gating block, or quieter than ``floor_lufs``, is returned
    unchanged.

    Returns:
        ``(audio float32 (N,), note)``; ``note`` is None, or says why the target was
        not reached (left unchanged, or peak-limited).
    """
    import pyloudnorm

    x = np.asarray(audio, dtype=np.float64)
    if x.shape[0] < int(math.ceil(0.4 * rate)) + 1:
        return x.astype(np.float32), (f"loudness not normalised: {x.shape[0] / rate:.2f} s is "
                                      "shorter than the 0.4 s BS.1770 block")
    measured = float(pyloudnorm.Meter(rate).integrated_loudness(x))
    if not math.isfinite(measured) or measured < floor_lufs:
        shown = f"{measured:.1f} LUFS" if math.isfinite(measured) else "silent"
        return x.astype(np.float32), (f"loudness not normalised: too quiet ({shown} < "
                                      f"{floor_lufs:g} LUFS); left unchanged")
    gain = 10.0 ** ((target_lufs - measured) / 20.0)
    peak, limit = float(np.max(np.abs(x))) * gain, 10.0 ** (peak_dbfs / 20.0)
    note = None
    if peak > limit:
        gain *= limit / peak
        note = (f"loudness peak-limited to {peak_dbfs:g} dBFS: "
                f"{target_lufs - 20.0 * math.log10(peak / limit):.1f} LUFS instead of "
                f"{target_lufs:g}")
    return (x * gain).astype(np.float32), note
