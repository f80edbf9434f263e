"""The grammar decoder run incrementally: a stream fed in pieces ends where decode ends."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("hassil")

from test_grammar_decoder import FRAME, GRAMMAR, VOCAB, fake_log_probs
from test_streaming import ChunkedModel, run, silence, speak

from edgeasr_device.decoding import DecodingOptions, make_decoder
from edgeasr_device.decoding.grammar import GrammarSearch, GrammarStream, grammar_search
from edgeasr_device.errors import VocabularyError
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming import EndpointOptions


@pytest.fixture()
def grammar_file(tmp_path):
    path = tmp_path / "intents.yaml"
    path.write_text(GRAMMAR, encoding="utf-8")
    return path


def options(grammar_file, **extra):
    return DecodingOptions(method="grammar", grammar=str(grammar_file), **extra)


def feed_in_pieces(stream, lp, sizes):
    partials, start = [], 0
    for size in sizes:
        stream.feed(lp[start:start + size])
        partials.append(stream.partial())
        start += size
        if start >= lp.shape[0]:
            break
    if start < lp.shape[0]:
        stream.feed(lp[start:])
    return partials, stream.finish()


def same(got, want):
    assert got.text == want.text and got.intent == want.intent
    assert got.no_match == want.no_match and got.words == want.words
    assert got.confidence == pytest.approx(want.confidence, abs=1e-12)


@pytest.mark.parametrize("spoken, peak, noise", [
    ("turn on the kitchen lights", 0.9, 0.3),         # in the grammar
    ("set volume to fourty two percent", 0.9, 0.3),   # a near miss that snaps to a sentence
    ("turn off the kitchen lights", 0.98, 0.0),       # a word the grammar lacks: no match
    ("what is the weather like tomorrow", 0.9, 0.0),  # outside the grammar: no match
])
@pytest.mark.parametrize("sizes", [[1] * 400, [7] * 60, [3, 50, 1, 200]], ids=["1", "7", "mixed"])
def test_a_strict_stream_finishes_with_what_decode_gives(grammar_file, spoken, peak, noise, sizes):
    decoder = make_decoder(options(grammar_file), VOCAB, FRAME)
    lp = fake_log_probs(spoken, peak=peak, noise=noise, seed=4)
    stream = decoder.stream()
    assert isinstance(stream, GrammarStream)
    _, got = feed_in_pieces(stream, lp, sizes)
    same(got, decoder.decode(lp))


def test_the_search_does_not_depend_on_how_frames_are_grouped(grammar_file):
    decoder = make_decoder(options(grammar_file), VOCAB, FRAME)
    lp = fake_log_probs("switch on living room tv", noise=0.5, seed=3)
    whole = grammar_search(lp, decoder.grammar.graph, VOCAB.blank_index, beam_width=4)
    search = GrammarSearch(decoder.grammar.graph, VOCAB.blank_index, beam_width=4)
    for start in range(0, lp.shape[0], 5):
        search.advance(lp[start:start + 5])
    assert search.frames == lp.shape[0] and search.result() == whole


def test_strict_partials_grow_along_the_sentence(grammar_file):
    decoder = make_decoder(options(grammar_file), VOCAB, FRAME)
    spoken = "switch the living room television on"
    lp = fake_log_probs(spoken)
    partials, final = feed_in_pieces(decoder.stream(), lp, [9] * 100)
    assert final.text == spoken and final.intent.name == "HassTurnOn"
    assert all(spoken.startswith(p) for p in partials)  # only prefixes the grammar allows
    lengths = [len(p) for p in partials]
    assert lengths == sorted(lengths) and len(set(partials)) > 5 and partials[-1] == spoken


def test_a_bias_stream_finishes_with_what_decode_gives(grammar_file):
    decoder = make_decoder(options(grammar_file, grammar_mode="bias", beam_width=8), VOCAB, FRAME)
    for spoken in ("turn on the kitchen light", "what is the weather like"):
        lp = fake_log_probs(spoken, noise=0.3, seed=1)
        partials, got = feed_in_pieces(decoder.stream(), lp, [11] * 50)
        same(got, decoder.decode(lp))
        assert len(set(partials)) > 1


def test_an_empty_stream_is_no_match_and_bad_shapes_are_refused(grammar_file):
    decoder = make_decoder(options(grammar_file), VOCAB, FRAME)
    stream = decoder.stream()
    assert stream.partial() == ""
    stream.feed(np.zeros((0, VOCAB.size), np.float32))
    assert "no frames" in stream.finish().no_match
    with pytest.raises(VocabularyError, match="shape"):
        stream.feed(np.zeros((4, 3), np.float32))


def test_a_streaming_model_with_a_grammar_searches_as_audio_arrives(grammar_file, monkeypatch):
    recognizer = Recognizer(ChunkedModel(), options=options(grammar_file))

    def whole_decode(lp):
        raise AssertionError("the stream decoded a closed utterance whole")

    monkeypatch.setattr(recognizer.decoder, "decode", whole_decode)
    first, second = "turn on the kitchen lights", "nine oh one"
    audio = np.concatenate([speak(first), silence(0.6), speak(second)])
    stream = recognizer.stream(EndpointOptions(trailing_silence=0.5))
    updates, last = run(stream, audio, block=800)
    finals = [f for u in updates for f in u.finals] + [last]
    assert [f.text for f in finals] == [first, second]
    assert finals[0].intent.slots == {"area": "kitchen", "device": "lights", "state": "on"}
    assert finals[1].intent.slots == {"d1": 9, "d2": 0, "d3": 1}
    assert finals[1].words[0].start == pytest.approx((speak(first).size / 16000) + 0.6,
                                                     abs=0.02)
    partials = [u.partial for u in updates if u.partial]
    assert any(first.startswith(p) and p != first for p in partials)
    monkeypatch.undo()  # the whole-utterance decode of the same speech agrees
    whole = recognizer.decoder.decode(recognizer.model.log_probs(speak(second)))
    assert (last.text, last.intent) == (whole.text, whole.intent)
