"""Bias mode: an open-vocabulary beam search pulled toward the sentences of a grammar.

Random sentences of the grammar (drawn template by template, :meth:`Grammar.sample`) train a
word n-gram (:func:`~..kneser_ney.build_lm`, interpolated modified Kneser-Ney). With a general
language model (``DecodingOptions.lm``) the two are mixed per word,
``P(w | h) = GRAMMAR_SHARE * P_grammar(w | h) + (1 - GRAMMAR_SHARE) * P_general(w | h)``;
without one the grammar's n-gram is the language model. The search is the ordinary prefix
beam search (:mod:`..beam`) with ``lm_weight``, ``word_bonus`` (the default of beam search with a language model when
not given), ``hotwords``, ``beam_width``
and ``token_min_logp`` from the options, so any sentence can come out, and the decoder
reports the intent whenever the transcript parses.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from ..base import LM_WORD_BONUS, DecodingOptions
from ..beam_decoder import BeamSearchDecoder, ngram_scorer
from ..kneser_ney import build_lm
from ..lm_scorer import NgramScorer
from ..ngram import NgramModel
from ..scoring import PrefixScorer, WordScorer
from .intents import Grammar

__all__ = ["GRAMMAR_SHARE", "SAMPLES", "MixedScorer", "biased_decoder", "grammar_lm"]

#: Weight of the grammar's n-gram when mixed with a general language model.
GRAMMAR_SHARE = 0.5
#: Sentences sampled from the grammar to estimate its n-gram.
SAMPLES = 5000
ORDER = 3


def grammar_lm(grammar: Grammar, samples: int = SAMPLES, order: int = ORDER,
               seed: int = 0) -> NgramModel:
    """A Kneser-Ney n-gram of ``samples`` random sentences of ``grammar``."""
    sentences = [s.split() for s in grammar.sample(samples, seed=seed)]
    files = ", ".join(grammar.templates.files)
    return NgramModel.from_entries(build_lm(sentences, order=order),
                                   source=f"{files} (grammar n-gram)")


class MixedScorer:
    """Two :class:`~..scoring.WordScorer` mixed linearly in probability.

    ``share`` is the weight of ``first``. States are pairs of the two scorers' states.
    Look-ahead bounds stay bounds: the mixture grows with each part.
    """

    def __init__(self, first: WordScorer, second: WordScorer, share: float = GRAMMAR_SHARE):
        if not 0.0 < share < 1.0:
            raise ValueError(f"share must be in (0, 1), got {share}")
        self.first, self.second = first, second
        self._a, self._b = math.log(share), math.log1p(-share)

    def start(self) -> tuple[Any, Any]:
        return self.first.start(), self.second.start()

    def score(self, state: tuple[Any, Any], word: str) -> tuple[float, tuple[Any, Any]]:
        a, sa = self.first.score(state[0], word)
        b, sb = self.second.score(state[1], word)
        return self._mix(a, b), (sa, sb)

    def lookahead(self, state: tuple[Any, Any], prefix: str) -> float:
        return self._mix(self.first.lookahead(state[0], prefix),
                         self.second.lookahead(state[1], prefix))

    def finish(self, state: tuple[Any, Any]) -> float:
        return self._mix(self.first.finish(state[0]), self.second.finish(state[1]))

    def _mix(self, a: float, b: float) -> float:
        return float(np.logaddexp(self._a + a, self._b + b))


def biased_decoder(grammar: Grammar, options: DecodingOptions,
                   frame_duration: float) -> BeamSearchDecoder:
    """The beam search of bias mode for ``grammar`` (see the module docstring)."""
    vocabulary = grammar.vocabulary
    beam_options = options.replace(method="beam", lm=None, grammar=None)
    beam = BeamSearchDecoder.from_options(beam_options, vocabulary, frame_duration)
    words: WordScorer = NgramScorer(grammar_lm(grammar), vocabulary)
    if options.lm is not None:
        words = MixedScorer(words, ngram_scorer(options.lm, vocabulary))
    hotwords = beam.scorer.hotwords if beam.scorer is not None else None
    bonus = options.word_bonus if options.word_bonus is not None else LM_WORD_BONUS
    scorer = PrefixScorer(vocabulary, words, options.lm_weight, bonus, hotwords)
    return dataclasses.replace(beam, scorer=scorer)
