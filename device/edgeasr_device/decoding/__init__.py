"""CTC decoding: log-probabilities ``(T, V)`` -> transcripts, and forced alignment.

``DecodingOptions(method=...)`` names a registered decoder and :func:`make_decoder` builds it
for a model's vocabulary and frame duration. Each decoder is one module that registers
itself; importing this package imports them all: ``greedy`` (best path) and ``beam``
(prefix beam search with an n-gram language model, a word bonus and hotwords).

Language models: :func:`load_lm` reads ARPA text or the compiled form (:func:`compile_lm`),
:func:`~.kneser_ney.build_lm` estimates one from sentences (Kneser-Ney); a :class:`WordScorer` is what
the beam search asks for word scores.
"""

from edgeasr_device.decoding.align import (
    Alignment,
    TokenSpan,
    WordTime,
    viterbi_align,
    word_times,
)
from edgeasr_device.decoding.base import (
    EMPTY_TRANSCRIPT,
    Alternative,
    Decoder,
    DecodingOptions,
    Intent,
    Transcript,
    Word,
    decoder_names,
    log_softmax,
    make_decoder,
    register_decoder,
)
from edgeasr_device.decoding.beam import Hypothesis, prefix_beam_search
from edgeasr_device.decoding.beam_decoder import BeamSearchDecoder, LanguageModelWarning
from edgeasr_device.decoding.grammar import GrammarDecoder, GrammarError, load_grammar
from edgeasr_device.decoding.greedy import GreedyDecoder, greedy_decode, greedy_ids
from edgeasr_device.decoding.hotwords import Hotword, HotwordBooster, parse_hotword
from edgeasr_device.decoding.lm_file import compile_lm, load_lm
from edgeasr_device.decoding.lm_scorer import NgramScorer
from edgeasr_device.decoding.ngram import NgramModel
from edgeasr_device.decoding.scoring import PrefixScorer, WordScorer

__all__ = [
    "EMPTY_TRANSCRIPT",
    "Alignment",
    "Alternative",
    "BeamSearchDecoder",
    "Decoder",
    "DecodingOptions",
    "GrammarDecoder",
    "GrammarError",
    "GreedyDecoder",
    "Hotword",
    "HotwordBooster",
    "Hypothesis",
    "Intent",
    "LanguageModelWarning",
    "NgramModel",
    "NgramScorer",
    "PrefixScorer",
    "TokenSpan",
    "Transcript",
    "Word",
    "WordScorer",
    "WordTime",
    "compile_lm",
    "decoder_names",
    "greedy_decode",
    "greedy_ids",
    "load_grammar",
    "load_lm",
    "log_softmax",
    "make_decoder",
    "parse_hotword",
    "prefix_beam_search",
    "register_decoder",
    "viterbi_align",
    "word_times",
]
