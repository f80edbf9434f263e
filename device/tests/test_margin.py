"""Silence margins (``Recognizer(margin=...)``): tight speech keeps its edges, word times
stay seconds of the real audio, and streams decode as whole utterances do."""

from __future__ import annotations

import numpy as np
import pytest

from edgeasr_device.decoding import Transcript, Word
from edgeasr_device.margin import pad_margin, shift_transcript
from edgeasr_device.recognizer import Recognizer
from edgeasr_device.streaming import EndpointOptions
from edgeasr_device.vocab import Vocabulary

RATE, HOP, EDGE, M = 16000, 160, 4, 0.2
VOCAB = Vocabulary.english()


class EdgeModel:
    """A frame of HOP samples at level k/100 says token k, except the first and last EDGE
    frames of the input, which say blank: the edge effect of a convolution's padding."""

    sample_rate, frame_duration, vocabulary = RATE, HOP / RATE, VOCAB

    def __init__(self):
        self.seen: list[np.ndarray] = []

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        self.seen.append(waveform)
        n = waveform.shape[0] // HOP
        tokens = np.rint(waveform[:n * HOP].reshape(n, HOP).mean(axis=1) * 100).astype(int)
        tokens[:EDGE] = tokens[-EDGE:] = VOCAB.blank_index
        lp = np.full((n, VOCAB.size), -20.0, np.float32)
        lp[np.arange(n), tokens] = 0.0
        return lp


def say(text: str) -> np.ndarray:
    """Tight speech: each character 4 frames of its token, a blank frame between them."""
    levels = []
    for i, ch in enumerate(text):
        levels += ([] if i == 0 else [VOCAB.blank_index / 100]) + [VOCAB.tokens.index(ch) / 100] * 4
    return np.repeat(np.asarray(levels, np.float32), HOP)


def test_tight_speech_loses_its_edges_without_a_margin_and_keeps_them_with_one():
    audio = say("to")
    # Without a margin both sounds fall on the edge frames.
    assert Recognizer(EdgeModel(), margin=0).transcribe(audio, RATE).text == ""
    model = EdgeModel()
    result = Recognizer(model, margin=M).transcribe(audio, RATE)
    assert result.text == "to"
    pad = int(M * RATE)
    seen = model.seen[-1]
    assert seen.shape == (audio.shape[0] + 2 * pad,)
    assert not seen[:pad].any() and not seen[-pad:].any()
    np.testing.assert_array_equal(seen[pad:-pad], audio)


def test_word_times_are_seconds_of_the_real_audio():
    audio = say("to")
    lead = np.zeros(RATE // 2, np.float32)
    with_margin = Recognizer(EdgeModel(), margin=M).transcribe(audio, RATE).words[0]
    # The same speech after 0.5 s of real silence, decoded with no margin at all.
    later = Recognizer(EdgeModel(), margin=0).transcribe(
        np.concatenate([lead, audio, lead]), RATE).words[0]
    assert with_margin.start == pytest.approx(later.start - 0.5, abs=1e-9)
    assert with_margin.end == pytest.approx(later.end - 0.5, abs=1e-9)
    assert 0 <= with_margin.start < with_margin.end <= audio.shape[0] / RATE


def test_shift_keeps_words_inside_the_audio():
    t = Transcript("a b", (Word("a", 0.05, 0.1, 1.0), Word("b", 0.3, 0.6, 1.0)), 1.0)
    moved = shift_transcript(t, -0.2, end=0.3)
    assert [(w.start, w.end) for w in moved.words] == [(0.0, 0.0), (pytest.approx(0.1), 0.3)]
    assert shift_transcript(t, 0.0) is t


@pytest.mark.parametrize("margin", [-0.1, float("nan"), float("inf"), 10.0])
def test_a_bad_margin_is_refused(margin):
    with pytest.raises(ValueError, match="margin"):
        Recognizer(EdgeModel(), margin=margin)


def test_pad_margin_is_zeros_on_both_sides():
    x = np.ones(5, np.float32)
    np.testing.assert_array_equal(pad_margin(x, 2 / RATE, RATE), [0, 0, 1, 1, 1, 1, 1, 0, 0])
    assert pad_margin(x, 0.0, RATE) is x


def test_a_buffered_stream_decodes_its_utterance_between_margins():
    audio = say("to")
    rec = Recognizer(EdgeModel(), margin=M)
    stream = rec.stream(EndpointOptions(trailing_silence=None))
    assert stream.feed(audio).finals == ()
    assert stream.finish() == rec.transcribe(audio, RATE)


def test_the_default_margin_is_the_one_the_model_file_asks_for():
    class Metadata:
        margin = 0.3

    model = EdgeModel()
    assert Recognizer(model).margin == 0.0  # no metadata: decoded as given
    model.metadata = Metadata()
    assert Recognizer(model).margin == 0.3
    assert Recognizer(model, margin=0).margin == 0.0  # the caller's choice wins
