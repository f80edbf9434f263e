"""``DecodingOptions(method="beam")``: prefix beam search with a language model and hotwords.

The decoder is built once per recogniser (:func:`~.base.make_decoder`): the language model is
loaded (once per file, see :func:`~.lm_file.load_lm`) and bound to the acoustic model's
alphabet, the hotwords are spelled in its tokens. Decoding an utterance runs
:func:`~.beam.prefix_beam_search`, takes word times from the best frame path of the winning
hypothesis, and confidences from the posteriors of the final beams (:mod:`.confidence`).
"""

from __future__ import annotations

import math
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import LanguageModelError
from ..vocab import Vocabulary
from .align import viterbi_align
from .base import EMPTY_TRANSCRIPT, Alternative, DecodingOptions, Transcript, register_decoder
from .beam import Hypothesis, PrefixBeamSearch, prefix_beam_search
from .confidence import assemble_words, hypothesis_posteriors, word_posteriors
from .greedy import _check_scores
from .hotwords import HotwordBooster, parse_hotword
from .lm_file import load_lm
from .lm_scorer import NgramScorer
from .scoring import PrefixScorer

__all__ = ["BeamSearchDecoder", "BeamStream", "LanguageModelWarning", "ngram_scorer"]

#: Trellises (frames x states) up to this size are aligned by :func:`_best_path_frames`.
_SMALL_TRELLIS = 2_000_000

_SCORERS: dict[tuple[int, Vocabulary, tuple[str, ...], float], NgramScorer] = {}
_SCORERS_LOCK = threading.Lock()


class LanguageModelWarning(UserWarning):
    """Some words of a language model cannot be used with this acoustic model."""


def ngram_scorer(path: str, vocabulary: Vocabulary, extra_words: tuple[str, ...] = (),
                 oov_penalty: float = 0.0) -> NgramScorer:
    """The language model in ``path`` bound to ``vocabulary`` (built once per combination).

    Warns (:class:`LanguageModelWarning`) when some words cannot be written by the model.
    """
    model = load_lm(path)
    key = (id(model), vocabulary, extra_words, oov_penalty)
    with _SCORERS_LOCK:
        scorer = _SCORERS.get(key)
    if scorer is None:
        scorer = NgramScorer(model, vocabulary, extra_words, oov_penalty)
        with _SCORERS_LOCK:
            _SCORERS[key] = scorer
        if scorer.skipped:
            warnings.warn(LanguageModelWarning(
                f"{path}: {scorer.skipped} word(s) use characters the acoustic model cannot "
                f"write and are skipped (e.g. {', '.join(map(repr, scorer.skipped_examples))})"),
                stacklevel=3)
    return scorer


@register_decoder("beam")
@dataclass(frozen=True)
class BeamSearchDecoder:
    """Prefix beam search for one model's vocabulary and frame rate.

    Attributes:
        vocabulary: the model's classes.
        frame_duration: seconds per output frame.
        options: the decoding options (beam width, n-best, pruning).
        scorer: context scores (language model, word bonus, hotwords), or None.
    """

    vocabulary: Vocabulary
    frame_duration: float
    options: DecodingOptions
    scorer: PrefixScorer | None = None

    @classmethod
    def from_options(cls, options: DecodingOptions, vocabulary: Vocabulary,
                     frame_duration: float) -> BeamSearchDecoder:
        """Load the language model and spell the hotwords that ``options`` name.

        Raises:
            LanguageModelError: the language model cannot be read or does not fit.
            VocabularyError: a hotword has a character the model cannot write.
        """
        hotwords = None
        if options.hotwords:
            hotwords = HotwordBooster([parse_hotword(h) for h in options.hotwords], vocabulary)
        words = None
        if options.lm is not None:
            extra = tuple(sorted(hotwords.words)) if hotwords is not None else ()
            words = ngram_scorer(options.lm, vocabulary, extra, options.oov_penalty)
            if vocabulary.space_index is None:
                raise LanguageModelError(f"{options.lm}: a word language model needs a model "
                                         "with a space token between words")
        scorer = None
        if words is not None or hotwords is not None or options.bonus != 0.0:
            scorer = PrefixScorer(vocabulary, words, options.lm_weight, options.bonus, hotwords)
        return cls(vocabulary, frame_duration, options, scorer)

    def search(self, log_probs: np.ndarray) -> list[Hypothesis]:
        """Every final beam of ``(T, V)`` log-probabilities, best first."""
        return self._search(_check_scores(log_probs))

    def _search(self, lp: np.ndarray) -> list[Hypothesis]:
        return prefix_beam_search(lp, self.vocabulary.blank_index, self.options.beam_width,
                                  self.scorer, nbest=0,
                                  token_min_logp=self.options.token_min_logp,
                                  beam_threshold=self.options.beam_threshold,
                                  blank_skip=self.options.blank_skip)

    def decode(self, log_probs: np.ndarray) -> Transcript:
        """``(T, V)`` log-probabilities -> transcript with word times, confidences and (for
        ``nbest > 1``) the n-best list."""
        lp = _check_scores(log_probs)
        if lp.shape[0] == 0:
            return EMPTY_TRANSCRIPT
        return self._transcript(lp, self._search(lp))

    def stream(self) -> BeamStream:
        """An incremental decode of one utterance: :class:`BeamStream`."""
        return BeamStream(self)

    def _transcript(self, lp: np.ndarray, hyps: list[Hypothesis]) -> Transcript:
        posteriors = hypothesis_posteriors([h.score for h in hyps])
        best = hyps[0]
        alternatives = self._alternatives(hyps, posteriors) if self.options.nbest > 1 else ()
        if not any(t != self.vocabulary.space_index for t in best.tokens):
            return Transcript("", (), 1.0, alternatives=alternatives)
        ids = np.asarray(best.tokens, dtype=np.int64)
        starts, ends = self._token_frames(lp, ids)
        support = word_posteriors(hyps, posteriors, self.vocabulary)
        words = assemble_words(lp, ids, starts, ends, self.vocabulary, self.frame_duration,
                               support)
        confidence = float(math.prod(w.confidence for w in words)) if words else 1.0
        return Transcript(" ".join(w.text for w in words), words, confidence,
                          alternatives=alternatives)

    def _token_frames(self, lp: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last frame (inclusive) of each token on the best path of ``ids``."""
        blank = self.vocabulary.blank_index
        starts, ends, greedy = [], [], []  # runs of the arg-max path (a loop: T is small)
        previous = -1
        for t, c in enumerate(lp.argmax(axis=1).tolist()):
            if c != previous:
                previous = c
                if c != blank:
                    starts.append(t)
                    ends.append(t)
                    greedy.append(c)
            elif c != blank:
                ends[-1] = t
        if greedy == ids.tolist():  # the best path of all frames spells the winner
            return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
        if lp.shape[0] * (2 * ids.size + 1) <= _SMALL_TRELLIS:
            found = _best_path_frames(lp, ids, blank)
            if found is not None:
                return found
        alignment = viterbi_align(lp, ids.tolist(), blank)  # also says why none exists
        spans = alignment.tokens
        return (np.array([s.start for s in spans], dtype=np.int64),
                np.array([s.end - 1 for s in spans], dtype=np.int64))

    def _alternatives(self, hyps: list[Hypothesis], posteriors: np.ndarray
                      ) -> tuple[Alternative, ...]:
        """The n-best list by text (prefixes that spell the same words are summed)."""
        seen: dict[str, list[float]] = {}
        for hyp, post in zip(hyps, posteriors.tolist()):
            text = " ".join(self.vocabulary.decode(hyp.tokens).split())
            entry = seen.setdefault(text, [hyp.score, 0.0])
            entry[1] += post
        ranked = list(seen.items())[:self.options.nbest]
        return tuple(Alternative(text, float(score), float(post))
                     for text, (score, post) in ranked)


class BeamStream:
    """One utterance decoded as its frames arrive: ``feed`` runs the search on them at once,
    ``partial`` is the best prefix so far, ``finish`` the transcript ``decode`` gives for all
    the frames fed (the same text and scores: :class:`~.beam.PrefixBeamSearch`). The frames
    are kept for the word times and confidences, which need the whole utterance."""

    def __init__(self, decoder: BeamSearchDecoder):
        self.decoder = decoder
        self._search: PrefixBeamSearch | None = None  # made by the first frames (V)
        self._rows: list[np.ndarray] = []

    @property
    def frames(self) -> int:
        return self._search.frames if self._search is not None else 0

    def feed(self, log_probs: np.ndarray) -> None:
        """Search ``(T, V)`` more frames of the utterance."""
        lp = _check_scores(log_probs)
        if not lp.shape[0]:
            return
        if self._search is None:
            o = self.decoder.options
            self._search = PrefixBeamSearch(lp.shape[1], self.decoder.vocabulary.blank_index,
                                            o.beam_width, self.decoder.scorer,
                                            o.token_min_logp, o.beam_threshold,
                                            o.blank_skip)
        self._search.advance(lp)
        self._rows.append(lp)

    def partial(self) -> str:
        """The best prefix's text so far (before the end-of-utterance LM score)."""
        if self._search is None:
            return ""
        tokens = self.decoder.vocabulary.decode(self._search.best_tokens())
        return " ".join(tokens.split())

    def finish(self) -> Transcript:
        """The transcript of every frame fed, as ``decoder.decode`` of them all."""
        if self._search is None:
            return EMPTY_TRANSCRIPT
        lp = np.concatenate(self._rows) if len(self._rows) > 1 else self._rows[0]
        return self.decoder._transcript(lp, self._search.hypotheses(0))


def _best_path_frames(lp: np.ndarray, ids: np.ndarray, blank: int
                      ) -> tuple[np.ndarray, np.ndarray] | None:
    """First and last frame of each of ``ids`` (L,) on their most likely CTC path through
    ``lp`` (T, V), or None when no path has non-zero probability.

    The same trellis, tie-breaking and result as :func:`~.align.viterbi_align`, computed as
    four in-place numpy operations per frame with the back-pointers recovered afterwards
    from the stored scores (the aligner's per-frame arg-max costs more than its arithmetic
    on trellises this small).
    """
    t_len, size = lp.shape[0], 2 * ids.size + 1
    states = np.full(size, blank, dtype=np.int64)
    states[1::2] = ids
    penalty = np.zeros(size - 2)  # -inf where a state may not skip from two back
    penalty[1::2] = np.where(ids[1:] != ids[:-1], 0.0, -np.inf)
    penalty[0::2] = -np.inf  # blanks are entered from the token before or themselves
    emit = np.asarray(lp[:, states], dtype=np.float64)
    score = np.full((t_len, size), -np.inf)
    score[0, :2] = emit[0, :2]
    skip = np.empty(max(size - 2, 0))
    maximum, add = np.maximum, np.add
    for t in range(1, t_len):
        prev, cur = score[t - 1], score[t]
        cur[0] = prev[0]
        maximum(prev[1:], prev[:-1], out=cur[1:])
        if size > 2:
            add(prev[:-2], penalty, out=skip)
            maximum(cur[2:], skip, out=cur[2:])
        add(cur, emit[t], out=cur)
    last = size - 1 if size == 1 or score[-1, -1] >= score[-1, -2] else size - 2
    if not np.isfinite(score[-1, last]):
        return None
    table = score.tolist()
    can_skip = [False, False] + [p == 0.0 for p in penalty.tolist()]
    path = [0] * t_len
    s = last
    for t in range(t_len - 1, 0, -1):
        path[t] = s
        prev = table[t - 1]
        best, step = prev[s], 0
        if s >= 1 and prev[s - 1] > best:
            best, step = prev[s - 1], 1
        if can_skip[s] and prev[s - 2] > best:
            step = 2
        s -= step
    path[0] = s
    starts = [-1] * ids.size
    ends = [0] * ids.size
    for t, state in enumerate(path):
        if state & 1:
            j = state >> 1
            if starts[j] < 0:
                starts[j] = t
            ends[j] = t
    return np.array(starts, dtype=np.int64), np.array(ends, dtype=np.int64)
