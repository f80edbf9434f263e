"""``edgeasr import``: an exported whole-file ``.tflite`` -> a run folder that ``--init`` takes.

The inverse of export for the ``conv`` encoder family (``small``, ``tiny``, ``edge-*``: the
Pi family and the packaged ``en-starter``), so a model whose Keras checkpoints are gone, or
that came as a ``.tflite`` only, can be fine-tuned again (``edgeasr train --init RUN``).

The file's metadata holds the model config and vocabulary; its constant tensors hold the
weights. The graph is read in op order: every convolution or fully connected op is one
kernel, and its bias and the constant MULs and ADDs that follow it (batch norm in inference
form, ``y = x * scale + shift``) fold into one affine per kernel. Exports since the norms
were folded into the convolutions (``fold_norms``) hold ``kernel * scale`` and a bias, so
the imported kernels carry the norm's scale and the affine is the bias alone: the same
function, parametrised differently (older files keep kernel and norm apart). The affines
go into the Keras batch-norm layers so that the model computes the same function in
inference mode. An int8
or dynamic-range file gives its dequantised weights: the imported model equals the int8
model's arithmetic up to activation rounding, not the float model it was quantised from.

Batch norm keeps only ``scale`` and ``shift`` in a ``.tflite``; its statistics are gone.
With calibration audio, each batch-norm layer's input statistics are measured and the
layer is re-parametrised (``moving_mean = m``, ``moving_variance = v``, ``gamma = scale *
sqrt(v + eps)``, ``beta = shift + scale * m``): the same inference function, and training
batches normalise about as the original training did. Without it, ``m = 0`` and ``v = 1``:
right for inference, a poor start for training (batch statistics differ from them).
"""

from __future__ import annotations

import hashlib
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from edgeasr.files import atomic_write_json
from edgeasr.models.adapters.naming import leaf_layers, parameter_count
from edgeasr.models.config import ModelConfig
from edgeasr.models.encoders.conv import ConvEncoderConfig
from edgeasr.runs import RunDirectory, RunInfo, build_model, save_checkpoint
from edgeasr_device.artifact import read_metadata
from edgeasr_device.interpreter import interpreter_class
from edgeasr_export.errors import ExportError
from edgeasr_export.exporter import calibration_audio

__all__ = ["CHECKPOINT", "ImportReport", "calibrate_batch_norm", "import_model", "read_units"]

#: The checkpoint folder an imported run holds (``RUN/checkpoints/imported``).
CHECKPOINT = "imported"
_SCOPE = re.compile(r"(^|/)(encoder|classifier)(_\d+)?/")
_KERNEL_OPS = ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")


@dataclass
class _Unit:
    """One kernel op (``None`` for the affine before the first kernel) and its affine."""

    op: str | None
    kernel: np.ndarray | None  # Keras layout: conv (K, I, O), depthwise (K, C, 1), dense (I, V)
    scale: np.ndarray
    shift: np.ndarray


@dataclass(frozen=True)
class ImportReport:
    run: Path
    source: str
    quantization: str
    parameters: int
    calibration_utterances: int
    notes: tuple[str, ...] = field(default_factory=tuple)


def _dequantized(interpreter, detail: dict) -> np.ndarray:
    value = interpreter.get_tensor(detail["index"])
    q = detail["quantization_parameters"]
    scales, zeros = q["scales"], q["zero_points"]
    if value.dtype.kind not in "iu" or not len(scales):
        return value.astype(np.float32)
    shape = [1] * value.ndim
    if len(scales) > 1:
        shape[q["quantized_dimension"]] = len(scales)
    return ((value.astype(np.float32) - zeros.reshape(shape)) * scales.reshape(shape)).astype(np.float32)


def read_units(content: bytes, source: str) -> list[_Unit]:
    """The encoder's and classifier's kernels, in op order, each with its folded affine."""
    cls, _ = interpreter_class()
    resolver = sys.modules[cls.__module__].OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    # Without delegates: XNNPACK would fold the float graph's ops into one DELEGATE node.
    interpreter = cls(model_content=content, experimental_op_resolver_type=resolver)
    interpreter.allocate_tensors()
    details = {d["index"]: d for d in interpreter.get_tensor_details()}
    ops = interpreter._get_ops_details()  # the only API that lists a graph's ops in order
    produced = {int(out): op for op in ops for out in op["outputs"]}
    graph_inputs = {d["index"] for d in interpreter.get_input_details()}

    def constant(index: int) -> np.ndarray | None:
        index = int(index)
        if index < 0 or index in graph_inputs:
            return None
        op = produced.get(index)
        if op is None:
            return _dequantized(interpreter, details[index])
        if op["op_name"] == "DEQUANTIZE" and int(op["inputs"][0]) not in produced:
            return _dequantized(interpreter, details[int(op["inputs"][0])])  # float16 weights
        return None

    units: list[_Unit] = []
    for op in ops:
        name = details[int(op["outputs"][0])]["name"]
        if not _SCOPE.search(name):
            continue
        kind, inputs = op["op_name"], [int(i) for i in op["inputs"]]
        if kind in _KERNEL_OPS:
            w = constant(inputs[1])
            if w is None:
                raise ExportError(f"{source}: {kind} {name!r} has no constant weights; "
                                  "import reads models exported by `edgeasr export`")
            if kind == "CONV_2D":  # (O, 1, K, I) -> (K, I, O)
                kernel = w[:, 0].transpose(1, 2, 0)
            elif kind == "DEPTHWISE_CONV_2D":  # (1, 1, K, C) -> (K, C, 1)
                kernel = w[0, 0][:, :, None]
            else:  # (V, I) -> (I, V)
                kernel = w.T
            out = kernel.shape[-1] if kind != "DEPTHWISE_CONV_2D" else kernel.shape[1]
            bias = constant(inputs[2]) if len(inputs) > 2 else None
            units.append(_Unit(kind, kernel, np.ones(out, np.float32),
                               np.zeros(out, np.float32) if bias is None else bias.reshape(out)))
            continue
        if kind not in ("MUL", "ADD"):
            continue
        consts = [c for c in (constant(i) for i in inputs) if c is not None]
        if not consts:
            continue  # the residual sum, a mask product
        c = consts[0].reshape(-1)
        if not units:
            units.append(_Unit(None, None, np.ones_like(c), np.zeros_like(c)))
        unit = units[-1]
        if kind == "MUL":
            unit.scale, unit.shift = unit.scale * c, unit.shift * c
        else:
            unit.shift = unit.shift + c
    return units


class _Cursor:
    def __init__(self, units: list[_Unit], source: str):
        self.units, self.source, self.at = units, source, 0

    def peek(self) -> str | None:
        return self.units[self.at].op if self.at < len(self.units) else None

    def take(self, op: str | None, what: str) -> _Unit:
        if self.at >= len(self.units) or self.units[self.at].op != op:
            got = self.units[self.at].op if self.at < len(self.units) else "the end of the graph"
            raise ExportError(f"{self.source}: expected {op or 'an affine'} for {what}, found "
                              f"{got}; the graph does not match the config in its metadata")
        self.at += 1
        return self.units[self.at - 1]


def _set(variable, value: np.ndarray, source: str) -> None:
    if tuple(variable.shape) != value.shape:
        raise ExportError(f"{source}: {variable.path} is {tuple(variable.shape)} in the config "
                          f"but {value.shape} in the file; the graph does not match its metadata")
    variable.assign(value.astype(np.float32))


def _set_norm(norm, scale: np.ndarray, shift: np.ndarray, source: str) -> None:
    """Inference form ``x * scale + shift`` with mean 0, variance 1 (re-parametrised later)."""
    _set(norm.moving_mean, np.zeros_like(scale), source)
    _set(norm.moving_variance, np.ones_like(scale), source)
    _set(norm.gamma, scale * np.sqrt(1.0 + norm.epsilon), source)
    _set(norm.beta, shift, source)


def _load_conv_encoder(model, units: list[_Unit], source: str) -> None:
    enc, cur = model.encoder, _Cursor(units, source)
    first = cur.take(None, "the input batch norm")
    _set_norm(enc.input_norm, first.scale, first.shift, source)

    def conv(layer, norm, what: str) -> None:
        unit = cur.take("CONV_2D", what)
        _set(layer.kernel, unit.kernel, source)
        _set_norm(norm, unit.scale, unit.shift, source)

    conv(enc.prologue, enc.prologue_norm, "the prologue")
    for b, block in enumerate(enc.blocks):
        # The residual's 1x1 conv comes before, between or after the block's separable
        # convs, as the converter orders the graph; each pointwise follows its depthwise.
        r, residual_done = 0, False
        while r < len(block.convs) or not residual_done:
            if r < len(block.convs) and (residual_done or cur.peek() == "DEPTHWISE_CONV_2D"):
                sep, norm = block.convs[r], block.norms[r]
                depthwise = cur.take("DEPTHWISE_CONV_2D", f"block {b} conv {r}")
                pointwise = cur.take("CONV_2D", f"block {b} conv {r} (pointwise)")
                if not np.allclose(depthwise.scale, 1.0):
                    raise ExportError(f"{source}: block {b} conv {r} scales between its "
                                      "depthwise and pointwise kernels; not a graph "
                                      "`edgeasr export` writes")
                _set(sep.depthwise_kernel, depthwise.kernel, source)
                _set(sep.pointwise_kernel, pointwise.kernel, source)
                # A depthwise bias d passes through the pointwise kernel P: P^T d, then the
                # affine.
                through = depthwise.shift @ pointwise.kernel[0]
                _set_norm(norm, pointwise.scale, pointwise.shift + pointwise.scale * through,
                          source)
                r += 1
            else:
                conv(block.residual, block.residual_norm, f"block {b}'s residual")
                residual_done = True
    conv(enc.epilogue, enc.epilogue_norm, "the epilogue")
    dense = cur.take("FULLY_CONNECTED", "the classifier")
    if not np.allclose(dense.scale, 1.0):
        raise ExportError(f"{source}: the classifier output is scaled; not a graph "
                          "`edgeasr export` writes")
    _set(model.classifier.kernel, dense.kernel, source)
    _set(model.classifier.bias, dense.shift, source)
    if cur.at != len(units):
        raise ExportError(f"{source}: {len(units) - cur.at} kernels after the classifier; "
                          "the graph does not match the config in its metadata")


def calibrate_batch_norm(model, audio: list[np.ndarray]) -> int:
    """Re-parametrise every batch-norm layer with its input statistics on ``audio``
    (lone utterances, inference mode) without changing the inference function.

    Returns the number of utterances measured.
    """
    import keras

    norms = [layer for layer in leaf_layers(model).values()
             if isinstance(layer, keras.layers.BatchNormalization)]
    sums = {id(n): [0.0, 0.0, 0] for n in norms}
    originals = {}
    for norm in norms:
        originals[id(norm)] = norm.call

        def recording(inputs, training=None, mask=None, _norm=norm):
            x = keras.ops.convert_to_numpy(inputs).reshape(-1, inputs.shape[-1]).astype(np.float64)
            acc = sums[id(_norm)]
            acc[0], acc[1], acc[2] = acc[0] + x.sum(0), acc[1] + (x * x).sum(0), acc[2] + len(x)
            return originals[id(_norm)](inputs, training=False)

        norm.call = recording
    try:
        for wave in audio:
            model(wave[None].astype(np.float32), training=False)
    finally:
        for norm in norms:
            del norm.call  # back to the class's method
    for norm in norms:
        total, squares, n = sums[id(norm)]
        if not n:
            continue
        mean = total / n
        var = np.maximum(squares / n - mean * mean, 1e-6)
        gamma, beta = norm.gamma.numpy(), norm.beta.numpy()
        old_mean, old_var = norm.moving_mean.numpy(), norm.moving_variance.numpy()
        scale = gamma / np.sqrt(old_var + norm.epsilon)
        shift = beta - old_mean * scale
        norm.moving_mean.assign(mean.astype(np.float32))
        norm.moving_variance.assign(var.astype(np.float32))
        norm.gamma.assign((scale * np.sqrt(var + norm.epsilon)).astype(np.float32))
        norm.beta.assign((shift + scale * mean).astype(np.float32))
    return len(audio)


def import_model(model_path: str, out_dir: str, calibration: str | None = None,
                 calibration_utterances: int = 64) -> ImportReport:
    """Write ``out_dir`` as a run (run.json, ``checkpoints/imported``, state.json) holding
    the weights of the exported model at ``model_path``; batch norm is measured on up to
    ``calibration_utterances`` of the ``calibration`` manifest (see :func:`calibrate_batch_norm`).

    Raises:
        ExportError: a streaming export, another encoder family, a piece vocabulary, or a
            graph that does not match its metadata; ArtifactError for a file that is not an
            edgeasr model.
    """
    source = str(model_path)
    content = Path(model_path).read_bytes()
    meta = read_metadata(content, source=source)
    if meta.streaming is not None:
        raise ExportError(f"{source} is a streaming (chunked) export; import the whole-file "
                          "export of the same model (`edgeasr export` without --streaming)")
    if meta.tokenizer is not None or meta.vocabulary.kind != "characters":
        raise ExportError(f"{source} has a piece vocabulary; import reads character models only")
    config = ModelConfig.from_dict(meta.model)
    if not isinstance(config.encoder, ConvEncoderConfig):
        raise ExportError(f"{source}: its encoder is {config.encoder.kind!r}; import reads the "
                          "conv family (small, tiny, edge-*) only")
    run = RunDirectory(out_dir)
    if run.exists():
        raise ExportError(f"{out_dir} already holds a run; choose a new --out folder")
    model = build_model(config, meta.vocabulary)
    _load_conv_encoder(model, read_units(content, source), source)
    measured = 0
    if calibration:
        audio = calibration_audio(calibration, meta.sample_rate, limit=calibration_utterances)
        measured = calibrate_batch_norm(model, audio)
    notes = () if measured else (
        ("no --calibration: batch-norm statistics are mean 0 / variance 1, fine for "
         "inference, a poor start for training"),)
    if meta.margin:  # an inference setting, not a weight: the run cannot hold it
        notes += (f"{source} is decoded between {meta.margin:g} s of silence (its margin); "
                  f"export this run, or one fine-tuned from it, with `edgeasr export --margin "
                  f"{meta.margin:g}` to keep that",)
    digest = hashlib.sha256(content).hexdigest()
    info = RunInfo(model=config, vocabulary=meta.vocabulary, train={"epochs": 0}, data={},
                   edgeasr_version=meta.edgeasr_version)
    run.path.mkdir(parents=True, exist_ok=True)
    save_checkpoint(model, run.checkpoint_dir(CHECKPOINT), {"epoch": 0, "step": 0}, info)
    run.write_info(info)
    atomic_write_json(run.path / "imported.json", {
        "source": source, "sha256": digest, "quantization": meta.quantization,
        "edgeasr_version": meta.edgeasr_version, "calibration_utterances": measured,
        "margin": meta.margin})
    run.write_state({"epoch": 0, "last": CHECKPOINT, "best": None, "history": []})
    return ImportReport(run.path, source, meta.quantization, parameter_count(model.weights),
                        measured, notes)
