"""Streaming recognition: feed audio as it arrives, get partial text and endpointed finals.

API (what servers and microphones call)::

    stream = recognizer.stream(endpoint=EndpointOptions(trailing_silence=0.8))
    update = stream.feed(samples)      # float32 (N,) at recognizer.sample_rate (int16 too)
    update.partial                     # text of the utterance still open
    update.finals                      # Transcripts closed by endpointing during this feed
    last = stream.finish()             # flush: the open utterance's Transcript, or None

Word times are seconds from the start of the stream. After :meth:`Stream.finish` the
stream starts over (time 0, fresh state); a stream is not thread-safe (one per connection).
The recogniser's ``margin`` of silence (:mod:`edgeasr_device.margin`) is decoded before the
stream's first sample and after its last (a buffered stream: around each utterance), and
counts in no time.

Two implementations, chosen by the model:

- a streaming export (:class:`~edgeasr_device.streaming_model.StreamingTfliteModel`) runs
  chunk by chunk (:class:`ChunkedStream`): the network carries its state from chunk to
  chunk, never restarts, and its output frames equal the whole-file model's. An utterance
  ends after ``trailing_silence`` seconds of blank output frames following speech (the
  model's own judgement: the blank run), or at ``max_utterance``.
- any other :class:`~edgeasr_device.model.AcousticModel` (a whole-utterance export) is
  segmented by voice activity (:class:`BufferedStream`): speech is buffered from its onset
  (with ``pre_roll``), and the model runs on the utterance once ``trailing_silence`` seconds
  of non-speech (the VAD) follow it, or at ``max_utterance``. Partial text re-runs the
  model on the open utterance every ``partial_interval`` seconds.

A final equals what the recogniser's decoder (greedy, beam, LM or grammar) gives for the
utterance's frames. With a streaming export and a beam decoder (beam width, LM, hotwords)
or a grammar, the search runs as the frames arrive
(:class:`~.decoding.beam_decoder.BeamStream`, :class:`~.decoding.grammar.GrammarStream`),
so the end of an utterance costs only its word times (and, with a grammar, the alignment
of the chosen sentence), and partials are the search's best prefix (the LM included; with
a strict grammar, the start of a sentence it allows); otherwise (greedy) the closed
utterance is decoded whole and partials are the best-path text.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from edgeasr_device.decoding import Transcript
from edgeasr_device.errors import AudioError, EdgeAsrError
from edgeasr_device.margin import margin_samples, shift_transcript
from edgeasr_device.vad import VAD_KINDS, make_vad

if TYPE_CHECKING:
    from edgeasr_device.recognizer import Recognizer

__all__ = ["BufferedStream", "ChunkedStream", "EndpointOptions", "Stream", "StreamUpdate",
           "open_stream", "shift_transcript"]


@dataclass(frozen=True)
class EndpointOptions:
    """When an utterance ends.

    Attributes:
        trailing_silence: seconds of non-speech after speech that close an utterance
            (blank output frames for a streaming model, VAD non-speech otherwise);
            None: utterances end only at ``finish()`` (and at ``max_utterance``).
        max_utterance: an utterance longer than this (seconds) is cut (at its last blank
            frame for a streaming model); bounds memory and latency. None: no limit.
        vad: ``"auto"``, ``"webrtc"`` or ``"energy"`` (whole-utterance models only).
        vad_aggressiveness: WebRTC VAD mode 0..3.
        pre_roll: seconds of audio kept before the VAD's speech onset (whole-utterance).
        partial_interval: seconds of audio between partial-text updates of a whole-utterance
            model (each re-runs the model on the open utterance); None: no partials.
    """

    trailing_silence: float | None = 0.8
    max_utterance: float | None = 30.0
    vad: str = "auto"
    vad_aggressiveness: int = 2
    pre_roll: float = 0.3
    partial_interval: float | None = 1.0

    def __post_init__(self) -> None:
        for name in ("trailing_silence", "max_utterance", "partial_interval"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value <= 0:
                raise EdgeAsrError(f"{name} must be a positive number of seconds or None, "
                                   f"got {value!r}")
        if isinstance(self.pre_roll, bool) or not isinstance(self.pre_roll, (int, float)) \
                or not 0 <= self.pre_roll < math.inf:
            raise EdgeAsrError(f"pre_roll must be >= 0 seconds, got {self.pre_roll!r}")
        if self.vad not in VAD_KINDS:
            raise EdgeAsrError(f"unknown vad {self.vad!r}: choose one of {', '.join(VAD_KINDS)}")
        if self.vad_aggressiveness not in (0, 1, 2, 3):
            raise EdgeAsrError(f"vad_aggressiveness must be 0..3, got {self.vad_aggressiveness!r}")


@dataclass(frozen=True)
class StreamUpdate:
    """What one :meth:`Stream.feed` produced: the open utterance's text so far, and the
    utterances endpointing closed during the call (oldest first)."""

    partial: str
    finals: tuple[Transcript, ...] = ()


def as_samples(samples: np.ndarray) -> np.ndarray:
    """float32 (N,) as given, int16 scaled by 1/32768; anything else is refused."""
    x = np.asarray(samples)
    if x.ndim != 1:
        raise AudioError(f"stream samples must have shape (N,) (mono), got {x.shape}")
    if x.dtype == np.int16:
        return x.astype(np.float32) / 32768.0
    if x.dtype not in (np.float32, np.float64):
        raise AudioError(f"stream samples must be float32 or int16, got {x.dtype}")
    x = x.astype(np.float32, copy=False)
    if x.size and not np.isfinite(x).all():
        raise AudioError("stream samples contain NaN/Inf")
    return x


class Stream:
    """Base of the two stream kinds: the decoder, the options, partial-text helpers."""

    def __init__(self, recognizer: Recognizer, endpoint: EndpointOptions | None):
        self.recognizer = recognizer
        self.endpoint = endpoint if endpoint is not None else EndpointOptions()
        self.sample_rate = recognizer.sample_rate
        self.frame_duration = recognizer.frame_duration
        self._blank = recognizer.vocabulary.blank_index
        self._vocabulary = recognizer.vocabulary

    def feed(self, samples: np.ndarray) -> StreamUpdate:
        raise NotImplementedError

    def finish(self) -> Transcript | None:
        raise NotImplementedError

    def _decode(self, log_probs: np.ndarray, start_seconds: float,
                end_seconds: float | None = None) -> Transcript:
        return shift_transcript(self.recognizer.decode(log_probs), start_seconds, end_seconds)

    def _text(self, ids: list[int]) -> str:
        return " ".join(self._vocabulary.decode(ids).split())


class ChunkedStream(Stream):
    """A streaming export run chunk by chunk; see the module docstring."""

    def __init__(self, recognizer: Recognizer, endpoint: EndpointOptions | None):
        super().__init__(recognizer, endpoint)
        self._runner = recognizer.model.runner()
        e = self.endpoint
        self._silence = None if e.trailing_silence is None else \
            max(1, round(e.trailing_silence / self.frame_duration))
        self._longest = None if e.max_utterance is None else \
            max(2, round(e.max_utterance / self.frame_duration))
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._frame = 0  # output frames seen since the stream started
        self._fed = 0  # samples fed since the stream started (the margins not counted)
        self._open_segment(0, [])
        # The recogniser's margin: the stream starts after that much silence (the frames of
        # which are the open utterance's first rows) and ends with as much (finish()).
        self._margin = np.zeros(margin_samples(self.recognizer.margin, self.sample_rate),
                                np.float32)
        if self._margin.size:
            self._consume(self._runner.feed(self._margin))

    def _open_segment(self, start: int, rows: list[np.ndarray]) -> None:
        self._start = start  # first output frame of the open utterance
        self._rows: list[np.ndarray] = []
        make = getattr(self.recognizer.decoder, "stream", None)
        self._search = make() if make is not None else None  # incremental decoder, if any
        self._searched = 0  # rows the incremental decoder has seen
        self._best: list[int] = []
        self._ids: list[int] = []
        self._last = self._blank
        self._run = 0  # trailing blank frames
        self._speech = False
        for row in rows:
            self._add(row)

    def _add(self, row: np.ndarray) -> None:
        best = int(row.argmax())
        self._rows.append(row)
        self._best.append(best)
        if best == self._blank:
            self._run += 1
        else:
            self._run = 0
            self._speech = True
            if best != self._last:
                self._ids.append(best)
        self._last = best

    def feed(self, samples: np.ndarray) -> StreamUpdate:
        samples = as_samples(samples)
        self._fed += samples.shape[0]
        finals = self._consume(self._runner.feed(samples))
        if self._search is not None:
            return StreamUpdate(self._search.partial() if self._speech else "", tuple(finals))
        return StreamUpdate(self._text(self._ids), tuple(finals))

    def finish(self) -> Transcript | None:
        """Flush the lookahead and close the open utterance; the stream starts over."""
        finals = self._consume(self._runner.feed(self._margin)) if self._margin.size else []
        finals += self._consume(self._runner.finish())
        closing = self._close(len(self._rows)) if self._rows and self._speech else None
        self._reset_stream()
        if finals:  # endpointing closed utterances inside the flushed frames
            return _merge([*finals, closing] if closing else finals)
        return closing

    def _consume(self, frames: np.ndarray) -> list[Transcript]:
        finals: list[Transcript] = []
        for row in frames:
            self._add(row)
            self._frame += 1
            if self._silence is not None and self._speech and self._run >= self._silence:
                finals.append(self._close(len(self._rows)))
            elif self._longest is not None and len(self._rows) >= self._longest:
                finals.append(self._close(self._cut_point()))
        self._search_rows()
        return finals

    def _search_rows(self) -> None:
        """Give the incremental decoder the rows it has not seen (once per fed block)."""
        if self._search is not None and self._searched < len(self._rows):
            self._search.feed(np.stack(self._rows[self._searched:]))
            self._searched = len(self._rows)

    def _cut_point(self) -> int:
        """Where a too-long utterance is cut: after its last blank frame in the second half."""
        half = len(self._best) // 2
        for i in range(len(self._best) - 1, half - 1, -1):
            if self._best[i] == self._blank:
                return i + 1
        return len(self._best)

    def _close(self, end: int) -> Transcript:
        rows, rest = self._rows[:end], self._rows[end:]
        start = self._start * self.frame_duration - self.recognizer.margin
        fed = self._fed / self.sample_rate  # no word ends later (the margin's frames)
        if self._search is not None and self._searched <= end:
            if self._searched < end:
                self._search.feed(np.stack(rows[self._searched:]))
            transcript = shift_transcript(self._search.finish(), start, fed)
        else:  # greedy, or a cut before rows the search has seen
            transcript = self._decode(np.stack(rows), start, fed)
        self._open_segment(self._start + end, rest)
        return transcript


def _merge(transcripts: list[Transcript]) -> Transcript:
    """Several finals as one transcript (what finish() returns when its flush endpointed)."""
    transcripts = [t for t in transcripts if t.words] or transcripts[:1]
    if len(transcripts) == 1:
        return transcripts[0]
    words = tuple(w for t in transcripts for w in t.words)
    return Transcript(text=" ".join(w.text for w in words), words=words,
                      confidence=float(np.prod([t.confidence for t in transcripts])))


class BufferedStream(Stream):
    """A whole-utterance model behind a voice-activity detector; see the module docstring."""

    def __init__(self, recognizer: Recognizer, endpoint: EndpointOptions | None):
        super().__init__(recognizer, endpoint)
        e = self.endpoint
        self._vad = make_vad(e.vad, self.sample_rate, e.vad_aggressiveness) \
            if e.trailing_silence is not None else None
        self._frame_len = self._vad.frame_samples if self._vad else 1024
        rate = self.sample_rate
        self._silence = None if e.trailing_silence is None else int(e.trailing_silence * rate)
        self._longest = None if e.max_utterance is None else int(e.max_utterance * rate)
        self._pre_roll = int(e.pre_roll * rate)
        self._partial_every = None if e.partial_interval is None else int(e.partial_interval * rate)
        self._reset_stream()

    def _reset_stream(self) -> None:
        self._pos = 0  # samples seen since the stream started
        self._pending = np.zeros(0, np.float32)
        self._history: list[np.ndarray] = []  # recent non-speech frames (pre-roll)
        self._utterance: list[np.ndarray] | None = None
        self._utt_start = 0
        self._utt_len = 0
        self._quiet = 0
        self._since_partial = 0
        self._partial = ""

    def feed(self, samples: np.ndarray) -> StreamUpdate:
        x = as_samples(samples)
        self._pending = np.concatenate([self._pending, x]) if self._pending.size else x
        finals: list[Transcript] = []
        n = self._frame_len
        usable = self._pending.shape[0] - self._pending.shape[0] % n
        for i in range(0, usable, n):
            final = self._frame(self._pending[i:i + n])
            if final is not None:
                finals.append(final)
        self._pending = self._pending[usable:]
        if self._utterance is not None and self._partial_every is not None \
                and self._since_partial >= self._partial_every:
            self._since_partial = 0
            lp = self.recognizer.utterance_log_probs(np.concatenate(self._utterance))
            from edgeasr_device.decoding.greedy import greedy_ids
            self._partial = self._text(greedy_ids(lp, self._blank).tolist())
        return StreamUpdate(self._partial if self._utterance is not None else "", tuple(finals))

    def _frame(self, frame: np.ndarray) -> Transcript | None:
        speech = True if self._vad is None else self._vad.is_speech(frame)
        start = self._pos
        self._pos += frame.shape[0]
        if self._utterance is None:
            if not speech:
                self._history.append(frame)
                while sum(h.shape[0] for h in self._history) > self._pre_roll + frame.shape[0]:
                    self._history.pop(0)
                return None
            kept = sum(h.shape[0] for h in self._history)
            keep = min(kept, self._pre_roll)
            before = np.concatenate(self._history)[kept - keep:] if keep else np.zeros(0, np.float32)
            self._history = []
            self._utterance = [before, frame]
            self._utt_start = start - keep
            self._utt_len = keep + frame.shape[0]
            self._quiet = 0
            self._since_partial = frame.shape[0]
            return None
        self._utterance.append(frame)
        self._utt_len += frame.shape[0]
        self._since_partial += frame.shape[0]
        self._quiet = 0 if speech else self._quiet + frame.shape[0]
        if (self._silence is not None and self._quiet >= self._silence) or \
                (self._longest is not None and self._utt_len >= self._longest):
            return self._close()
        return None

    def _close(self) -> Transcript:
        audio = np.concatenate(self._utterance)
        self._utterance = None
        self._partial = ""
        rate = self.sample_rate
        return self._decode(self.recognizer.utterance_log_probs(audio),
                            self._utt_start / rate - self.recognizer.margin,
                            (self._utt_start + audio.shape[0]) / rate)

    def finish(self) -> Transcript | None:
        """Close the open utterance (with any audio not yet framed); the stream starts over."""
        if self._pending.size:
            if self._utterance is not None:
                self._utterance.append(self._pending)
            elif self._vad is None or self._vad.is_speech(
                    np.pad(self._pending, (0, self._frame_len - self._pending.shape[0]))):
                self._utterance = [self._pending]
                self._utt_start = self._pos
        result = self._close() if self._utterance is not None else None
        self._reset_stream()
        return result


def open_stream(recognizer: Recognizer, endpoint: EndpointOptions | None = None) -> Stream:
    """A :class:`ChunkedStream` for a streaming export, a :class:`BufferedStream` otherwise."""
    if callable(getattr(recognizer.model, "runner", None)):
        return ChunkedStream(recognizer, endpoint)
    return BufferedStream(recognizer, endpoint)
