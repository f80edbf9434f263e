"""Piece vocabularies (SentencePiece pieces as CTC classes) on the device: no sentencepiece."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from dataclasses import replace

import numpy as np
import pytest

from edgeasr_device.artifact import (
    FORMAT_VERSION,
    PIECES_FORMAT_VERSION,
    STREAMING_FORMAT_VERSION,
    ArtifactMetadata,
    format_version_for,
)
from edgeasr_device.decoding import DecodingOptions, greedy_decode, make_decoder
from edgeasr_device.errors import ArtifactError, DecodingError, VocabularyError
from edgeasr_device.vocab import BLANK, Vocabulary

W = "\u2581"  # SentencePiece's word-start marker
PIECES = ("<unk>", W, f"{W}turn", f"{W}on", f"{W}the", "kit", "chen", f"{W}light", "s", "e")
VOCAB = Vocabulary.pieces(PIECES)
FRAME = 0.04


def log_probs(path: list[str | None], p: float = 0.9) -> np.ndarray:
    """(T, V) log-probs whose arg-max per frame is ``path`` (None = blank), top prob ``p``."""
    probs = np.full((len(path), VOCAB.size), (1.0 - p) / (VOCAB.size - 1))
    for t, piece in enumerate(path):
        probs[t, 0 if piece is None else VOCAB.tokens.index(piece)] = p
    return np.log(probs).astype(np.float32)


#: "turn on the kitchen lights" with a lone word-start piece before "kit".
PATH = [None, f"{W}turn", f"{W}turn", None, f"{W}on", None, f"{W}the", None, None, W, "kit",
        None, "chen", "chen", None, f"{W}light", "s", None]


def test_layout_and_dict_round_trip():
    assert VOCAB.tokens[0] == BLANK and VOCAB.blank_index == 0 and VOCAB.kind == "pieces"
    assert VOCAB.tokens[1:] == PIECES and VOCAB.size == len(PIECES) + 1
    assert VOCAB.space_index is None
    data = VOCAB.to_dict()
    assert data == {"tokens": [BLANK, *PIECES], "blank_index": 0, "kind": "pieces"}
    back = Vocabulary.from_dict(json.loads(json.dumps(data, ensure_ascii=False)))
    assert back == VOCAB and back.kind == "pieces"
    assert back != Vocabulary(VOCAB.tokens, 0)  # same strings as characters: another vocabulary
    assert list(VOCAB.word_starts) == [False, False, True, True, True, True, False, False,
                                       True, False, False]


def test_characters_dict_is_unchanged_and_old_dicts_load_as_characters():
    english = Vocabulary.english()
    assert "kind" not in english.to_dict()
    old = {"tokens": list(english.tokens), "blank_index": 0}
    assert Vocabulary.from_dict(old) == english and english.kind == "characters"
    assert english.space_index == 1 and not english.word_starts.any()


def test_decode_joins_pieces_into_words():
    ids = [VOCAB.tokens.index(p) for p in (W, f"{W}turn", f"{W}on", W, W, "kit", "chen", W)]
    assert VOCAB.decode(ids) == "turn on kitchen"
    assert VOCAB.decode([0, 0]) == "" and VOCAB.decode([]) == ""
    assert VOCAB.token_text(VOCAB.tokens.index(f"{W}light")) == "light"


def test_encode_refuses_clearly():
    with pytest.raises(VocabularyError, match="SentencePiece pieces.*need a character model"):
        VOCAB.encode("turn on")


@pytest.mark.parametrize("tokens, fragment", [
    ((BLANK, "a b"), "whitespace"),
    ((BLANK, f"a{W}b"), "word-start marker"),
    ((BLANK, f"{W}{W}"), "word-start marker"),
    ((BLANK, "a", "a"), "unique"),
    (("a", BLANK), "expected '<blank>'"),
])
def test_invalid_piece_lists(tokens, fragment):
    with pytest.raises(VocabularyError, match=fragment):
        Vocabulary(tokens, 0, kind="pieces")


def test_unknown_kind_is_refused():
    with pytest.raises(VocabularyError, match="kind 'bytes' is not one of characters, pieces"):
        Vocabulary.from_dict({"tokens": [BLANK, "a"], "blank_index": 0, "kind": "bytes"})


def test_greedy_words_start_at_word_start_pieces():
    result = greedy_decode(log_probs(PATH), VOCAB, FRAME)
    assert result.text == "turn on the kitchen lights"
    words = {w.text: w for w in result.words}
    assert list(words) == ["turn", "on", "the", "kitchen", "lights"]
    # "kitchen" starts at the lone word-start piece (frame 9) and ends after "chen" (frame 13)
    assert words["kitchen"].start == pytest.approx(9 * FRAME)
    assert words["kitchen"].end == pytest.approx(14 * FRAME)
    assert words["lights"].start == pytest.approx(15 * FRAME)
    assert words["lights"].end == pytest.approx(17 * FRAME)
    assert words["turn"].confidence == pytest.approx(0.9, abs=1e-4)
    assert words["kitchen"].confidence == pytest.approx(0.9 ** 3, abs=1e-4)  # 3 pieces
    assert result.confidence == pytest.approx(0.9 ** 8, abs=1e-4)


def test_a_lone_word_start_piece_is_no_word():
    result = greedy_decode(log_probs([None, W, None, f"{W}on", None, W]), VOCAB, FRAME)
    assert result.text == "on" and [w.text for w in result.words] == ["on"]
    assert result.words[0].start == pytest.approx(3 * FRAME)
    empty = greedy_decode(log_probs([None, W, W, None]), VOCAB, FRAME)
    assert empty.text == "" and empty.words == () and empty.confidence == 1.0


def test_beam_without_a_language_model_gives_the_greedy_result():
    lp = log_probs(PATH)
    greedy = greedy_decode(lp, VOCAB, FRAME)
    beam = make_decoder(DecodingOptions("beam", beam_width=8, nbest=2), VOCAB, FRAME).decode(lp)
    assert beam.text == greedy.text == "turn on the kitchen lights"
    assert [(w.text, w.start, w.end) for w in beam.words] == \
        [(w.text, w.start, w.end) for w in greedy.words]
    assert beam.alternatives[0].text == greedy.text


@pytest.mark.parametrize("options, flag", [
    (DecodingOptions("beam", lm="lm.arpa"), "--lm"),
    (DecodingOptions("beam", hotwords=("kitchen",)), "--hotword"),
    (DecodingOptions("beam", word_bonus=1.0), "--word-bonus"),
    (DecodingOptions("grammar", grammar="intents.yaml"), "--grammar"),
])
def test_spelling_features_need_a_character_model(options, flag):
    with pytest.raises(DecodingError) as info:
        make_decoder(options, VOCAB, FRAME)
    message = str(info.value)
    assert message.startswith(flag) and "need a character model for now" in message
    assert "SentencePiece" in message


def test_decoding_pieces_never_imports_sentencepiece():
    code = textwrap.dedent(f"""
        import sys
        import numpy as np
        from edgeasr_device.decoding import DecodingOptions, make_decoder
        from edgeasr_device.vocab import Vocabulary
        vocab = Vocabulary.pieces({list(PIECES)!r})
        lp = np.log(np.full((6, vocab.size), 1.0 / vocab.size, np.float32))
        lp[1:3, 3] = 0.0
        for method in ("greedy", "beam"):
            make_decoder(DecodingOptions(method), vocab, 0.04).decode(lp)
        print(vocab.decode([3, 2, 6, 7]), "sentencepiece" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "turn kitchen False"


META = ArtifactMetadata(
    format_version=PIECES_FORMAT_VERSION, edgeasr_version="test", vocabulary=VOCAB,
    sample_rate=16000, frame_duration=FRAME, frontend={"kind": "log_mel"}, model={"name": "x"},
    quantization="int8", created="2025-01-01T00:00:00+00:00",
    tokenizer={"kind": "sentencepiece", "model": "AAAA"})


def test_metadata_round_trip_and_format_version():
    assert format_version_for(VOCAB, streaming=False) == PIECES_FORMAT_VERSION
    assert format_version_for(VOCAB, streaming=True) == PIECES_FORMAT_VERSION
    assert format_version_for(Vocabulary.english(), streaming=False) == FORMAT_VERSION
    assert format_version_for(Vocabulary.english(), streaming=True) == STREAMING_FORMAT_VERSION
    doc = json.loads(META.to_json())
    assert doc["vocabulary"]["kind"] == "pieces" and doc["tokenizer"]["kind"] == "sentencepiece"
    assert ArtifactMetadata.from_json(META.to_json(), "m.tflite") == META
    plain = replace(META, tokenizer=None)
    assert "tokenizer" not in json.loads(plain.to_json())
    assert ArtifactMetadata.from_json(plain.to_json(), "m.tflite").tokenizer is None


@pytest.mark.parametrize("mutate, fragment", [
    (lambda d: d.update(format_version=FORMAT_VERSION),
     "format 1 with streaming = None and a pieces vocabulary"),
    (lambda d: d.update(tokenizer="AAAA"), "tokenizer = 'AAAA'"),
    (lambda d: d["vocabulary"].update(kind=7), "kind must be a string"),
])
def test_metadata_validation(mutate, fragment):
    doc = json.loads(META.to_json())
    mutate(doc)
    with pytest.raises(ArtifactError, match="m.tflite") as info:
        ArtifactMetadata.from_json(json.dumps(doc).encode(), "m.tflite")
    assert fragment in str(info.value)


def test_character_metadata_cannot_claim_format_3():
    doc = json.loads(replace(META, vocabulary=Vocabulary.english(), tokenizer=None).to_json())
    with pytest.raises(ArtifactError, match="format 3 with streaming = None and a characters"):
        ArtifactMetadata.from_json(json.dumps(doc).encode(), "m.tflite")
