"""Transcribe with a Keras model: batched forward pass, then a device decoder.

The decoders are the ones the device runs (``edgeasr_device.decoding``, chosen by
``DecodingOptions``), so Keras and TFLite results differ only where the networks' outputs
differ.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from edgeasr.data.corpus import Corpus
from edgeasr.evaluation.keras_model import KerasModel, length_batches
from edgeasr_device.decoding import Decoder, DecodingOptions, Transcript, make_decoder
from edgeasr_device.margin import pad_margin, unpad_transcript
from edgeasr_device.model import AcousticModel
from edgeasr_device.vocab import Vocabulary

__all__ = ["model_decoder", "transcribe_corpus", "transcribe_waveforms"]


def model_decoder(model: AcousticModel, options: DecodingOptions | None = None) -> Decoder:
    """The decoder ``options`` name (default greedy) for ``model``'s vocabulary and frame rate."""
    return make_decoder(options or DecodingOptions(), model.vocabulary, model.frame_duration)


def transcribe_corpus(model, corpus: Corpus, vocabulary: Vocabulary, batch_size: int = 16,
                      indices: Sequence[int] | None = None,
                      options: DecodingOptions | None = None,
                      margin: float = 0.0) -> list[Transcript]:
    """Transcripts of corpus utterances (all, or ``indices``), in that order.

    Args:
        model: a Keras ``CTCModel`` (e.g. the one being trained).
        corpus: int16 audio at the model rate; read one batch at a time.
        options: decoding (default: greedy).
        margin: seconds of silence decoded around each utterance, as the device's
            ``Recognizer`` does with a file that asks for it (:mod:`edgeasr_device.margin`).

    Utterances are batched by length so that little compute goes to padding.
    """
    acoustic = KerasModel(model, vocabulary, batch_size=batch_size)
    decoder = model_decoder(acoustic, options)
    indices = np.arange(len(corpus)) if indices is None else np.asarray(indices)
    results: list[Transcript | None] = [None] * len(indices)
    for positions in length_batches(corpus.lengths[indices], batch_size):
        waveforms = [corpus.audio(int(indices[p])).astype(np.float32) / 32768.0 for p in positions]
        padded = [pad_margin(w, margin, acoustic.sample_rate) for w in waveforms]
        for position, wave, log_probs in zip(positions, waveforms, acoustic.forward(padded)):
            results[position] = unpad_transcript(decoder.decode(log_probs), margin,
                                                 wave.shape[0] / acoustic.sample_rate)
    return results  # type: ignore[return-value]


def transcribe_waveforms(model: AcousticModel, waveforms: Sequence[np.ndarray],
                         options: DecodingOptions | None = None,
                         margin: float = 0.0) -> list[Transcript]:
    """Transcripts of float32 waveforms ``(N_i,)`` at the model's sample rate, in order,
    each decoded between ``margin`` seconds of silence (as the device's ``Recognizer``).

    A model with ``log_probs_batch`` (a :class:`KerasModel`) runs them in batches of similar
    length; any other model one at a time.
    """
    decoder = model_decoder(model, options)
    rate = model.sample_rate
    padded = [pad_margin(w, margin, rate) for w in waveforms]
    batched = getattr(model, "log_probs_batch", None)
    log_probs = batched(padded) if batched is not None else map(model.log_probs, padded)
    return [unpad_transcript(decoder.decode(lp), margin, w.shape[0] / rate)
            for w, lp in zip(waveforms, log_probs)]
