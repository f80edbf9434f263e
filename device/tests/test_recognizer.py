"""Recognizer = AcousticModel + Decoder, with a numpy model (no interpreter needed)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from edgeasr_device import AcousticModel, DecodingOptions, GreedyDecoder, Recognizer
from edgeasr_device.decoding import greedy_decode
from edgeasr_device.errors import AudioError, DecodingError
from edgeasr_device.vocab import Vocabulary

VOCAB = Vocabulary.english()


class SpellingModel:
    """One output frame per ``hop`` samples, spelling ``frames`` ('_' = blank) in turn."""

    sample_rate = 16000
    frame_duration = 0.01
    vocabulary = VOCAB

    def __init__(self, frames: str):
        self.frames = frames
        self.seen: list[np.ndarray] = []

    def log_probs(self, waveform: np.ndarray) -> np.ndarray:
        self.seen.append(waveform)
        t = waveform.shape[0] // 160
        probs = np.full((t, VOCAB.size), 0.1 / (VOCAB.size - 1))
        for i in range(t):
            ch = self.frames[i % len(self.frames)]
            probs[i, VOCAB.blank_index if ch == "_" else VOCAB.tokens.index(ch)] = 0.9
        return np.log(probs).astype(np.float32)


def test_a_numpy_model_is_an_acoustic_model():
    assert isinstance(SpellingModel("a"), AcousticModel)


def test_transcribe_an_array_with_a_fake_model():
    model = SpellingModel("_hh_i__ _ yyo_u_")
    rec = Recognizer(model, margin=0)  # the model spells by frame index: no silence added
    assert isinstance(rec.decoder, GreedyDecoder)
    assert rec.sample_rate == 16000 and rec.vocabulary == VOCAB and rec.frame_duration == 0.01
    assert rec.metadata is None
    result = rec.transcribe(np.zeros(16 * 160, np.float32), sample_rate=16000)
    assert result.text == "hi you"
    assert result.words[0].start == pytest.approx(0.01) and result.words[1].end == pytest.approx(0.15)
    lp = rec.log_probs(np.zeros(16 * 160, np.float32))
    assert rec.decode(lp) == greedy_decode(lp, VOCAB, 0.01) == result


def test_audio_is_converted_to_the_model_rate(tmp_path):
    model = SpellingModel("a")
    rec = Recognizer(model, options=DecodingOptions("greedy"), margin=0)
    stereo_8k = (np.ones((8000, 2)) * 1000).astype(np.int16)
    rec.transcribe(stereo_8k, sample_rate=8000)
    assert model.seen[-1].dtype == np.float32 and model.seen[-1].shape == (16000,)
    sf.write(tmp_path / "clip.wav", np.zeros(4000, np.float32), 8000)
    assert rec.transcribe(tmp_path / "clip.wav").text == "a"
    assert model.seen[-1].shape == (8000,)
    with pytest.raises(AudioError, match="sample_rate"):
        rec.transcribe(np.zeros(10, np.float32))


def test_bad_model_or_options_are_refused():
    with pytest.raises(TypeError, match="AcousticModel"):
        Recognizer(42)  # type: ignore[arg-type]
    with pytest.raises(DecodingError, match="unknown decoding method"):
        Recognizer(SpellingModel("a"), options=DecodingOptions("nope"))
