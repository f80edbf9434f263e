"""Does the exported file compute what the Keras model computes? Logits and transcripts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from edgeasr.evaluation.decode import log_softmax
from edgeasr_device.decoding import greedy_decode
from edgeasr_device.interpreter import make_interpreter
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


def tflite_log_probs(model_content: bytes, waveforms: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Run the exported graph on each waveform (N,) -> (T, V), as the device does."""
    interpreter = make_interpreter(model_content, num_threads=1)
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    results = []
    for waveform in waveforms:
        interpreter.resize_tensor_input(inp, [1, waveform.shape[0]])
        interpreter.allocate_tensors()
        interpreter.set_tensor(inp, waveform[None, :].astype(np.float32))
        interpreter.invoke()
        results.append(interpreter.get_tensor(out)[0].copy())
    return results


def check_parity(model, model_content: bytes, waveforms: Sequence[np.ndarray],
                 vocabulary: Vocabulary) -> ParityReport:
    """Compare Keras (batch 1, float) with the TFLite file on the same waveforms."""
    if not waveforms:
        raise ValueError("parity needs at least one waveform")
    lite = tflite_log_probs(model_content, waveforms)
    deltas, prob_deltas, agree, mismatches, frames, same_frames = [], [], 0, [], 0, 0
    for waveform, lite_lp in zip(waveforms, lite):
        keras_lp = log_softmax(np.asarray(model.predict_on_batch(waveform[None, :]))[0])
        delta = np.abs(keras_lp - lite_lp)
        deltas.append(delta)
        prob_deltas.append(float(np.abs(np.exp(keras_lp) - np.exp(lite_lp)).max()))
        frames += keras_lp.shape[0]
        same_frames += int((keras_lp.argmax(-1) == lite_lp.argmax(-1)).sum())
        frame_seconds = model.config.frame_seconds
        a = greedy_decode(keras_lp, vocabulary, frame_seconds).text
        b = greedy_decode(lite_lp, vocabulary, frame_seconds).text
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
