"""``edgeasr export --streaming``: the chunked graph (audio chunk + state -> log-probs + state).

The whole-utterance graph pads every convolution with zeros at the utterance's edges. The
chunked graph reproduces that exactly instead of approximating it:

- the frontend keeps the last ``hop * ceil(n_fft / hop)`` samples, so every analysis frame
  of the utterance is computed once, whole (the first frame of each chunk's window is
  dropped: its pre-emphasis lacks the sample before it);
- the encoder keeps, per convolution, the last ``kernel - 1`` inputs it saw, and each
  convolution lags its input by ``kernel // 2`` frames (its right context) -- see
  :meth:`edgeasr.models.encoders.conv.ConvEncoderConfig.streaming_state`;
- frame masks, computed by the host from the chunk index and (at the end) the utterance
  length, zero the inputs of each convolution before the utterance's first and after its
  last frame, which is what the whole graph's zero padding does.

So chunk ``k``'s output rows are output frames ``k * chunk_frames - delay + i`` of the
whole-utterance model, up to float rounding. The lookahead (``delay`` frames, 1.48 s for
the ``small`` preset) is the cost of exactness with a non-causal encoder: a frame is final
only once its right context has arrived; :meth:`ChunkRunner.finish` flushes it at the end.
"""

from __future__ import annotations

import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator

import numpy as np

from edgeasr_device.streaming_model import (
    AUDIO,
    FEATURE_MASK,
    FRAME_MASKS,
    LOG_PROBS,
    SAMPLES_STATE,
    STATE_IN,
    STATE_OUT,
    ChunkRunner,
    StreamingSpec,
)
from edgeasr_export.convert import (
    CLASSIFIER_SCOPE,
    QUANTIZATIONS,
    _converter,
    export_mode,
    int8_debugger,
    whole_int8_debugger,
)
from edgeasr_export.convert import write_saved_model as write_whole_saved_model
from edgeasr_export.errors import ExportError
from edgeasr_export.ops import check_builtin_ops
from edgeasr_export.ranges import activation_ranges, apply_ranges

#: Output frames per chunk by default: 16 frames of 20 ms (0.32 s of audio) for ``small``.
DEFAULT_CHUNK_FRAMES = 16


def streaming_spec(model_config, chunk_frames: int = DEFAULT_CHUNK_FRAMES) -> StreamingSpec:
    """The chunk geometry of ``model_config`` (a ``ModelConfig``) at ``chunk_frames``.

    Raises:
        ExportError: the encoder cannot stream, or ``chunk_frames`` is not positive.
    """
    if isinstance(chunk_frames, bool) or not isinstance(chunk_frames, int) or chunk_frames < 1:
        raise ExportError(f"--chunk-frames must be a whole number >= 1, got {chunk_frames!r}")
    f = model_config.frontend
    encoder = model_config.encoder
    stride = model_config.time_stride
    samples_kept = f.hop_length * -(-f.n_fft // f.hop_length)
    input_delay = samples_kept // f.hop_length - 1
    plan = encoder.streaming_state(f.num_features, chunk_frames, input_delay)
    if plan is None:
        raise ExportError(f"the {encoder.kind!r} encoder cannot be exported for streaming "
                          "(its config has no streaming_state); export it without "
                          "--streaming: the device streams it by voice-activity segmentation")
    states = {SAMPLES_STATE: (samples_kept,), **{k: tuple(v) for k, v in plan.shapes.items()}}
    return StreamingSpec(
        chunk_samples=chunk_frames * stride * f.hop_length, input_frames=chunk_frames * stride,
        chunk_frames=chunk_frames, time_stride=stride, n_fft=f.n_fft, hop_length=f.hop_length,
        input_delay=input_delay, delay=plan.delay, mask_delays=plan.mask_delays, states=states)


def step_function(model, spec: StreamingSpec) -> Callable:
    """The exported computation: ``(audio, feature_mask, frame_masks, *states)`` in
    :func:`state_names` order -> ``{"log_probs", "next_<state>"...}``."""
    import tensorflow as tf
    from keras import ops

    names = state_names(spec)

    def step(audio, feature_mask, frame_masks, *states):
        held = dict(zip(names, states))
        # named as part of the frontend, so that int8 export keeps the audio in float
        with tf.name_scope("frontend_window"):
            window = ops.concatenate([held[SAMPLES_STATE], audio], axis=1)
        features = model.frontend(window)[:, 1:]
        encoder_states = {k: v for k, v in held.items() if k != SAMPLES_STATE}
        hidden, new = model.encoder.stream_step(
            features, ops.expand_dims(feature_mask, -1), ops.expand_dims(frame_masks, -1),
            encoder_states)
        logits = ops.cast(model.classifier(hidden), "float32")
        out = {LOG_PROBS: ops.log_softmax(logits, axis=-1),
               STATE_OUT + SAMPLES_STATE: window[:, -spec.states[SAMPLES_STATE][0]:]}
        out.update({STATE_OUT + k: v for k, v in new.items()})
        return out

    return step


def state_names(spec: StreamingSpec) -> list[str]:
    return sorted(spec.states)


def keras_runner(model, spec: StreamingSpec) -> ChunkRunner:
    """A :class:`ChunkRunner` around the Keras model (float reference, calibration)."""
    import tensorflow as tf

    step = tf.function(step_function(model, spec))
    names = state_names(spec)

    def run(inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        result = step(inputs[AUDIO], inputs[FEATURE_MASK], inputs[FRAME_MASKS],
                      *[inputs[STATE_IN + n] for n in names])
        return {k: v.numpy() for k, v in result.items()}

    return ChunkRunner(run, spec)


def write_saved_model(model, spec: StreamingSpec, directory: str) -> None:
    import keras
    import tensorflow as tf

    signature = [tf.TensorSpec((1, spec.chunk_samples), tf.float32, name=AUDIO),
                 tf.TensorSpec((1, spec.input_frames), tf.float32, name=FEATURE_MASK),
                 tf.TensorSpec((1, len(spec.mask_delays), spec.chunk_frames), tf.float32,
                               name=FRAME_MASKS)]
    signature += [tf.TensorSpec((1, *spec.states[n]), tf.float32, name=STATE_IN + n)
                  for n in state_names(spec)]
    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(name="serve", fn=step_function(model, spec), input_signature=signature)
    archive.write_out(directory, verbose=False)


def calibration_inputs(model, spec: StreamingSpec, waveforms: Iterable[np.ndarray],
                       limit: int = 4000) -> list[dict[str, np.ndarray]]:
    """Real chunk inputs (audio, masks and the states they carry) for int8 calibration,
    recorded by running the float Keras graph over ``waveforms``; at most ``limit``."""
    recorded: list[dict[str, np.ndarray]] = []
    runner = keras_runner(model, spec)
    inner = runner.step

    def record(inputs):
        recorded.append({k: np.array(v) for k, v in inputs.items()})
        return inner(inputs)

    runner.step = record
    for waveform in waveforms:
        runner.feed(np.asarray(waveform, np.float32))
        runner.finish()
        if len(recorded) >= limit:
            break
    rng = np.random.default_rng(0)
    if len(recorded) > limit:
        recorded = [recorded[i] for i in sorted(rng.choice(len(recorded), limit, replace=False))]
    return recorded


def float_tensors(float_model: bytes) -> list[str]:
    """Tensors kept in float under int8: the frontend (and its sample state) and the outputs."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=float_model)
    runner = interpreter.get_signature_runner()
    keep_outputs = {d["index"] for d in runner.get_output_details().values()}
    names = []
    for t in interpreter.get_tensor_details():
        name = t["name"]
        if "frontend" in name or CLASSIFIER_SCOPE in name or t["index"] in keep_outputs \
                or SAMPLES_STATE in name \
                or name.startswith(f"serving_default_{AUDIO}"):
            names.append(name)
    if not any("frontend" in n for n in names):
        raise ExportError("found no frontend tensors to keep in float in the streaming graph")
    return names


def convert_streaming(model, spec: StreamingSpec, quantization: str,
                      calibration: Iterable[np.ndarray] | None = None) -> bytes:
    """Convert the chunked graph of a built ``CTCModel`` to TFLite bytes (no metadata).

    LoRA adapters are merged first, as :func:`edgeasr_export.convert.convert` does.
    """
    import tensorflow as tf

    from edgeasr.models.adapters.lora import merge_lora

    model = merge_lora(model)
    if quantization not in QUANTIZATIONS:
        raise ExportError(f"unknown quantisation {quantization!r}; choose from {QUANTIZATIONS}")
    with export_mode(model), tempfile.TemporaryDirectory(prefix="edgeasr-stream-") as tmp:
        saved = os.path.join(tmp, "saved_model")
        write_saved_model(model, spec, saved)
        float_model = _converter(saved).convert()
        if quantization == "float32":
            result = float_model
        elif quantization in ("float16", "dynamic"):
            converter = _converter(saved)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            if quantization == "float16":
                converter.target_spec.supported_types = [tf.float16]
            result = converter.convert()
        else:
            waveforms = list(calibration or [])
            if not waveforms:
                raise ExportError("int8 export needs calibration audio: pass --calibration "
                                  "MANIFEST.jsonl")
            inputs = calibration_inputs(model, spec, waveforms)
            whole = os.path.join(tmp, "whole_model")
            write_whole_saved_model(model, whole)
            ranges = activation_ranges(whole_int8_debugger(
                whole, _converter(whole).convert(), waveforms).calibrated_model)
            result = _int8(saved, float_model, inputs, ranges)
    check_builtin_ops(result)
    return result


def _int8(saved: str, float_model: bytes, inputs: list[dict[str, np.ndarray]],
          ranges: dict) -> bytes:
    """Calibrate the chunked graph on ``inputs``, then quantise it with the whole graph's
    ``ranges`` for every convolution and residual output (:mod:`edgeasr_export.ranges`)."""
    def representative() -> Iterator[dict[str, np.ndarray]]:
        yield from inputs

    debugger = int8_debugger(saved, representative, float_tensors(float_model))
    debugger.calibrated_model, _ = apply_ranges(debugger.calibrated_model, ranges)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return debugger.get_nondebug_quantized_model()


def check_streaming_parity(model, content: bytes, waveforms, vocabulary):
    """Chunked TFLite (the device loop) vs whole-utterance Keras: a ``ParityReport``."""
    from edgeasr_device.decoding import DecodingOptions, log_softmax, make_decoder
    from edgeasr_device.streaming_model import StreamingTfliteModel
    from edgeasr_export.parity import ParityReport

    lite = StreamingTfliteModel(content, num_threads=1, source="<exported streaming model>")
    decoder = make_decoder(DecodingOptions(), vocabulary, model.config.frame_seconds)
    deltas, prob_max, frames, same, agree, mismatches = [], 0.0, 0, 0, 0, []
    for waveform in waveforms:
        samples = np.asarray(waveform, np.float32)
        if samples.shape[0] < spec_min(lite):
            samples = np.pad(samples, (0, spec_min(lite) - samples.shape[0]))
        ref = log_softmax(np.asarray(model.predict_on_batch(samples[None, :]))[0])
        got = lite.log_probs(samples)
        if got.shape != ref.shape:
            raise ExportError(f"the streaming graph returned {got.shape[0]} frames where the "
                              f"whole model returns {ref.shape[0]}: a bug in the chunking")
        delta = np.abs(ref - got)
        deltas.append(delta.ravel())
        prob_max = max(prob_max, float(np.abs(np.exp(ref) - np.exp(got)).max()))
        frames += ref.shape[0]
        same += int((ref.argmax(-1) == got.argmax(-1)).sum())
        a, b = decoder.decode(ref).text, decoder.decode(got).text
        agree += a == b
        if a != b:
            mismatches.append((a, b))
    flat = np.concatenate(deltas)
    return ParityReport(utterances=len(waveforms), max_abs_delta=float(flat.max()),
                        mean_abs_delta=float(flat.mean()), max_prob_delta=prob_max,
                        argmax_agreement=same / max(frames, 1),
                        transcript_agreement=agree / len(waveforms),
                        mismatches=tuple(mismatches[:5]))


def spec_min(lite) -> int:
    return lite.spec.n_fft
