"""Greedy CTC decoding (edgeasr_device.decoding.greedy)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest

from edgeasr_device.decoding import (
    DecodingOptions,
    GreedyDecoder,
    Transcript,
    Word,
    greedy_decode,
    greedy_ids,
    make_decoder,
)
from edgeasr_device.errors import VocabularyError
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary.english()
B = "_"  # blank in frame strings


def frames_to_log_probs(frames: str, p: float = 0.9, vocab: Vocabulary = VOCAB) -> np.ndarray:
    """(T, V) log-probs whose arg-max spells ``frames`` ('_' = blank) with top prob ``p``."""
    v = vocab.size
    probs = np.full((len(frames), v), (1.0 - p) / (v - 1))
    for t, ch in enumerate(frames):
        probs[t, vocab.blank_index if ch == B else vocab.tokens.index(ch)] = p
    return np.log(probs).astype(np.float32)


def test_greedy_ids_collapses_and_drops_blanks():
    lp = frames_to_log_probs("__hhe_ll_lo__")
    ids = greedy_ids(lp, VOCAB.blank_index)
    assert ids.dtype == np.int64
    assert VOCAB.decode(ids) == "hello"
    assert greedy_ids(np.zeros((0, 29), np.float32), 0).shape == (0,)


def test_decode_words_and_timings():
    #        0123456789012345
    lp = frames_to_log_probs("_hh_i__ _ yyo_u_")
    tr = greedy_decode(lp, VOCAB, frame_duration=0.04)
    assert tr.text == "hi you"
    assert [w.text for w in tr.words] == ["hi", "you"]
    hi, you = tr.words
    assert hi.start == pytest.approx(1 * 0.04) and hi.end == pytest.approx(5 * 0.04)
    assert you.start == pytest.approx(10 * 0.04) and you.end == pytest.approx(15 * 0.04)
    assert hi.confidence == pytest.approx(0.9 ** 2, abs=1e-5)
    assert tr.confidence == pytest.approx(0.9 ** 5, abs=1e-5)


def test_confidence_is_the_product_of_token_peaks():
    lp = frames_to_log_probs("ab c")
    probs = np.exp(lp.astype(np.float64))
    # make 'a' 0.5 at its only frame, and give 'c' a second frame with a higher peak
    lp = np.log(np.vstack([_peaked(2, 0.5), probs[1:], _peaked(4, 0.99)]))
    tr = greedy_decode(lp, VOCAB, frame_duration=0.1)
    assert tr.text == "ab c"
    assert tr.words[0].confidence == pytest.approx(0.5 * 0.9)  # both letters right
    assert tr.words[1].confidence == pytest.approx(0.99)  # the peak of its two frames
    assert tr.words[1].end == pytest.approx(0.5)
    assert tr.confidence == pytest.approx(0.5 * 0.9 * 0.99)  # the whole transcript right


def _peaked(cls: int, p: float) -> np.ndarray:
    row = np.full((1, VOCAB.size), (1 - p) / (VOCAB.size - 1))
    row[0, cls] = p
    return row


def test_logits_give_the_same_text_and_softmax_confidence():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(50, VOCAB.size)).astype(np.float32) * 3
    log_probs = logits - np.log(np.exp(logits.astype(np.float64)).sum(1, keepdims=True))
    a = greedy_decode(logits, VOCAB, 0.02)
    b = greedy_decode(log_probs.astype(np.float32), VOCAB, 0.02)
    assert a.text == b.text and a.text
    assert a.confidence == pytest.approx(b.confidence, rel=1e-5)
    assert 0.0 < a.confidence <= 1.0


def test_repeated_letter_needs_blank_between():
    assert greedy_decode(frames_to_log_probs("lll"), VOCAB, 0.01).text == "l"
    assert greedy_decode(frames_to_log_probs("l_l"), VOCAB, 0.01).text == "ll"


def test_extra_spaces_do_not_create_empty_words():
    tr = greedy_decode(frames_to_log_probs("  a _ _b  "), VOCAB, 0.01)
    assert tr.text == "a b"
    assert [w.text for w in tr.words] == ["a", "b"]


@pytest.mark.parametrize("frames", ["", "____", "  _ "])
def test_empty_transcript(frames):
    lp = frames_to_log_probs(frames) if frames else np.zeros((0, VOCAB.size), np.float32)
    tr = greedy_decode(lp, VOCAB, 0.04)
    assert tr == Transcript(text="", words=(), confidence=1.0)


def test_vocabulary_without_space_is_one_word():
    v = Vocabulary(tokens=("x", "y", "<blank>"), blank_index=2)
    tr = greedy_decode(frames_to_log_probs("x_yy", vocab=v), v, 0.5)
    assert tr.words == (Word(text="xy", start=0.0, end=2.0, confidence=pytest.approx(0.81)),)


def test_to_dict_is_json_safe():
    tr = greedy_decode(frames_to_log_probs("a b"), VOCAB, 0.04)
    d = json.loads(json.dumps(tr.to_dict()))
    assert d["text"] == "a b"
    assert [w["text"] for w in d["words"]] == ["a", "b"]
    assert set(d["words"][0]) == {"text", "start", "end", "confidence"}
    assert type(tr.words[0].start) is float and type(tr.confidence) is float


def test_input_validation():
    with pytest.raises(VocabularyError, match="30 classes but the vocabulary has 29"):
        greedy_decode(np.zeros((5, 30), np.float32), VOCAB, 0.04)
    with pytest.raises(ValueError, match="shape \\(T, V\\)"):
        greedy_decode(np.zeros((1, 5, 29), np.float32), VOCAB, 0.04)
    with pytest.raises(ValueError, match="frame_duration"):
        greedy_decode(np.zeros((5, 29), np.float32), VOCAB, 0.0)
    with pytest.raises(ValueError, match="NaN"):
        greedy_decode(np.full((5, 29), np.nan, np.float32), VOCAB, 0.04)
    with pytest.raises(ValueError, match="floating point"):
        greedy_decode(np.zeros((5, 29), np.int8), VOCAB, 0.04)


def test_ten_minute_utterance_is_fast():
    rng = np.random.default_rng(1)
    t = 30000
    best = np.where(rng.random(t) < 0.6, 0, rng.integers(1, VOCAB.size, t))
    lp = np.full((t, VOCAB.size), np.log(0.1 / 28), np.float32)
    lp[np.arange(t), best] = np.log(0.9)
    greedy_decode(lp, VOCAB, 0.02)  # warm-up
    start = time.perf_counter()
    tr = greedy_decode(lp, VOCAB, 0.02)
    elapsed = time.perf_counter() - start
    assert len(tr.words) > 100
    assert tr.words[-1].end <= t * 0.02 + 1e-9
    assert elapsed < 0.25, f"decoding took {elapsed * 1000:.1f} ms"


def test_greedy_decoder_is_greedy_decode():
    lp = frames_to_log_probs("_hh_i__ _ yyo_u_")
    decoder = make_decoder(DecodingOptions(), VOCAB, 0.04)
    assert isinstance(decoder, GreedyDecoder)
    assert decoder.decode(lp) == greedy_decode(lp, VOCAB, 0.04)
    assert GreedyDecoder(VOCAB, 0.04).decode(lp).text == "hi you"
