"""Activation ranges shared between the whole-utterance and the chunked int8 graph.

Calibrated separately, the two graphs of one model get different int8 scales even though
they compute the same frames: the chunked graph also computes outputs at positions just
before and after the utterance (from its zero state at the start, from the flush at the
end), which its frame masks then zero before the next convolution. Those outputs widen
the calibrated range of every convolution's output, so the chunked int8 model rounds more
coarsely there and its transcripts drift from the whole-file model's.

The fix: calibrate both graphs on the same audio and give each convolution and residual
output of the chunked graph the range the whole graph measured for it. The encoder names
its folded convolutions by a ``fold_`` scope (:func:`edgeasr.models.encoders.conv.fold_scope`)
in both graphs, so a convolution is matched by scope and op type, not by position, and a
residual ADD by the convolutions that feed it (through reshapes: the converter names fused
ops differently in the two graphs). Tensors without a match keep their own range (the
masks, states and concatenations already agree).
"""

from __future__ import annotations

import re

_SCOPE = re.compile(r"(?:^|/)(fold_\w+?)/")

RangeKey = tuple[str, tuple[str, ...]]


def _model(calibrated: bytes):
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.convert_bytearray_to_object(bytearray(calibrated))


def _op_names() -> dict[int, str]:
    from tensorflow.lite.python import schema_py_generated as schema

    return {v: k for k, v in vars(schema.BuiltinOperator).items() if not k.startswith("_")}


#: Ops that only reshape: a residual ADD is traced back through them to its convolutions.
_RESHAPES = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")


def _matched_outputs(model):
    """(key, tensor) for each matched op's output in the main subgraph: a convolution by
    (op type, its fold scopes), an ADD of convolutions by ("ADD", their scopes)."""
    names = _op_names()
    graph = model.subgraphs[0]
    producer: dict[int, tuple[str, tuple[str, ...]]] = {}  # tensor -> (op type, scopes)
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        kind = names.get(max(code.builtinCode, code.deprecatedBuiltinCode), "")
        if len(op.outputs) != 1:
            continue
        out = op.outputs[0]
        tensor = graph.tensors[out]
        if kind in _RESHAPES and op.inputs[0] in producer:
            producer[out] = producer[op.inputs[0]]
        elif kind in ("CONV_2D", "DEPTHWISE_CONV_2D"):
            scopes = _scopes(tensor.name)
            if scopes:
                producer[out] = (kind, scopes)
                yield (kind, scopes), tensor
        elif kind == "ADD":
            sources = [producer.get(i) for i in op.inputs]
            if all(s is not None and s[0] == "CONV_2D" for s in sources):
                yield ("ADD", tuple(sorted(x for s in sources for x in s[1]))), tensor


def _scopes(name) -> tuple[str, ...]:
    name = name.decode() if isinstance(name, bytes) else str(name)
    return tuple(sorted({m for part in name.split(";") for m in _SCOPE.findall(part)}))


def output_scales(content: bytes) -> dict[RangeKey, float]:
    """Key -> int8 scale of each matched op's output in a quantised model (diagnostics)."""
    return {key: float(tensor.quantization.scale[0])
            for key, tensor in _matched_outputs(_model(content))
            if tensor.quantization is not None and tensor.quantization.scale is not None}


def activation_ranges(calibrated: bytes) -> dict[RangeKey, tuple[float, float]]:
    """(op type, fold scopes) -> (min, max) from a calibrated float model (the converter's
    ``_experimental_calibrate_only`` output); keys seen twice are dropped as ambiguous."""
    found: dict[RangeKey, tuple[float, float]] = {}
    twice: set[RangeKey] = set()
    for key, tensor in _matched_outputs(_model(calibrated)):
        q = tensor.quantization
        if q is None or q.min is None or q.max is None or len(q.min) != 1:
            continue
        if key in found:
            twice.add(key)
        found[key] = (float(q.min[0]), float(q.max[0]))
    return {k: v for k, v in found.items() if k not in twice}


def apply_ranges(calibrated: bytes, ranges: dict[RangeKey, tuple[float, float]]
                 ) -> tuple[bytes, int]:
    """``calibrated`` with each matched output's range replaced from ``ranges``; returns the
    new model and the number of tensors changed."""
    import numpy as np
    from tensorflow.lite.tools import flatbuffer_utils

    model = _model(calibrated)
    changed = 0
    for key, tensor in _matched_outputs(model):
        if key in ranges and tensor.quantization is not None:
            low, high = ranges[key]
            tensor.quantization.min = np.array([low], np.float32)
            tensor.quantization.max = np.array([high], np.float32)
            changed += 1
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model)), changed
