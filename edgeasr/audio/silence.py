"""Frame-energy silence detection: where an utterance has speech, where it is quiet.

A frame is *loud* when its energy is within ``threshold_db`` of the utterance's
loudest frames (by default the 99th percentile of frame energies, so one click does not
set the reference) and above an absolute floor. Loud frames separated by less than
``min_silence_ms`` of quiet are one region; each region is widened by ``pad_ms`` on
both sides. The same detector serves leading/trailing trimming (:func:`trim_bounds`,
:func:`trim_silence`) and the choice of cut points when long utterances are split
(:func:`silences`). Corpus preprocessing uses the defaults; the synthetic TTS corpus trims
its clean engine output with :data:`TTS_TRIM` (10 ms frames, the loudest one as reference).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "TTS_TRIM",
    "frame_energies_db",
    "silences",
    "speech_regions",
    "trim_bounds",
    "trim_silence",
]

Region = tuple[int, int]

_REFERENCE_PERCENTILE = 99.0

#: Detector settings for synthetic speech: non-overlapping 10 ms frames, the loudest frame
#: as the reference and no absolute floor (TTS output has no noise to guard against).
TTS_TRIM = {"frame_ms": 10.0, "hop_ms": 10.0, "reference_percentile": 100.0,
            "floor_dbfs": -np.inf}


def frame_energies_db(audio: np.ndarray, rate: int, frame_ms: float = 25.0,
                      hop_ms: float = 10.0) -> tuple[np.ndarray, int, int]:
    """Mean-square energy in dBFS of overlapping frames.

    Args:
        audio: ``(N,)`` float samples in about ``[-1, 1]``.
        rate: sample rate in Hz.

    Returns:
        ``(energies, frame, hop)``: ``energies`` has shape ``(F,)`` with
        ``F = 1 + max(0, N - frame) // hop``; frame ``i`` covers samples
        ``[i * hop, i * hop + frame)``. A signal shorter than one frame is one frame.
        Digital silence reads -200 dB.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"audio must have shape (N,), got {x.shape}")
    frame = max(1, int(round(rate * frame_ms / 1000.0)))
    hop = max(1, int(round(rate * hop_ms / 1000.0)))
    if x.shape[0] < frame:
        x = np.pad(x, (0, frame - x.shape[0]))
    # Running sums give every frame's energy in O(N) without materialising the frames.
    csum = np.concatenate(([0.0], np.cumsum(x * x)))
    starts = np.arange(0, x.shape[0] - frame + 1, hop)
    power = np.maximum(csum[starts + frame] - csum[starts], 0.0) / frame
    return 10.0 * np.log10(np.maximum(power, 1e-20)), frame, hop


def _loud_frames(audio: np.ndarray, rate: int, threshold_db: float, floor_dbfs: float,
                 frame_ms: float, hop_ms: float, reference_percentile: float
                 ) -> tuple[np.ndarray, int, int]:
    """Indexes ``(K,)`` of the loud frames (empty for silent audio), frame and hop in samples."""
    if threshold_db > 0:
        raise ValueError(f"threshold_db is relative to the loudest frames and must be <= 0, "
                         f"got {threshold_db}")
    n = int(np.asarray(audio).shape[0])
    energies, frame, hop = frame_energies_db(audio, rate, frame_ms, hop_ms)
    reference = float(np.percentile(energies, reference_percentile))
    if reference < floor_dbfs or n == 0:
        return np.zeros(0, np.int64), frame, hop
    return np.flatnonzero(energies >= max(reference + threshold_db, floor_dbfs)), frame, hop


def speech_regions(audio: np.ndarray, rate: int, threshold_db: float = -40.0,
                   min_silence_ms: float = 300.0, pad_ms: float = 100.0, *,
                   floor_dbfs: float = -80.0, frame_ms: float = 25.0,
                   hop_ms: float = 10.0,
                   reference_percentile: float = _REFERENCE_PERCENTILE) -> list[Region]:
    """Sample ranges ``[(start, end), ...]`` that hold sound, in order, not overlapping.

    Args:
        audio: ``(N,)`` float samples.
        rate: sample rate in Hz.
        threshold_db: a frame is loud when its energy is at least the reference
            (99th percentile of frame energies) plus this (negative) number of dB.
        min_silence_ms: quiet stretches shorter than this between loud frames do not
            separate regions.
        pad_ms: sound kept on each side of a region (regions that then touch merge).
        floor_dbfs: frames quieter than this are never loud; audio whose reference is
            below it (digital silence) has no regions.
        reference_percentile: which percentile of the frame energies is the reference
            (100: the loudest frame).

    Returns:
        ``end`` is exclusive and ``0 <= start < end <= N``; ``[]`` for silent audio.
    """
    if min_silence_ms < 0 or pad_ms < 0:
        raise ValueError(f"min_silence_ms and pad_ms must be >= 0, got {min_silence_ms}, {pad_ms}")
    n = int(np.asarray(audio).shape[0])
    idx, frame, hop = _loud_frames(audio, rate, threshold_db, floor_dbfs, frame_ms, hop_ms,
                                   reference_percentile)
    if idx.size == 0:
        return []
    # Break runs of loud frames where the quiet gap is long enough to count as silence.
    gap_samples = (idx[1:] - idx[:-1]) * hop - frame  # quiet samples between frame ends/starts
    breaks = np.flatnonzero(gap_samples >= rate * min_silence_ms / 1000.0)
    firsts = np.concatenate(([idx[0]], idx[breaks + 1]))
    lasts = np.concatenate((idx[breaks], [idx[-1]]))
    pad = int(round(rate * pad_ms / 1000.0))
    regions: list[Region] = []
    for first, last in zip(firsts.tolist(), lasts.tolist()):
        start = max(0, first * hop - pad)
        end = min(n, last * hop + frame + pad)
        if regions and start <= regions[-1][1]:
            regions[-1] = (regions[-1][0], max(end, regions[-1][1]))
        elif start < end:
            regions.append((start, end))
    return regions


def silences(audio: np.ndarray, rate: int, threshold_db: float = -35.0,
             min_silence_ms: float = 100.0, **kwargs: float) -> list[Region]:
    """The complement of :func:`speech_regions` (no padding): quiet ``(start, end)`` ranges.

    Includes the leading and trailing silence. Silent audio is one range ``[(0, N)]``.
    """
    n = int(np.asarray(audio).shape[0])
    regions = speech_regions(audio, rate, threshold_db, min_silence_ms, 0.0, **kwargs)
    out: list[Region] = []
    cursor = 0
    for start, end in regions:
        if start > cursor:
            out.append((cursor, start))
        cursor = end
    if cursor < n:
        out.append((cursor, n))
    return out


def trim_bounds(audio: np.ndarray, rate: int, threshold_db: float = -40.0,
                pad_ms: float = 100.0, *, floor_dbfs: float = -80.0, frame_ms: float = 25.0,
                hop_ms: float = 10.0,
                reference_percentile: float = _REFERENCE_PERCENTILE) -> Region | None:
    """``(start, end)`` of the audio to keep after cutting leading/trailing silence.

    ``pad_ms`` of the original signal is kept before the first and after the last
    loud frame (the other arguments as for :func:`speech_regions`). Returns None when
    nothing is louder than the floor (silent audio).
    """
    if pad_ms < 0:
        raise ValueError(f"pad_ms must be >= 0, got {pad_ms}")
    n = int(np.asarray(audio).shape[0])
    idx, frame, hop = _loud_frames(audio, rate, threshold_db, floor_dbfs, frame_ms, hop_ms,
                                   reference_percentile)
    if idx.size == 0:
        return None
    pad = int(round(rate * pad_ms / 1000.0))
    return max(0, int(idx[0]) * hop - pad), min(n, int(idx[-1]) * hop + frame + pad)


def trim_silence(audio: np.ndarray, rate: int, threshold_db: float = -40.0,
                 pad_ms: float = 100.0, **detector: float) -> np.ndarray:
    """``audio`` ``(N,)`` without its leading/trailing silence (see :func:`trim_bounds`).

    Silent audio (nothing above the floor) is returned unchanged.
    """
    bounds = trim_bounds(audio, rate, threshold_db, pad_ms, **detector)
    return audio if bounds is None else audio[bounds[0]:bounds[1]]
