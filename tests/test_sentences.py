"""Tests for the deterministic sentence generators (edgeasr.synth.grammar)."""

from __future__ import annotations

import re

import pytest

from edgeasr.synth.grammar import (
    ALPHABET,
    digit_strings,
    home_commands,
    mixed_sentences,
)
from edgeasr.text.numbers import number_to_words

DIGIT_WORDS = {"oh", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"}


def _assert_clean(sentences: list[str]) -> None:
    for s in sentences:
        assert s and set(s) <= set(ALPHABET), s
        assert s == " ".join(s.split()), repr(s)  # single spaces, no padding


def test_slot_numbers_are_spelled_by_text_numbers() -> None:
    # The grammar's number slots span 1..100, where these are the spellings it always used.
    assert [number_to_words(n) for n in (0, 13, 21, 90, 100)] == [
        "zero", "thirteen", "twenty one", "ninety", "one hundred"]
    commands = home_commands(3000, seed=0)
    percents = [m.group(1) for c in commands
                for m in [re.search(r"\bto ((?:[a-z]+ )*?[a-z]+) percent$", c)] if m]
    assert len(percents) > 50 and set(percents) <= {number_to_words(n) for n in range(5, 101)}
    assert "one hundred" in percents


def test_generators_are_deterministic() -> None:
    assert home_commands(200, seed=3) == home_commands(200, seed=3)
    assert home_commands(200, seed=3) != home_commands(200, seed=4)
    assert digit_strings(100, seed=1) == digit_strings(100, seed=1)
    assert digit_strings(100, seed=1) != digit_strings(100, seed=2)
    assert mixed_sentences(300, seed=5) == mixed_sentences(300, seed=5)
    assert mixed_sentences(300, seed=5) != mixed_sentences(300, seed=6)


def test_home_commands_vocabulary() -> None:
    commands = home_commands(3000, seed=0)
    _assert_clean(commands)
    assert len(set(commands)) == 3000
    vocabulary = {w for s in commands for w in s.split()}
    assert 150 <= len(vocabulary) <= 260
    assert {"kitchen", "lights", "thermostat", "jazz", "weather", "timer", "alarm", "volume",
            "blinds", "lock", "what's"} <= vocabulary
    assert " a eight" not in " ".join(commands)


def test_digit_strings() -> None:
    strings = digit_strings(500, seed=0, min_len=3, max_len=8)
    _assert_clean(strings)
    assert len(set(strings)) == 500
    lengths = {len(s.split()) for s in strings}
    assert min(lengths) == 3 and max(lengths) == 8
    words = {w for s in strings for w in s.split()}
    assert words == DIGIT_WORDS  # both "oh" and "zero" occur
    with pytest.raises(ValueError):
        digit_strings(5, min_len=4, max_len=2)


def test_duplicates_only_when_exhausted() -> None:
    singles = digit_strings(30, seed=0, min_len=1, max_len=1)
    assert len(singles) == 30
    assert set(singles) == DIGIT_WORDS  # all 11 spellings used before repeating


def test_mixed_sentences() -> None:
    mixed = mixed_sentences(1000, seed=0, digit_fraction=0.3)
    _assert_clean(mixed)
    assert len(set(mixed)) == 1000
    digit_share = sum(set(s.split()) <= DIGIT_WORDS for s in mixed) / len(mixed)
    assert 0.22 < digit_share < 0.38
    assert all(set(s.split()) <= DIGIT_WORDS for s in mixed_sentences(50, 0, digit_fraction=1.0))
    assert not any(set(s.split()) <= DIGIT_WORDS for s in mixed_sentences(50, 0, digit_fraction=0.0))
    with pytest.raises(ValueError):
        mixed_sentences(10, digit_fraction=1.5)
