"""Evaluation = Keras AcousticModel + device decoder: float input, batching that changes nothing."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeasr.data.corpus import MemoryCorpus
from edgeasr.evaluation.decode import (
    model_decoder,
    transcribe_corpus,
    transcribe_waveforms,
)
from edgeasr.evaluation.keras_model import KerasModel, length_batches
from edgeasr.runs import load_model
from edgeasr_device import AcousticModel, DecodingError, DecodingOptions, GreedyDecoder
from edgeasr_device.decoding import log_softmax, make_decoder
from edgeasr_device.margin import pad_margin

LEGACY = Path(__file__).parent / "fixtures" / "legacy_v1"


@pytest.fixture(scope="module", params=["run-tiny", "run-deepspeech-tiny"])
def keras_model(request):
    network, info = load_model(LEGACY / request.param)
    return KerasModel(network, info.vocabulary, batch_size=3)


def waveforms(seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(n) * 0.3).astype(np.float32)
            for n in (16000, 8000, 23456, 4000, 30000, 600, 12000)]


def test_it_is_an_acoustic_model(keras_model):
    assert isinstance(keras_model, AcousticModel)
    assert keras_model.sample_rate == 16000
    assert keras_model.frame_duration == pytest.approx(keras_model.model.config.frame_seconds)
    assert isinstance(model_decoder(keras_model), GreedyDecoder)


def test_batched_log_probs_equal_one_at_a_time(keras_model):
    waves = waveforms()
    batched = keras_model.log_probs_batch(waves)
    for wave, lp in zip(waves, batched):
        alone = keras_model.log_probs(wave)
        assert lp.shape == alone.shape == (keras_model.model.config.num_output_frames(wave.shape[0]),
                                           keras_model.vocabulary.size)
        np.testing.assert_allclose(lp, alone, atol=1e-4)
    assert keras_model.log_probs_batch([]) == []


def test_float_waveforms_go_in_unquantised(keras_model):
    """The waveform reaches the network as given: the same as the bare batch-1 forward pass."""
    wave = waveforms(1)[0]
    assert wave.shape[0] % 4000 == 0  # no padding, so no mask: exactly the exported input
    reference = log_softmax(np.asarray(keras_model.model.predict_on_batch(wave[None]))[0])
    np.testing.assert_allclose(keras_model.log_probs(wave), reference, atol=1e-5)


def test_corpus_and_waveforms_give_the_same_transcripts(keras_model):
    """transcribe_corpus (int16 corpus, dev WER) and transcribe_waveforms agree on the same
    samples, and both decode in the caller's order."""
    waves = waveforms(2)
    corpus = MemoryCorpus(waves, sample_rate=16000)
    on_grid = [corpus.audio(i).astype(np.float32) / 32768.0 for i in range(len(corpus))]
    from_corpus = transcribe_corpus(keras_model.model, corpus, keras_model.vocabulary, 3)
    # Same texts and word times; confidences to float rounding (batches of different sizes
    # run different kernels: the GRU preset's differ in the 7th digit with TF 2.21's CPU build).
    _same(from_corpus, transcribe_waveforms(keras_model, on_grid))
    subset = transcribe_corpus(keras_model.model, corpus, keras_model.vocabulary, 2,
                               indices=[4, 0, 2], options=DecodingOptions("greedy"))
    _same(subset, [from_corpus[4], from_corpus[0], from_corpus[2]])


def _same(got: list, want: list) -> None:
    def times(ts):
        return [(t.text, [(w.text, w.start, w.end) for w in t.words]) for t in ts]

    assert times(got) == times(want)
    for a, b in zip(got, want):
        assert a.confidence == pytest.approx(b.confidence, rel=1e-5, abs=1e-12)


def test_length_batches():
    batches = [b.tolist() for b in length_batches(np.array([5, 1, 5, 3, 2]), 2)]
    assert batches == [[1, 4], [3, 0], [2]]
    with pytest.raises(ValueError, match="batch_size"):
        list(length_batches(np.array([1]), 0))


def test_unknown_decoding_method_is_refused():
    with pytest.raises(DecodingError, match="unknown decoding method 'viterbi'"):
        DecodingOptions("viterbi")


def test_keras_and_device_decoders_are_the_same_objects(keras_model):
    """Evaluation decodes through the device's decoders: beam search runs on Keras output."""
    options = DecodingOptions("beam", beam_width=4)
    decoder = make_decoder(options, keras_model.vocabulary, keras_model.frame_duration)
    direct = [decoder.decode(keras_model.log_probs(w)) for w in waveforms()[:2]]
    through_evaluation = transcribe_waveforms(keras_model, waveforms()[:2], options, margin=0)
    assert [t.text for t in through_evaluation] == [t.text for t in direct]
    assert all(t.text for t in direct)


def test_keras_evaluation_decodes_between_the_device_margins(keras_model):
    """With a margin, each waveform is decoded between the margins the device's Recognizer
    adds, and its word times are seconds of the waveform itself."""
    decoder = make_decoder(DecodingOptions(), keras_model.vocabulary, keras_model.frame_duration)
    waves = waveforms()[:2]
    got = transcribe_waveforms(keras_model, waves, margin=0.2)
    for wave, transcript in zip(waves, got):
        padded = pad_margin(wave, 0.2, keras_model.sample_rate)
        assert transcript.text == decoder.decode(keras_model.log_probs(padded)).text
        duration = wave.shape[0] / keras_model.sample_rate
        assert all(0 <= w.start <= w.end <= duration for w in transcript.words)
    assert any(t.words for t in got)


def test_references_are_normalised_in_the_model_language(tmp_path):
    """A French model's references keep their accents (the English normaliser strips them)."""
    from edgeasr.evaluation.evaluate import model_vocabulary
    from edgeasr.text.languages import language_of
    from edgeasr_device.vocab import Vocabulary

    legacy = Path(__file__).parent / "fixtures" / "legacy_v1"
    assert model_vocabulary(legacy / "run-tiny") == Vocabulary.english()
    assert model_vocabulary(legacy / "tiny-float32.tflite") == Vocabulary.english()
    french = language_of(Vocabulary.french()).normalize
    assert french("Élevé à 2 mètres") == "élevé à deux mètres"
    assert language_of(Vocabulary.english()).normalize("Élevé") == "eleve"
