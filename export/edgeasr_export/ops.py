"""Which TFLite operators a model uses, and a guard that admits builtin ops only.

The Pi runtimes (ai-edge-litert, tflite-runtime) cannot run Flex (TensorFlow) ops or custom
ops, so an artifact that needs one must never leave the exporter.
"""

from __future__ import annotations

from tensorflow.lite.tools import flatbuffer_utils

from edgeasr_export.errors import ExportError

_CUSTOM = 32  # BuiltinOperator.CUSTOM in the TFLite schema


def list_ops(model: bytes) -> list[str]:
    """Sorted operator names used by ``model`` (custom ops as ``CUSTOM:<name>``)."""
    flat = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    names = set()
    for code in flat.operatorCodes:
        builtin = max(code.builtinCode, code.deprecatedBuiltinCode)
        if builtin == _CUSTOM:
            custom = code.customCode.decode() if isinstance(code.customCode, bytes) else code.customCode
            names.add(f"CUSTOM:{custom}")
        else:
            names.add(flatbuffer_utils.opcode_to_name(flat, flat.operatorCodes.index(code)))
    return sorted(names)


def check_builtin_ops(model: bytes) -> list[str]:
    """Return the op list; raise ExportError naming any Flex or custom op."""
    ops = list_ops(model)
    foreign = [op for op in ops if op.startswith("CUSTOM:")]
    if foreign:
        raise ExportError(
            "the converted model needs ops the Pi runtimes cannot run: "
            + ", ".join(op.removeprefix("CUSTOM:") for op in foreign)
            + ". Rewrite the layer that produces them with keras.ops that have builtin TFLite "
            "kernels (docs/toolchain.md: e.g. use expand_dims instead of x[..., None])."
        )
    return ops
