"""Output formats: txt, json (words with times and confidence), srt and vtt cues."""

from __future__ import annotations

import json

import pytest

from edgeasr_device.decoding import Transcript, Word
from edgeasr_device.formats import make_cues, render, to_srt, to_vtt


def utterance(*words: tuple[str, float, float]) -> Transcript:
    ws = tuple(Word(t, s, e, 0.9) for t, s, e in words)
    return Transcript(" ".join(w.text for w in ws), ws, 0.81)


TWO = [utterance(("hello", 0.5, 0.9), ("world", 1.0, 1.4)),
       utterance(("good", 3661.25, 3661.5), ("night", 3661.6, 3662.0))]


def test_srt_numbers_cues_with_comma_milliseconds():
    assert to_srt(TWO) == ("1\n00:00:00,500 --> 00:00:01,400\nhello world\n\n"
                           "2\n01:01:01,250 --> 01:01:02,000\ngood night\n\n")


def test_vtt_has_a_header_and_dot_milliseconds():
    assert to_vtt(TWO).startswith("WEBVTT\n\n00:00:00.500 --> 00:00:01.400\nhello world\n\n")


def test_json_lists_words_and_utterances():
    record = json.loads(render("json", TWO, file="a.wav"))
    assert list(record)[:2] == ["file", "text"]
    assert record["text"] == "hello world good night"
    assert record["words"][2] == {"text": "good", "start": 3661.25, "end": 3661.5,
                                  "confidence": 0.9}
    assert [u["start"] for u in record["utterances"]] == [0.5, 3661.25]
    assert record["confidence"] == pytest.approx(0.81)


def test_txt_is_one_line_per_utterance():
    assert render("txt", TWO) == "hello world\ngood night\n"
    assert render("txt", [Transcript("", (), 1.0)]) == "\n"


def test_long_speech_is_split_into_readable_cues():
    words = [(f"word{i:02d}", i * 0.4, i * 0.4 + 0.3) for i in range(60)]
    cues = make_cues([utterance(*words)])
    assert len(cues) > 3
    for cue in cues:
        assert len(cue.lines) <= 2 and all(len(line) <= 42 for line in cue.lines)
        assert cue.end - cue.start <= 6.0
    assert " ".join(" ".join(c.lines) for c in cues) == " ".join(w[0] for w in words)
    paused = make_cues([utterance(("a", 0, 0.2), ("b", 1.5, 1.7))])
    assert [c.lines for c in paused] == [("a",), ("b",)]


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown format"):
        render("docx", TWO)
