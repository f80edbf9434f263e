"""Audio preprocessing of one utterance, as applied while preparing a corpus.

This module turns one waveform (and its transcript) into pieces; running it over a whole
corpus (config file, worker processes, output files, report) is
:mod:`edgeasr.prepare.audio_stage`. Every utterance is first *standardised* (float32 mono
at the target rate, through :mod:`edgeasr_device.audio`) and finally written as 16-bit PCM
WAV (:func:`write_pcm16`). In between, :class:`Preprocessor` applies, in this order and
only when switched on in :class:`PreprocessConfig`:

1. high-pass filter (Butterworth, zero-phase) against rumble and mains hum, and
2. spectral gating against stationary background noise (both :mod:`edgeasr.audio.filters`);
3. trimming of leading/trailing silence (:mod:`edgeasr.audio.silence`);
4. duration limits: drop too-short/too-long utterances, zero-pad short ones, or split
   long ones at silences between words located by CTC forced alignment
   (:mod:`edgeasr.audio.align`) so each piece keeps exactly its own words;
5. loudness normalisation (ITU-R BS.1770 integrated loudness, ``pyloudnorm``) with a
   peak limit (:mod:`edgeasr.audio.loudness`).

Everything is deterministic and a :class:`Preprocessor` pickles (for worker processes).
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import soundfile as sf

from edgeasr.audio.align import AlignmentModel, ExportedAligner, plan_cuts
from edgeasr.audio.filters import highpass, spectral_gate
from edgeasr.audio.loudness import normalize_loudness
from edgeasr.audio.silence import silences, trim_bounds
from edgeasr.configs import dataclass_from_dict
from edgeasr.errors import ConfigError
from edgeasr.files import atomic_write_bytes
from edgeasr_device.audio import DEFAULT_SAMPLE_RATE, load_audio, prepare_waveform, resample
from edgeasr_device.decoding.align import viterbi_align, word_times
from edgeasr_device.errors import VocabularyError

__all__ = ["SKIP_CODES", "Piece", "PreprocessConfig", "PreprocessError", "PreprocessResult",
           "Preprocessor", "standardize", "write_pcm16"]


class PreprocessError(ConfigError):
    """A preprocessing configuration or set-up that cannot be used."""


_CHOICES = {"too_short": ("drop", "pad"), "too_long": ("drop", "split")}


@dataclass(frozen=True)
class PreprocessConfig:
    """What :class:`Preprocessor` does. Only standardisation is on by default.

    ``min_seconds``/``max_seconds`` of None mean no limit. ``too_short`` is ``"drop"``
    or ``"pad"`` (zeros, evenly on both sides, up to ``min_seconds``); ``too_long`` is
    ``"drop"`` or ``"split"`` (needs an alignment model). Levels in dB are relative to
    the utterance's loudest frames (trim/split), to the estimated noise floor
    (denoise), or absolute (LUFS, dBFS).
    """

    sample_rate: int = DEFAULT_SAMPLE_RATE
    trim: bool = False
    trim_threshold_db: float = -40.0
    trim_pad_ms: float = 100.0
    min_seconds: float | None = None
    max_seconds: float | None = None
    too_short: str = "drop"
    too_long: str = "drop"
    split_threshold_db: float = -35.0
    split_min_silence_ms: float = 100.0
    highpass: bool = False
    highpass_hz: float = 80.0
    highpass_order: int = 4
    denoise: bool = False
    denoise_threshold_db: float = 6.0
    denoise_reduction_db: float = 15.0
    denoise_noise_fraction: float = 0.2
    loudness: bool = False
    loudness_target_lufs: float = -23.0
    loudness_peak_dbfs: float = -1.0
    loudness_floor_lufs: float = -70.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            object.__setattr__(self, f.name, _check_kind(f.name, getattr(self, f.name), f.default))
        checks = [
            (self.sample_rate > 0, "sample_rate must be > 0"),
            (self.trim_threshold_db <= 0 and self.split_threshold_db <= 0,
             "trim_threshold_db and split_threshold_db are relative to the loudest frames: <= 0"),
            (self.trim_pad_ms >= 0 and self.split_min_silence_ms >= 0,
             "trim_pad_ms and split_min_silence_ms must be >= 0"),
            (self.min_seconds is None or self.min_seconds >= 0, "min_seconds must be >= 0"),
            (self.max_seconds is None or self.max_seconds > 0, "max_seconds must be > 0"),
            (None in (self.min_seconds, self.max_seconds) or self.min_seconds < self.max_seconds,
             "min_seconds must be smaller than max_seconds"),
            (0 < self.highpass_hz < self.sample_rate / 2, "highpass_hz must be in (0, sample_rate/2)"),
            (1 <= self.highpass_order <= 10, "highpass_order must be in 1..10"),
            (self.denoise_threshold_db >= 0 and self.denoise_reduction_db > 0,
             "denoise_threshold_db must be >= 0 and denoise_reduction_db > 0"),
            (0 < self.denoise_noise_fraction <= 1, "denoise_noise_fraction must be in (0, 1]"),
            (self.loudness_target_lufs < 0 and self.loudness_peak_dbfs <= 0,
             "loudness_target_lufs must be < 0 and loudness_peak_dbfs <= 0"),
        ]
        for ok, message in checks:
            if not ok:
                raise PreprocessError(f"preprocess config: {message}; got {self.to_dict()}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None, where: str = "preprocess"
                  ) -> PreprocessConfig:
        """Build from a mapping (e.g. a YAML section); unknown keys are an error.

        Raises:
            PreprocessError: naming unknown options (and the valid ones) or a bad value.
        """
        try:
            return dataclass_from_dict(cls, data, where)
        except PreprocessError:
            raise
        except ConfigError as err:  # not a mapping, or unknown options
            raise PreprocessError(str(err)) from None

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form; ``from_dict(to_dict())`` round-trips."""
        return dataclasses.asdict(self)


def _check_kind(name: str, value: Any, default: Any) -> Any:
    if name in _CHOICES:
        if value not in _CHOICES[name]:
            raise PreprocessError(f"preprocess option {name} must be one of "
                                  f"{', '.join(_CHOICES[name])}, got {value!r}")
        return value
    is_number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_))
    if isinstance(default, bool):
        ok = isinstance(value, (bool, np.bool_))
        value = bool(value) if ok else value
    elif isinstance(default, int):
        ok = is_number and float(value).is_integer()
        value = int(value) if ok else value
    else:  # float, or None for an optional limit
        ok = (value is None and default is None) or (is_number and math.isfinite(value))
        value = float(value) if ok and value is not None else value
    if not ok:
        kind = ("true or false" if isinstance(default, bool) else "a whole number"
                if isinstance(default, int) else "a number" if default is not None
                else "a number or null")
        raise PreprocessError(f"preprocess option {name} must be {kind}, got {value!r}")
    return value


class Piece(NamedTuple):
    """One output utterance: ``audio`` float32 ``(N,)`` at the config's rate, and its text."""

    audio: np.ndarray
    text: str


#: Kinds of skip (:attr:`PreprocessResult.skip_code`) and what they mean.
SKIP_CODES: dict[str, str] = {
    "silent": "no frame rises above -80 dBFS: there is nothing to trim down to",
    "too_short": "shorter than min_seconds after preprocessing (too_short: drop)",
    "too_long": "longer than max_seconds after preprocessing (too_long: drop)",
    "too_long_unsplittable": "longer than max_seconds, and too_long: split found no way to "
                             "cut it between aligned words",
}


@dataclass(frozen=True)
class PreprocessResult:
    """Either ``pieces`` (usually one) or a ``skip_reason``; ``notes`` say what was adjusted.

    ``skip_code`` classifies a skip (a key of :data:`SKIP_CODES`); ``skip_reason`` is
    the human message.
    """

    pieces: tuple[Piece, ...] = ()
    skip_reason: str | None = None
    notes: tuple[str, ...] = ()
    skip_code: str | None = None

    @property
    def skipped(self) -> bool:
        return self.skip_reason is not None


# --------------------------------------------------------------------------- building blocks

def standardize(audio: str | os.PathLike | np.ndarray, target_rate: int,
                sample_rate: int | None = None, name: str = "<array>") -> np.ndarray:
    """A file or array -> float32 mono ``(N,)`` at ``target_rate``.

    Files go through :func:`edgeasr_device.audio.load_audio`, arrays (``(N,)`` or
    ``(N, C)``, any PCM dtype; ``sample_rate`` required) through ``prepare_waveform``.
    Raises :class:`edgeasr_device.errors.AudioError` for unusable audio.
    """
    if isinstance(audio, np.ndarray):
        if sample_rate is None:
            raise PreprocessError(f"{name}: an in-memory array needs sample_rate=")
        return prepare_waveform(audio, sample_rate, target_rate, name=name)
    return load_audio(audio, target_rate)


def write_pcm16(path: str | os.PathLike, audio: np.ndarray, rate: int) -> Path:
    """Write float ``(N,)`` samples as a 16-bit PCM mono WAV, atomically (temp file + rename).

    Samples are scaled by 32768 (the inverse of how ``load_audio`` reads int16), rounded
    and clipped to the int16 range.
    """
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim != 1 or x.size == 0:
        raise PreprocessError(f"{path}: write_pcm16 needs non-empty (N,) audio, got shape {x.shape}")
    pcm = np.clip(np.round(x * 32768.0), -32768, 32767).astype(np.int16)
    buffer = io.BytesIO()
    sf.write(buffer, pcm, int(rate), format="WAV", subtype="PCM_16")
    return atomic_write_bytes(path, buffer.getvalue())


# --------------------------------------------------------------------------- the pipeline

class Preprocessor:
    """Applies a :class:`PreprocessConfig` to one utterance at a time.

    Args:
        config: what to do.
        align_model: path of an exported ``.tflite`` model, used only to split long
            utterances (``too_long="split"``), which refuses to work without one.
        aligner: an already loaded :class:`~edgeasr.audio.align.AlignmentModel`
            (instead of ``align_model``).
    """

    def __init__(self, config: PreprocessConfig, align_model: str | os.PathLike | None = None,
                 *, aligner: AlignmentModel | None = None):
        self.config = config
        if aligner is None and align_model is not None:
            aligner = ExportedAligner(align_model)
        self.aligner = aligner
        if config.too_long == "split" and config.max_seconds is not None and aligner is None:
            raise PreprocessError(
                "too_long='split' needs an alignment model (align_model=PATH of an exported "
                ".tflite for this language) to split transcripts consistently; a transcript "
                "is never split by guessing: pass one, or use too_long='drop'")

    def process(self, audio: np.ndarray, text: str, source: str = "<array>") -> PreprocessResult:
        """Preprocess one utterance.

        Args:
            audio: float32 mono ``(N,)`` at ``config.sample_rate`` (see :func:`standardize`).
            text: its transcript.
            source: how to name it in messages (e.g. the file path).

        Raises:
            AudioError: ``audio`` is not a usable waveform (bad shape, NaN/Inf, empty).
        """
        cfg, rate = self.config, self.config.sample_rate
        x = prepare_waveform(audio, rate, rate, name=source)
        if cfg.highpass:
            x = highpass(x, rate, cfg.highpass_hz, cfg.highpass_order)
        if cfg.denoise:
            x = spectral_gate(x, rate, cfg.denoise_threshold_db, cfg.denoise_reduction_db,
                              cfg.denoise_noise_fraction)
        if cfg.trim:
            x = self._trim(x)
            if x is None:
                return PreprocessResult(skip_reason="silent: no frame above -80 dBFS",
                                        skip_code="silent")
        notes: list[str] = []
        seconds = x.shape[0] / rate
        if cfg.max_seconds is not None and seconds > cfg.max_seconds:
            if cfg.too_long == "drop":
                return PreprocessResult(skip_reason=f"longer than max_seconds "
                                        f"({seconds:.2f} s > {cfg.max_seconds:g} s)",
                                        skip_code="too_long")
            pieces = self._split(x, text, notes)
            if isinstance(pieces, str):
                return PreprocessResult(skip_reason=pieces, notes=tuple(notes),
                                        skip_code="too_long_unsplittable")
        else:
            pieces = [Piece(x, text)]
        out = []
        for i, (piece, words) in enumerate(pieces):
            seconds = piece.shape[0] / rate
            if cfg.min_seconds is not None and seconds < cfg.min_seconds:
                reason = f"shorter than min_seconds ({seconds:.2f} s < {cfg.min_seconds:g} s)"
                if cfg.too_short == "drop":
                    if len(pieces) == 1:
                        return PreprocessResult(skip_reason=reason, notes=tuple(notes),
                                                skip_code="too_short")
                    notes.append(f"piece {i} ({words!r}) dropped: {reason}")
                    continue
            if cfg.loudness:
                piece, note = normalize_loudness(piece, rate, cfg.loudness_target_lufs,
                                                 cfg.loudness_peak_dbfs, cfg.loudness_floor_lufs)
                if note:
                    notes.append(note if len(pieces) == 1 else f"piece {i}: {note}")
            if cfg.min_seconds is not None and seconds < cfg.min_seconds:  # too_short == "pad"
                missing = int(math.ceil(cfg.min_seconds * rate)) - piece.shape[0]
                piece = np.pad(piece, (missing // 2, missing - missing // 2))
                notes.append(f"zero-padded from {seconds:.2f} s to {cfg.min_seconds:g} s")
            out.append(Piece(np.ascontiguousarray(piece, dtype=np.float32), words))
        if not out:
            return PreprocessResult(skip_reason="every piece was shorter than min_seconds",
                                    notes=tuple(notes), skip_code="too_short")
        return PreprocessResult(pieces=tuple(out), notes=tuple(notes))

    def _trim(self, x: np.ndarray) -> np.ndarray | None:
        cfg = self.config
        bounds = trim_bounds(x, cfg.sample_rate, cfg.trim_threshold_db, cfg.trim_pad_ms)
        return None if bounds is None else x[bounds[0]:bounds[1]]

    def _split(self, x: np.ndarray, text: str, notes: list[str]) -> list[Piece] | str:
        """Cut ``x`` at silences between aligned words; a skip reason if that cannot be done."""
        cfg, rate, model = self.config, self.config.sample_rate, self.aligner
        assert model is not None and cfg.max_seconds is not None
        seconds = x.shape[0] / rate
        cannot = f"longer than max_seconds ({seconds:.2f} s > {cfg.max_seconds:g} s) and cannot be split"
        try:
            units, labels, ranges = _alignment_units(text, model)
        except VocabularyError as err:
            return f"{cannot}: {err}"
        if len(units) < 2:
            return f"{cannot}: its transcript has fewer than two alignable words"
        wave = x if model.sample_rate == rate else resample(x, rate, model.sample_rate)
        try:
            alignment = viterbi_align(model.log_probs(wave), labels, model.vocabulary.blank_index)
        except ValueError as err:
            return f"{cannot}: alignment failed: {err}"
        words = word_times(alignment, ranges, model.frame_duration)
        quiet = silences(x, rate, cfg.split_threshold_db, cfg.split_min_silence_ms)
        cuts = plan_cuts(words, quiet, x.shape[0], rate, cfg.max_seconds, cfg.min_seconds or 0.0)
        if cuts is None:
            return f"{cannot}: some stretch longer than max_seconds has no pause between words"
        bounds = [0, *cuts, x.shape[0]]
        centres = [(w.start + w.end) / 2.0 * rate for w in words]
        pieces = []
        for start, end in zip(bounds[:-1], bounds[1:]):
            text_part = " ".join(u for u, c in zip(units, centres) if start <= c < end)
            audio_part = x[start:end]
            if cfg.trim:
                audio_part = self._trim(audio_part)
                if audio_part is None:  # cannot happen with a word inside; keep it safe
                    return f"{cannot}: a piece between cuts is silent"
            pieces.append(Piece(audio_part, text_part))
        notes.append(f"split into {len(pieces)} pieces at "
                     + ", ".join(f"{c / rate:.2f} s" for c in cuts))
        return pieces


def _alignment_units(text: str, model: AlignmentModel
                     ) -> tuple[list[str], list[int], list[tuple[int, int]]]:
    """Transcript -> (units, label ids, token range per unit).

    A unit is an original word, with any following words that have no alignable
    characters (e.g. a lone dash) attached to it. Words that the vocabulary cannot
    encode as they are are encoded after English normalisation (``"3"`` -> ``three``).
    """
    from edgeasr.text.normalize import normalize_english

    vocab = model.vocabulary
    units: list[str] = []
    encoded: list[list[int]] = []
    for word in text.split():
        try:
            ids = vocab.encode(word)
        except VocabularyError:
            ids = vocab.encode(normalize_english(word))
        if not ids and units:
            units[-1] = f"{units[-1]} {word}"
        elif units and not encoded[-1]:  # leading words without characters
            units[-1], encoded[-1] = f"{units[-1]} {word}", ids
        else:
            units.append(word)
            encoded.append(ids)
    labels: list[int] = []
    ranges: list[tuple[int, int]] = []
    space = vocab.space_index
    for ids in encoded:
        if labels and space is not None:
            labels.append(space)
        ranges.append((len(labels), len(labels) + len(ids)))
        labels.extend(ids)
    if encoded and not encoded[-1]:  # no word had characters
        return [], [], []
    return units, labels, ranges
