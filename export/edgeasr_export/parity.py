"""Does the exported file compute what the Keras model computes? Logits and transcripts.

The TFLite side runs through :class:`edgeasr_device.model.TfliteModel`, the loop the device
runs (short audio padded to one analysis frame); the Keras model sees the same padded
waveform, at batch 1 and without a length mask, as the exported graph does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from edgeasr_device.artifact import ArtifactMetadata
from edgeasr_device.decoding import DecodingOptions, log_softmax, make_decoder
from edgeasr_device.model import TfliteModel
from edgeasr_device.vocab import Vocabulary


@dataclass(frozen=True)
class ParityReport:
    utterances: int
    max_abs_delta: float  # largest |log-prob difference| over all frames and classes
    mean_abs_delta: float
    max_prob_delta: float  # largest |probability difference| (bounded; ignores the far tail)
    argmax_agreement: float  # fraction of frames whose best class matches
    transcript_agreement: float  # fraction of utterances with identical greedy transcripts
    mismatches: tuple[tuple[str, str], ...]  # (keras, tflite) transcripts that differ

    def to_dict(self) -> dict:
        return asdict(self)


def check_parity(model, model_content: bytes, waveforms: Sequence[np.ndarray],
                 vocabulary: Vocabulary, metadata: ArtifactMetadata | None = None,
                 options: DecodingOptions | None = None) -> ParityReport:
    """Compare Keras (batch 1, float) with the TFLite file on the same waveforms.

    Args:
        model: the Keras ``CTCModel`` that was exported.
        model_content: the exported ``.tflite`` bytes (with edgeasr metadata, unless
            ``metadata`` is given).
        waveforms: float32 ``(N_i,)`` at the model's sample rate.
        vocabulary: the model's output classes.
        options: decoding of both outputs for the transcript comparison (default: greedy).
    """
    if not waveforms:
        raise ValueError("parity needs at least one waveform")
    lite = TfliteModel(model_content, num_threads=1, source="<exported model>", metadata=metadata)
    decoder = make_decoder(options or DecodingOptions(), vocabulary, model.config.frame_seconds)
    deltas, prob_deltas, agree, mismatches, frames, same_frames = [], [], 0, [], 0, 0
    for waveform in waveforms:
        samples = lite.padded(waveform)
        lite_lp = lite.log_probs(samples)
        keras_lp = log_softmax(np.asarray(model.predict_on_batch(samples[None, :]))[0])
        delta = np.abs(keras_lp - lite_lp)
        deltas.append(delta)
        prob_deltas.append(float(np.abs(np.exp(keras_lp) - np.exp(lite_lp)).max()))
        frames += keras_lp.shape[0]
        same_frames += int((keras_lp.argmax(-1) == lite_lp.argmax(-1)).sum())
        a = decoder.decode(keras_lp).text
        b = decoder.decode(lite_lp).text
        if a == b:
            agree += 1
        else:
            mismatches.append((a, b))
    flat = np.concatenate([d.ravel() for d in deltas])
    return ParityReport(
        utterances=len(waveforms),
        max_abs_delta=float(flat.max()),
        mean_abs_delta=float(flat.mean()),
        max_prob_delta=max(prob_deltas),
        argmax_agreement=same_frames / max(frames, 1),
        transcript_agreement=agree / len(waveforms),
        mismatches=tuple(mismatches[:5]),
    )
