"""Tests for edgeasr_device.vocab."""

from __future__ import annotations

import json

import numpy as np
import pytest

from edgeasr_device.errors import EdgeAsrError, VocabularyError
from edgeasr_device.vocab import Vocabulary, normalize_text


def test_english_layout():
    v = Vocabulary.english()
    assert v.size == 29
    assert v.blank_index == 0 and v.tokens[0] == "<blank>"
    assert v.tokens[1] == " " and v.space_index == 1
    assert v.tokens[2] == "a" and v.tokens[27] == "z" and v.tokens[28] == "'"


def test_encode_decode_roundtrip():
    v = Vocabulary.english()
    ids = v.encode("hello world")
    assert ids == [9, 6, 13, 13, 16, 1, 24, 16, 19, 13, 5]
    assert v.decode(ids) == "hello world"
    assert v.decode(np.array(ids, dtype=np.int32)) == "hello world"


def test_encode_normalises_text():
    v = Vocabulary.english()
    assert v.decode(v.encode("  Don\u2019t\tSTOP \n now ")) == "don't stop now"
    assert normalize_text("A  b\u00a0C") == "a b c"
    assert normalize_text("Caf\u0065\u0301") == "caf\u00e9"  # NFC composes e + accent


def test_encode_reports_unknown_characters():
    v = Vocabulary.english()
    with pytest.raises(VocabularyError) as info:
        v.encode("#1 Café #")
    msg = str(info.value)
    assert "characters not in the vocabulary: '#', '1', 'é'" in msg
    assert '"#1 café #"' in msg
    assert isinstance(info.value, EdgeAsrError) and isinstance(info.value, ValueError)


def test_encode_keeps_case_when_vocabulary_has_upper_case():
    v = Vocabulary(tokens=("<blank>", " ", "A", "a"), blank_index=0)
    assert v.encode("Aa a") == [2, 3, 1, 3]


def test_decode_skips_blank_and_rejects_out_of_range():
    v = Vocabulary.english()
    assert v.decode([0, 2, 0, 3, 0]) == "ab"
    assert v.decode([]) == ""
    with pytest.raises(VocabularyError, match="out of range"):
        v.decode([2, 29])
    with pytest.raises(VocabularyError, match="out of range"):
        v.decode([-1])


def test_dict_roundtrip_is_json_safe():
    v = Vocabulary(tokens=("a", "b", "<blank>"), blank_index=2)
    d = json.loads(json.dumps(v.to_dict()))
    assert d == {"tokens": ["a", "b", "<blank>"], "blank_index": 2}
    assert Vocabulary.from_dict(d) == v
    assert Vocabulary.from_dict(d).decode([0, 2, 1]) == "ab"


@pytest.mark.parametrize("data, fragment", [
    ({"tokens": ["<blank>", "a", "a"], "blank_index": 0}, "duplicated: 'a'"),
    ({"tokens": ["<blank>", "a"], "blank_index": 2}, "blank_index 2"),
    ({"tokens": ["<blank>", "a"], "blank_index": -1}, "blank_index -1"),
    ({"tokens": ["<blank>", "a"], "blank_index": True}, "blank_index True"),
    ({"tokens": ["x", "a"], "blank_index": 0}, "expected '<blank>'"),
    ({"tokens": ["<blank>", ""], "blank_index": 0}, "non-empty strings"),
    ({"tokens": ["<blank>", 3], "blank_index": 0}, "non-empty strings"),
    ({"tokens": [], "blank_index": 0}, "non-empty"),
    ({"tokens": "<blank>ab", "blank_index": 0}, "list of strings"),
    ({"tokens": ["<blank>"]}, "missing blank_index"),
    (["<blank>"], "must be a JSON object"),
])
def test_from_dict_validates(data, fragment):
    with pytest.raises(VocabularyError) as info:
        Vocabulary.from_dict(data)
    assert fragment in str(info.value)


def test_is_frozen_and_hashable():
    v = Vocabulary.english()
    with pytest.raises(AttributeError):
        v.blank_index = 3  # type: ignore[misc]
    assert hash(v) == hash(Vocabulary.english())
    assert v == Vocabulary(tokens=list(v.tokens), blank_index=0)  # list accepted, stored as tuple
