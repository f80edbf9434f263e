"""Hotword boosts, and binding a language model to a model's alphabet."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from edgeasr_device.decoding import DecodingOptions, LanguageModelWarning, make_decoder
from edgeasr_device.decoding.arpa import write_arpa
from edgeasr_device.decoding.hotwords import (
    DEFAULT_HOTWORD_WEIGHT,
    Hotword,
    HotwordBooster,
    parse_hotword,
)
from edgeasr_device.decoding.kneser_ney import build_lm
from edgeasr_device.decoding.lm_scorer import NgramScorer
from edgeasr_device.decoding.ngram import NgramModel
from edgeasr_device.decoding.scoring import PrefixScorer
from edgeasr_device.errors import DecodingError, LanguageModelError, VocabularyError
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary.english()


def boost(booster: HotwordBooster, text: str) -> tuple[float, list[float]]:
    """Final boost of ``text`` and the running boost after every token."""
    scorer = PrefixScorer(VOCAB, hotwords=booster)
    state, _ = scorer.initial()
    running = []
    for token in VOCAB.encode(text):
        state, value = scorer.extend(state, token)
        running.append(value)
    return scorer.final(state), running


def test_parse_hotword():
    assert parse_hotword("kitchen:2.5") == Hotword("kitchen", 2.5)
    assert parse_hotword("  turn   on ") == Hotword("turn on", DEFAULT_HOTWORD_WEIGHT)
    assert parse_hotword("half:past:1") == Hotword("half:past", 1.0)
    for bad in ("", "kitchen:", "kitchen:0", "kitchen:inf"):
        with pytest.raises(DecodingError):
            parse_hotword(bad)


def test_a_hotword_earns_its_weight_only_when_complete():
    booster = HotwordBooster([Hotword("kitchen", 2.5)], VOCAB)
    final, running = boost(booster, "the kitchen")
    assert final == pytest.approx(2.5)
    assert running[4:11] == pytest.approx([2.5 * k / 7 for k in range(1, 8)])  # spread
    assert boost(booster, "kitchens")[0] == 0.0  # no word boundary after it
    assert boost(booster, "dkitchen")[0] == 0.0  # none before it
    assert boost(booster, "kitchen kitchen")[0] == pytest.approx(5.0)
    final, running = boost(booster, "kitch it")
    assert running[4] > 0 and running[5] == 0.0 and final == 0.0  # broken: earnings lost


def test_phrases_and_overlapping_hotwords():
    booster = HotwordBooster([Hotword("turn on", 2.0), Hotword("on", 1.0)], VOCAB)
    assert boost(booster, "turn on")[0] == pytest.approx(2.0)  # the best of those ending here
    assert boost(booster, "turn off")[0] == 0.0
    assert boost(booster, "on the")[0] == pytest.approx(1.0)
    assert booster.max_gain == 2.0
    with pytest.raises(VocabularyError, match="hotword 'café'"):
        HotwordBooster([Hotword("café", 1.0)], VOCAB)


def test_the_boost_never_grows_faster_than_max_gain():
    booster = HotwordBooster([Hotword("on", 3.0), Hotword("one two", 2.0)], VOCAB)
    scorer = PrefixScorer(VOCAB, hotwords=booster, word_bonus=0.5)
    state, previous = scorer.initial()
    for token in VOCAB.encode("one two on one on"):
        state, value = scorer.extend(state, token)
        assert value - previous <= scorer.max_gain + 1e-12
        previous = value


def test_hotwords_change_the_beam_winner():
    # "cat" is a little more likely acoustically than "kat"; the hotword turns it round
    frames = "kkaatt"
    lp = np.full((len(frames), VOCAB.size), -12.0)
    for t, ch in enumerate(frames):
        lp[t, VOCAB.encode(ch)[0]] = math.log(0.55)
        if ch == "k":
            lp[t, VOCAB.encode("c")[0]] = math.log(0.44)
    lp -= np.logaddexp.reduce(lp, axis=1, keepdims=True)
    plain = make_decoder(DecodingOptions(method="beam"), VOCAB, 0.02).decode(lp)
    boosted = make_decoder(DecodingOptions(method="beam", hotwords=("cat:3",)), VOCAB,
                           0.02).decode(lp)
    assert plain.text == "kat" and boosted.text == "cat"


def lm_file(tmp_path, words, name="lm.arpa"):
    path = tmp_path / name
    write_arpa(path, build_lm([w.split() for w in words], order=2))
    return path


def test_words_the_model_cannot_write_are_skipped_with_a_warning(tmp_path):
    path = lm_file(tmp_path, ["turn on the light", "the café", "turn off the light"])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        make_decoder(DecodingOptions(method="beam", lm=str(path)), VOCAB, 0.02)
    messages = [str(w.message) for w in caught if issubclass(w.category, LanguageModelWarning)]
    assert messages and "lm.arpa: 1 word(s) use characters" in messages[0]
    assert "'café'" in messages[0]


def test_a_model_for_another_vocabulary_is_refused(tmp_path):
    path = lm_file(tmp_path, ["ÉTÉ ÇA", "ÇA VA", "OÙ ÇA"], "french.arpa")
    with pytest.raises(LanguageModelError, match="french.arpa: 4 of its 4 words use characters"
                                                 ".*built for another vocabulary.*lm build"):
        make_decoder(DecodingOptions(method="beam", lm=str(path)), VOCAB, 0.02)
    upper = lm_file(tmp_path, ["TURN ON", "TURN OFF"], "upper.arpa")
    with pytest.raises(LanguageModelError, match="upper case.*lm compile --lowercase"):
        make_decoder(DecodingOptions(method="beam", lm=str(upper)), VOCAB, 0.02)


def test_unusable_words_do_not_raise_lookahead(tmp_path):
    model = NgramModel.from_entries(build_lm([["cafe"], ["café"] * 3, ["café", "cafe"]], order=1))
    free = NgramScorer(model)
    bound = NgramScorer(model, VOCAB)
    assert bound.lookahead((), "caf") < free.lookahead((), "caf")
    assert bound.lookahead((), "caf") == pytest.approx(bound.score((), "cafe")[0])


def test_hotwords_unknown_to_the_lm_score_like_its_rarest_word(tmp_path):
    model = NgramModel.from_entries(build_lm([["turn", "on"], ["turn", "off"], ["on"]], order=2))
    scorer = NgramScorer(model, VOCAB, extra_words=["kitchen"])
    state = scorer.score(scorer.start(), "turn")[1]
    unknown = scorer.score(state, "zebra")[0]  # <unk>
    value = scorer.score(state, "kitchen")[0]
    rarest = min(model.log_prob_of([], w) for w in ("on", "off", "turn", "</s>"))
    assert scorer.extra_log_prob == pytest.approx(rarest, abs=1e-6)
    backoff = float(model.log_backoff[0][model.word_id("turn")])
    assert value == pytest.approx(backoff + rarest, abs=1e-6) and value > unknown
    assert scorer.lookahead(state, "kit") >= value - 1e-12
    with pytest.raises(LanguageModelError, match="no.arpa"):
        make_decoder(DecodingOptions(method="beam", lm=str(tmp_path / "no.arpa")), VOCAB, 0.02)
