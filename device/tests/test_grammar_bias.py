"""Bias mode: open-vocabulary beam search pulled toward a grammar, intent when it parses."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("hassil")

from test_grammar_decoder import FRAME, GRAMMAR, VOCAB, fake_log_probs

from edgeasr_device.decoding import DecodingOptions, make_decoder
from edgeasr_device.decoding.arpa import write_arpa
from edgeasr_device.decoding.grammar import load_grammar
from edgeasr_device.decoding.grammar.bias import MixedScorer, grammar_lm
from edgeasr_device.decoding.kneser_ney import build_lm


@pytest.fixture()
def grammar_file(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(GRAMMAR, encoding="utf-8")
    return path


def bias_options(grammar_file, **extra):
    return DecodingOptions(method="grammar", grammar=str(grammar_file), grammar_mode="bias",
                           **extra)


def test_bias_mode_reports_the_intent_when_the_text_parses(grammar_file):
    decoder = make_decoder(bias_options(grammar_file), VOCAB, FRAME)
    result = decoder.decode(fake_log_probs("switch on the bedroom fan", noise=0.3))
    assert result.text == "switch on the bedroom fan"
    assert result.intent.name == "HassTurnOn" and result.intent.slots["area"] == "bedroom"
    assert result.no_match is None and len(result.words) == 5


def test_bias_mode_keeps_open_vocabulary_text_without_an_intent(grammar_file):
    decoder = make_decoder(bias_options(grammar_file), VOCAB, FRAME)
    result = decoder.decode(fake_log_probs("play some jazz", peak=0.99))
    assert result.text == "play some jazz"  # not forced into the grammar
    assert result.intent is None
    assert result.no_match == "the transcript matches no sentence of the grammar"
    assert result.to_dict()["intent"] is None


def test_bias_pulls_a_near_miss_toward_the_grammar(grammar_file):
    # an ambiguous frame between "fan" and "fun": the grammar's n-gram decides
    lp = fake_log_probs("turn on the kitchen fan")
    a, u = VOCAB.encode("a")[0], VOCAB.encode("u")[0]
    frame = int(np.flatnonzero(lp.argmax(axis=1) == a)[-1])
    lp[frame - 2:frame + 1, a], lp[frame - 2:frame + 1, u] = math.log(0.45), math.log(0.5)
    greedy = make_decoder(DecodingOptions(), VOCAB, FRAME).decode(lp)
    assert greedy.text == "turn on the kitchen fun"
    biased = make_decoder(bias_options(grammar_file, lm_weight=1.0), VOCAB, FRAME).decode(lp)
    assert biased.text == "turn on the kitchen fan" and biased.intent.slots["device"] == "fan"


def test_the_grammar_ngram_knows_the_grammars_words(grammar_file):
    model = grammar_lm(load_grammar(grammar_file, VOCAB), samples=500)
    assert model.order == 3
    for word in ("turn", "switch", "kitchen", "television", "percent", "nine", "oh"):
        assert model.word_id(word) >= 0, word
    assert model.log_prob_of(["<s>", "turn"], "on") > model.log_prob_of(["<s>", "turn"], "percent")


class _Fixed:
    """A word scorer with one log-probability for every word."""

    def __init__(self, value):
        self.value = value

    def start(self):
        return ()

    def score(self, state, word):
        return self.value, state

    def lookahead(self, state, prefix):
        return self.value

    def finish(self, state):
        return self.value


def test_mixed_scorer_mixes_probabilities():
    mixed = MixedScorer(_Fixed(math.log(0.2)), _Fixed(math.log(0.6)), share=0.25)
    value, state = mixed.score(mixed.start(), "x")
    assert value == pytest.approx(math.log(0.25 * 0.2 + 0.75 * 0.6)) and state == ((), ())
    assert mixed.lookahead(state, "x") == pytest.approx(value)
    assert mixed.finish(state) == pytest.approx(value)
    with pytest.raises(ValueError):
        MixedScorer(_Fixed(0.0), _Fixed(0.0), share=1.0)


def test_bias_mode_mixes_in_a_general_language_model(grammar_file, tmp_path):
    lm = tmp_path / "general.arpa"
    write_arpa(lm, build_lm([s.split() for s in ["play some jazz", "play some rock",
                                                 "turn on the kitchen lights"]]))
    decoder = make_decoder(bias_options(grammar_file, lm=str(lm)), VOCAB, FRAME)
    result = decoder.decode(fake_log_probs("turn on the kitchen lights", noise=0.3))
    assert result.intent.slots == {"area": "kitchen", "device": "lights", "state": "on"}
    assert decoder.decode(fake_log_probs("play some jazz")).text == "play some jazz"
