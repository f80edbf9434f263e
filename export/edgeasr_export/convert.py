"""Keras CTC model -> TFLite file with builtin ops only, in one of four quantisation modes.

Path (docs/toolchain.md): SavedModel written by ``keras.export.ExportArchive`` ->
``tf.lite.TFLiteConverter.from_saved_model`` with ``TFLITE_BUILTINS`` only. The exported
graph takes a waveform (1, N) float32 and returns log-probabilities (1, T, V).

Modes
- ``float32``: no quantisation.
- ``float16``: weights stored as float16, computed in float32.
- ``dynamic``: int8 weights, float activations (dynamic-range quantisation). The frontend's
  projections are built as multiply + sum so the quantiser leaves the power spectrum alone.
- ``int8``: int8 weights and activations, calibrated on real audio. The frontend (waveform
  -> log-mel) stays float: its tensors are excluded from quantisation by name, because an
  8-bit power spectrum loses the quiet half of speech.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Literal

import numpy as np

from edgeasr_export.errors import ExportError
from edgeasr_export.ops import check_builtin_ops

Quantization = Literal["float32", "float16", "dynamic", "int8"]
QUANTIZATIONS: tuple[str, ...] = ("float32", "float16", "dynamic", "int8")
FRONTEND_SCOPE = "/frontend"
#: The output layer runs in float (int8 hidden in, float logits out): as one int8
#: FULLY_CONNECTED its logits had steps of ~0.8 nats, and the whole-utterance graph (whose
#: time axis is dynamic) kept its bias as a separate int8 ADD that the chunked graph fused.
CLASSIFIER_SCOPE = "classifier"


@contextlib.contextmanager
def export_mode(model) -> Iterator[None]:
    """Temporarily switch the model to its export forms: the frontend's float projections,
    and batch norms folded into the convolutions before them where the encoder can
    (``fold_norms``: the same int8 ops in the whole-utterance and the chunked graph)."""
    projection, fold = model.frontend.float_projection, getattr(model.encoder, "fold_norms", None)
    model.frontend.float_projection = True
    if fold is not None:
        model.encoder.fold_norms = True
    try:
        yield
    finally:
        model.frontend.float_projection = projection
        if fold is not None:
            model.encoder.fold_norms = fold


def inference_function(model) -> Callable:
    """waveform (1, N) -> log-probabilities (1, T, V), the function that is exported."""
    from keras import ops

    def serve(audio):
        return ops.log_softmax(model(audio, training=False), axis=-1)

    return serve


def write_saved_model(model, directory: str) -> None:
    import keras
    import tensorflow as tf

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="serve",
        fn=inference_function(model),
        input_signature=[tf.TensorSpec((1, None), tf.float32, name="audio")],
    )
    archive.write_out(directory, verbose=False)


def _converter(saved_model: str):
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    # tflite-runtime 2.14 cannot load per-channel quantised FULLY_CONNECTED (version 12).
    converter._experimental_disable_per_channel_quantization_for_dense_layers = True
    return converter


def float_tensor_names(float_model: bytes) -> list[str]:
    """Tensors to keep in float under int8: the frontend's and the final log-softmax output.

    The frontend needs float range (see the module docstring); the output stays float so that
    log-probabilities keep their resolution for confidences and beam search (an int8
    LOG_SOFTMAX has steps of 1/16 nat).
    """
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=float_model)
    names = [t["name"] for t in interpreter.get_tensor_details()
             if FRONTEND_SCOPE in t["name"] or CLASSIFIER_SCOPE in t["name"]]
    if not names:
        raise ExportError(
            "found no frontend tensors to keep in float; the model's frontend layer must be "
            "named 'frontend'"
        )
    return names + [d["name"] for d in interpreter.get_output_details()]


def convert(
    model,
    quantization: str,
    calibration: Iterable[np.ndarray] | None = None,
) -> bytes:
    """Convert a built ``CTCModel`` to TFLite bytes (no metadata yet).

    ``calibration``: float32 waveforms (N,) at the model rate, required for ``int8``; a few
    dozen utterances that look like deployment audio are enough. A model with LoRA adapters
    is converted with the adapters merged into plain kernels (the base model's tensors and
    ops; :func:`edgeasr.models.adapters.lora.merge_lora`).
    """
    import tensorflow as tf

    from edgeasr.models.adapters.lora import merge_lora

    model = merge_lora(model)

    if quantization not in QUANTIZATIONS:
        raise ExportError(f"unknown quantisation {quantization!r}; choose from {QUANTIZATIONS}")
    with export_mode(model), tempfile.TemporaryDirectory(prefix="edgeasr-export-") as tmp:
        saved = os.path.join(tmp, "saved_model")
        write_saved_model(model, saved)
        float_model = _converter(saved).convert()
        if quantization == "float32":
            result = float_model
        elif quantization == "float16":
            converter = _converter(saved)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
            result = converter.convert()
        elif quantization == "dynamic":
            converter = _converter(saved)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            result = converter.convert()
        else:
            result = _full_int8(saved, float_model, calibration)
    check_builtin_ops(result)
    return result


def _full_int8(saved: str, float_model: bytes, calibration: Iterable[np.ndarray] | None) -> bytes:
    return whole_int8_debugger(saved, float_model, calibration).get_nondebug_quantized_model()


def whole_int8_debugger(saved: str, float_model: bytes, calibration: Iterable[np.ndarray] | None):
    """The whole-utterance graph calibrated on ``calibration`` (waveforms), ready to quantise:
    a ``QuantizationDebugger`` whose ``calibrated_model`` holds the measured ranges."""
    waveforms = [np.asarray(w, dtype=np.float32) for w in (calibration or [])]
    if not waveforms:
        raise ExportError(
            "int8 export needs calibration audio: pass --calibration MANIFEST.jsonl "
            "(a few dozen utterances like the ones the device will hear)"
        )

    def representative() -> Iterator[list[np.ndarray]]:
        for waveform in waveforms:
            yield [waveform[None, :]]

    return int8_debugger(saved, representative, float_tensor_names(float_model))


def int8_debugger(saved: str, representative: Callable, keep_float: list[str]):
    """Calibrate the SavedModel at ``saved`` on ``representative`` for full int8 with the
    tensors named in ``keep_float`` left in float (the frontend and the outputs)."""
    import tensorflow as tf

    converter = _converter(saved)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    converter.target_spec.supported_ops = [
        tf.lite.OpsSet.TFLITE_BUILTINS_INT8,
        tf.lite.OpsSet.TFLITE_BUILTINS,  # float kernels for the frontend (RFFT2D, LOG, ...)
    ]
    options = tf.lite.experimental.QuantizationDebugOptions(
        denylisted_nodes=keep_float, fully_quantize=False
    )
    with warnings.catch_warnings():  # the debugger itself uses the deprecated tf.lite.Interpreter
        warnings.filterwarnings("ignore", message=".*tf.lite.Interpreter is deprecated")
        return tf.lite.experimental.QuantizationDebugger(
            converter=converter, debug_dataset=representative, debug_options=options
        )
