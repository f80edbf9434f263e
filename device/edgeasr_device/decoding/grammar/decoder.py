"""The ``"grammar"`` decoding method: voice commands as text, intent and slot values.

Strict mode (default) searches only the sentences of the grammar
(:func:`~.search.grammar_search`), then checks that the winner is plausible: its best
alignment is compared with the unconstrained best path (arg-max per frame), and the
difference, in nats per *speech frame* (a frame where either path emits a token, so that
leading and trailing silence does not dilute it), must not exceed
``DecodingOptions.grammar_threshold``, and no word's confidence may be under
``grammar_min_confidence``: the first test catches speech unlike any sentence, the second a
sentence with one word the speaker did not say ("turn off" heard by a grammar that only has
"turn on"). Otherwise the result is "no match" with the reason.

Bias mode (``grammar_mode="bias"``) runs an open-vocabulary search pulled toward the
grammar (:mod:`.bias`) and reports the intent whenever the transcript parses.

Word times come from the CTC alignment of the chosen sentence. A word's confidence is
``exp`` of the mean, over its frames, of the aligned class's log-probability minus the
frame's best: 1.0 when the word is what the model would have said anyway.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from ...errors import VocabularyError
from ...vocab import Vocabulary
from ..align import viterbi_align
from ..base import (
    EMPTY_TRANSCRIPT,
    GRAMMAR_MIN_CONFIDENCE,
    GRAMMAR_THRESHOLD,
    DecodingOptions,
    Intent,
    Transcript,
    Word,
    register_decoder,
)
from ..greedy import greedy_ids
from .intents import Grammar, load_grammar
from .search import GrammarHypothesis, GrammarSearch

__all__ = ["Closest", "GrammarDecoder", "GrammarStream"]

#: Prefixes kept per frame by the strict grammar search (``DecodingOptions.beam_width``).
BEAM_WIDTH = 16


@dataclasses.dataclass(frozen=True)
class Closest:
    """The closest grammar sentence to some audio, before the no-match tests.

    Attributes:
        free: the unconstrained (greedy) transcription.
        text: the sentence, or None when no whole sentence survived the search.
        partial: where the search ended when ``text`` is None.
        gap: nats per speech frame the sentence is less likely than the free transcription.
        words: the sentence's words with times and confidences.
    """

    free: str
    text: str | None = None
    partial: str = ""
    gap: float = float("inf")
    words: tuple[Word, ...] = ()

    @property
    def min_confidence(self) -> float:
        """The weakest word's confidence (0.0 without a sentence)."""
        return min((w.confidence for w in self.words), default=0.0)


@register_decoder("grammar")
class GrammarDecoder:
    """Decode into the sentences (strict) or toward the sentences (bias) of a grammar.

    Args:
        grammar: from :func:`~.intents.load_grammar`, for this model's vocabulary.
        frame_duration: seconds per model output frame.
        threshold: no-match threshold, nats per speech frame (strict mode).
        min_confidence: no match when a word's confidence is below this (strict mode).
        mode: ``"strict"`` or ``"bias"``.
        biased: the open-vocabulary decoder of bias mode.
    """

    def __init__(self, grammar: Grammar, frame_duration: float,
                 threshold: float = GRAMMAR_THRESHOLD, mode: str = "strict", biased=None,
                 beam_width: int = BEAM_WIDTH,
                 min_confidence: float = GRAMMAR_MIN_CONFIDENCE):
        self.grammar = grammar
        self.vocabulary: Vocabulary = grammar.vocabulary
        self.frame_duration = float(frame_duration)
        self.threshold = float(threshold)
        self.min_confidence = float(min_confidence)
        self.mode = mode
        self.biased = biased
        self.beam_width = int(beam_width)

    @classmethod
    def from_options(cls, options: DecodingOptions, vocabulary: Vocabulary,
                     frame_duration: float) -> GrammarDecoder:
        """Load ``options.grammar`` for this vocabulary (and, in bias mode, its LM)."""
        grammar = load_grammar(options.grammar, vocabulary,
                               skip_unusable=options.grammar_skip_unusable)
        biased = None
        if options.grammar_mode == "bias":
            from .bias import biased_decoder
            biased = biased_decoder(grammar, options, frame_duration)
        return cls(grammar, frame_duration, options.grammar_threshold, options.grammar_mode,
                   biased, options.beam_width, options.grammar_min_confidence)

    def decode(self, log_probs: np.ndarray) -> Transcript:
        """``(T, V)`` log-probabilities -> transcript with ``intent`` or ``no_match``."""
        lp = _checked(log_probs, self.vocabulary)
        if lp.shape[0] == 0:
            return _no_match("the audio gave no frames")
        if self.mode == "bias":
            return self._parse_biased(self.biased.decode(lp))
        return self._judge(self.closest(lp))

    def stream(self) -> GrammarStream:
        """An incremental decode of one utterance: :class:`GrammarStream`."""
        return GrammarStream(self)

    # ------------------------------------------------------------------------------------
    def search(self) -> GrammarSearch:
        """A fresh strict-mode search over this grammar."""
        return GrammarSearch(self.grammar.graph, self.vocabulary.blank_index,
                             beam_width=self.beam_width)

    def closest(self, log_probs: np.ndarray, found: tuple[GrammarHypothesis | None,
                GrammarHypothesis] | None = None) -> Closest:
        """The grammar's closest sentence to ``(T, V)`` log-probabilities, before the no-match
        tests: what strict decoding judges (and what a threshold sweep needs).

        ``found``: the result of a search already run over exactly these frames
        (:meth:`GrammarSearch.result`), or None to run one.
        """
        lp = np.asarray(log_probs)
        vocab = self.vocabulary
        if found is None:
            search = self.search()
            search.advance(lp)
            found = search.result()
        best, partial = found
        free = vocab.decode(greedy_ids(lp, vocab.blank_index)).strip()
        if best is None:
            return Closest(free=free, partial=vocab.decode(partial.ids).strip())
        ids = list(best.ids)
        while ids and ids[-1] == vocab.space_index:
            ids.pop()
        align = viterbi_align(lp, ids, vocab.blank_index)
        top = lp.max(axis=1).astype(np.float64)
        speech = (lp.argmax(axis=1) != vocab.blank_index) | (align.path != vocab.blank_index)
        gap = float((top.sum() - align.log_prob) / max(1, int(speech.sum())))
        return Closest(free=free, text=vocab.decode(ids), gap=gap,
                       words=tuple(self._words(lp, ids, align, top)))

    def _judge(self, found: Closest) -> Transcript:
        """Strict mode: the closest sentence, or no match with the reason."""
        text, free = found.text, found.free
        if text is None:
            return _no_match(f"no sentence of the grammar fits the audio (the search ended "
                             f"inside \"{found.partial}...\"; the free transcription is "
                             f"\"{free}\")")
        if found.gap > self.threshold:
            return _no_match(f"the closest sentence of the grammar, \"{text}\", is "
                             f"{found.gap:.2f} nats per speech frame less likely than the free "
                             f"transcription \"{free}\" (threshold {self.threshold:g})")
        weakest = min(found.words, key=lambda w: w.confidence)
        if weakest.confidence < self.min_confidence:
            return _no_match(f"the word \"{weakest.text}\" of the closest sentence of the "
                             f"grammar, \"{text}\", has confidence {weakest.confidence:.3f}, "
                             f"below {self.min_confidence:g}: the free transcription is "
                             f"\"{free}\"")
        transcript = _transcript(list(found.words))
        intent = self.grammar.parse(text)
        if intent is None:  # the graph and hassil's matcher disagree: say so
            return _no_match(f"\"{text}\" is a sentence of the grammar but hassil's matcher "
                             f"finds no intent for it (does it need context?)", transcript)
        return _with_intent(transcript, intent)

    def _parse_biased(self, transcript: Transcript) -> Transcript:
        """Bias mode: the open-vocabulary transcript, with its intent when it parses."""
        intent = self.grammar.parse(transcript.text)
        if intent is None:
            reason = ("the transcript matches no sentence of the grammar" if transcript.text
                      else "nothing was recognised")
            return _no_match(reason, transcript)
        return _with_intent(transcript, intent)

    def _words(self, lp: np.ndarray, ids: list[int], align, top: np.ndarray) -> list[Word]:
        """Words of the aligned sentence with times and confidences.

        A word's time is its tokens' frames; its confidence also counts the frames after it
        up to the next word (the space and blanks), where speech the grammar lacks shows up.
        """
        space = self.vocabulary.space_index
        tokens = self.vocabulary.tokens
        chosen = lp[np.arange(lp.shape[0]), align.path].astype(np.float64) - top
        spans, first = [], 0
        for i in range(len(ids) + 1):
            if i == len(ids) or ids[i] == space:
                if i > first:
                    spans.append((first, i))
                first = i + 1
        words = []
        for k, (a, b) in enumerate(spans):
            start, end = align.tokens[a].start, align.tokens[b - 1].end
            reach = align.tokens[spans[k + 1][0]].start if k + 1 < len(spans) else end
            conf = float(np.exp(chosen[start:reach].mean())) if reach > start else 0.0
            words.append(Word("".join(tokens[j] for j in ids[a:b]),
                              start * self.frame_duration, end * self.frame_duration, conf))
        return words


class GrammarStream:
    """One utterance decoded as its frames arrive: ``feed`` runs the grammar search (strict)
    or the biased beam search (bias mode) on them at once, ``partial`` is the best prefix so
    far, ``finish`` the transcript ``decode`` gives for all the frames fed (the same search,
    so the same result); what is left for ``finish`` is the alignment of the chosen sentence
    and the no-match tests."""

    def __init__(self, decoder: GrammarDecoder):
        self.decoder = decoder
        self._strict = decoder.search() if decoder.mode != "bias" else None
        self._biased = decoder.biased.stream() if decoder.mode == "bias" else None
        self._rows: list[np.ndarray] = []

    def feed(self, log_probs: np.ndarray) -> None:
        """Search ``(T, V)`` more frames of the utterance."""
        lp = _checked(log_probs, self.decoder.vocabulary)
        if not lp.shape[0]:
            return
        if self._strict is not None:
            self._strict.advance(lp)
        else:
            self._biased.feed(lp)
        self._rows.append(lp)

    def partial(self) -> str:
        """The best prefix's text so far (strict: a prefix of a grammar sentence)."""
        if self._biased is not None:
            return self._biased.partial()
        if not self._rows:
            return ""
        return " ".join(self.decoder.vocabulary.decode(self._strict.best_prefix()).split())

    def finish(self) -> Transcript:
        """The transcript of every frame fed, as ``decoder.decode`` of them all."""
        if not self._rows:
            return _no_match("the audio gave no frames")
        if self._biased is not None:
            return self.decoder._parse_biased(self._biased.finish())
        lp = np.concatenate(self._rows) if len(self._rows) > 1 else self._rows[0]
        return self.decoder._judge(self.decoder.closest(lp, self._strict.result()))


def _checked(log_probs: np.ndarray, vocabulary: Vocabulary) -> np.ndarray:
    """``log_probs`` as an array of shape ``(T, V)`` for ``vocabulary``, or VocabularyError."""
    lp = np.asarray(log_probs)
    if lp.ndim != 2 or lp.shape[1] != vocabulary.size:
        raise VocabularyError(f"log_probs must have shape (T, {vocabulary.size}) for this "
                              f"vocabulary, got {lp.shape}")
    return lp


def _transcript(words: list[Word]) -> Transcript:
    if not words:
        return EMPTY_TRANSCRIPT
    return Transcript(text=" ".join(w.text for w in words), words=tuple(words),
                      confidence=float(np.mean([w.confidence for w in words])))


def _with_intent(transcript: Transcript, intent: Intent) -> Transcript:
    return dataclasses.replace(transcript, intent=intent, no_match=None)


def _no_match(reason: str, heard: Transcript | None = None) -> Transcript:
    """A no-match result; in bias mode the open-vocabulary transcript is kept."""
    if heard is None:
        return Transcript(text="", words=(), confidence=0.0, no_match=reason)
    return dataclasses.replace(heard, intent=None, no_match=reason)
