"""``DecodingOptions(method="beam")``: prefix beam search with a language model and hotwords.

The decoder is built once per recogniser (:func:`~.base.make_decoder`): the language model is
loaded (once per file, see :func:`~.lm_file.load_lm`) and bound to the acoustic model's
alphabet, the hotwords are spelled in its tokens. Decoding an utterance runs
:func:`~.beam.prefix_beam_search`, takes word times from the best frame path of the winning
hypothesis, and confidences from the posteriors of the final beams (:mod:`.confidence`).
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass

import numpy as np

from ..errors import LanguageModelError
from ..vocab import Vocabulary
from .align import viterbi_align
from .base import EMPTY_TRANSCRIPT, Alternative, DecodingOptions, Transcript, register_decoder
from .beam import Hypothesis, prefix_beam_search
from .confidence import assemble_words, hypothesis_posteriors, word_posteriors
from .greedy import _check_scores, _token_runs
from .hotwords import HotwordBooster, parse_hotword
from .lm_file import load_lm
from .lm_scorer import NgramScorer
from .scoring import PrefixScorer

__all__ = ["BeamSearchDecoder", "LanguageModelWarning", "ngram_scorer"]

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
        lp = _check_scores(log_probs)
        return prefix_beam_search(lp, self.vocabulary.blank_index, self.options.beam_width,
                                  self.scorer, nbest=0,
                                  token_min_logp=self.options.token_min_logp,
                                  beam_threshold=self.options.beam_threshold)

    def decode(self, log_probs: np.ndarray) -> Transcript:
        """``(T, V)`` log-probabilities -> transcript with word times, confidences and (for
        ``nbest > 1``) the n-best list."""
        lp = _check_scores(log_probs)
        if lp.shape[0] == 0:
            return EMPTY_TRANSCRIPT
        hyps = self.search(lp)
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
        confidence = float(np.prod([w.confidence for w in words])) if words else 1.0
        return Transcript(" ".join(w.text for w in words), words, confidence,
                          alternatives=alternatives)

    def _token_frames(self, lp: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """First and last frame (inclusive) of each token on the best path of ``ids``."""
        best = lp.argmax(axis=1)
        starts, ends, greedy = _token_runs(best, self.vocabulary.blank_index)
        if greedy.shape == ids.shape and (greedy == ids).all():
            return starts, ends  # the best path of all frames spells the winner
        alignment = viterbi_align(lp, ids.tolist(), self.vocabulary.blank_index)
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
