"""Sanity checks on the graph of an untrusted ``.tflite`` file, before an interpreter sees it.

The TFLite interpreter verifies that a file is a well-formed flatbuffer, but it trusts what
the graph says: a tensor declared as ``[1000000, 1000000]`` float32 is allocated (or the
process dies trying), a tensor index past the end of the tensor list is followed. This module
reads the graph with the bounds-checked :class:`~edgeasr_device.flatbuffer.FlatbufferReader`
and refuses, with an :class:`ArtifactError` naming the file, graphs whose

* schema version is newer than the one TFLite reads (3),
* tensors have negative or absurd dimensions, an unknown element type, or more bytes than
  :class:`GraphLimits` allows (alone, or all together),
* constant tensors hold a buffer whose size does not match their shape,
* operators, subgraphs or signatures name tensors, buffers, subgraphs or operator codes that
  do not exist,
* any table, vector or string the interpreter reads (names, quantization parameters,
  operator options, signatures) lies partly outside the file.

The last point matters for tflite-runtime 2.14, which does not verify the flatbuffer before
using it (LiteRT does): there, a corrupt offset would crash the process. Options tables of
operators are checked as tables, and the vectors and strings in them (``_OPTIONS_VECTORS``).

TFLite schema subset (vtable slot in brackets)::

    table Model    { version:uint [0]; operator_codes:[OperatorCode] [1];
                     subgraphs:[SubGraph] [2]; buffers:[Buffer] [4]; metadata:[Metadata] [6]; }
    table SubGraph { tensors:[Tensor] [0]; inputs:[int] [1]; outputs:[int] [2];
                     operators:[Operator] [3]; }
    table Tensor   { shape:[int] [0]; type:byte [1]; buffer:uint [2]; name:string [3];
                     sparsity [6]; shape_signature:[int] [7]; }
    table Operator { opcode_index:uint [0]; inputs:[int] [1]; outputs:[int] [2]; }
    table Buffer   { data:[ubyte] [0]; offset:ulong [1]; size:ulong [2]; }
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from edgeasr_device.errors import ArtifactError
from edgeasr_device.flatbuffer import FlatbufferReader

__all__ = ["MODEL_BUFFERS", "MODEL_METADATA", "SCHEMA_VERSION", "GraphLimits", "GraphSummary",
           "buffer_span", "check_graph", "check_schema_version"]

#: The TFLite schema version every current converter writes (and the interpreter reads).
SCHEMA_VERSION = 3

MODEL_VERSION, MODEL_OPCODES, MODEL_SUBGRAPHS, MODEL_BUFFERS, MODEL_METADATA = 0, 1, 2, 4, 6
_MODEL_DESCRIPTION, _MODEL_METADATA_BUFFER, _MODEL_SIGNATURES = 3, 5, 7
_SG_TENSORS, _SG_INPUTS, _SG_OUTPUTS, _SG_OPERATORS, _SG_NAME = 0, 1, 2, 3, 4
_T_SHAPE, _T_TYPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_SPARSITY, _T_SIGNATURE = 0, 1, 2, 3, 4, 6, 7
_T_VARIANTS = 9
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS_TYPE, _OP_OPTIONS, _OP_CUSTOM = 0, 1, 2, 3, 4, 5
_OP_MUTATING, _OP_INTERMEDIATES, _OP_OPTIONS_2_TYPE, _OP_OPTIONS_2 = 7, 8, 11, 12
_OPCODE_CUSTOM = 1
_SIG_INPUTS, _SIG_OUTPUTS, _SIG_KEY, _SIG_SUBGRAPH = 0, 1, 2, 4
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2
#: (slot, element bytes) of the vectors of QuantizationParameters and SparsityParameters.
_QUANT_VECTORS = ((0, 4), (1, 4), (2, 4), (3, 8))
_SPARSITY_VECTORS = ((0, 4), (1, 4))
#: Operator options (by union type) whose tables hold vectors or strings: (slot, element
#: bytes) of each, from the TFLite schema (strings count as byte vectors).
_OPTIONS_VECTORS: dict[int, tuple[tuple[int, int], ...]] = {
    3: ((1, 4), (2, 4)),            # ConcatEmbeddingsOptions
    8: ((5, 1),),                   # FullyConnectedOptions.quant_spec
    17: ((0, 4),),                  # ReshapeOptions.new_shape
    30: ((0, 4),),                  # SqueezeOptions.squeeze_dims
    111: ((0, 1), (1, 1)),          # VarHandleOptions container, shared_name
    115: ((0, 4),),                 # BucketizeOptions.boundaries
}
_OPTIONS2_VECTORS: dict[int, tuple[tuple[int, int], ...]] = {  # BuiltinOptions2 (StableHLO)
    2: ((0, 8),), 3: ((0, 8), (1, 8), (2, 8)),
    4: ((0, 8), (1, 8), (2, 8), (3, 8), (4, 1), (7, 8), (10, 8), (13, 8), (16, 4)),
    5: ((0, 1), (2, 1), (4, 4), (5, 1)), 6: ((0, 8),), 7: ((1, 8), (2, 8), (3, 8)),
    9: ((0, 8),), 10: ((0, 8), (1, 8), (2, 8)), 12: ((0, 8), (1, 8), (2, 8), (3, 8), (4, 4)),
    13: ((0, 8), (1, 8), (2, 8), (3, 8), (4, 8)), 16: ((0, 8), (1, 8), (2, 8), (4, 8)),
    17: ((0, 8),), 21: ((0, 1), (2, 1)), 23: ((0, 4),),
}

#: Bytes per element of each TFLite TensorType (None: variable or not a plain array).
_ITEM_BYTES: dict[int, float | None] = {
    0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 5: None, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8,
    13: None, 14: None, 15: 4, 16: 2, 17: 0.5, 18: 2,
}


@dataclass(frozen=True)
class GraphLimits:
    """The largest model a device accepts.

    Attributes:
        max_file_bytes: size of the ``.tflite`` file, checked before it is read.
        max_tensor_bytes: one tensor with its declared (static) shape.
        max_total_bytes: all tensors of all subgraphs together (an upper bound on what
            allocating them needs; the interpreter's arena reuses memory, so real use is less).
        max_dims: rank of a tensor.
    """

    max_file_bytes: int = 1 << 31
    max_tensor_bytes: int = 1 << 30
    max_total_bytes: int = 1 << 32
    max_dims: int = 8


@dataclass(frozen=True)
class GraphSummary:
    """What :func:`check_graph` counted."""

    subgraphs: int
    tensors: int
    operators: int
    tensor_bytes: int
    largest_tensor_bytes: int


def check_schema_version(r: FlatbufferReader, root: int) -> None:
    """Refuse a model written for a TFLite schema newer than :data:`SCHEMA_VERSION`."""
    version = r.scalar(root, MODEL_VERSION, "<I")
    if version > SCHEMA_VERSION:
        raise ArtifactError(f"{r.source} uses TFLite schema version {version}, newer than the "
                            f"version {SCHEMA_VERSION} this runtime reads; re-export it with "
                            "`edgeasr export` from a matching edgeasr release")


def buffer_span(r: FlatbufferReader, buffer: int) -> tuple[int, int]:
    """``(start, size)`` of a Buffer table's bytes in the file (inline or at a file offset)."""
    offset = r.scalar(buffer, _BUFFER_OFFSET, "<Q")
    if offset > 1:
        size = r.scalar(buffer, _BUFFER_SIZE, "<Q")
        if offset + size > r.size:
            r.fail(f"buffer at file offset {offset} of {size} bytes is past the end")
        return offset, size
    data = r.field_ref(buffer, _BUFFER_DATA)
    if data is None:
        return 0, 0
    return r.vector_span(data, 1)


def check_graph(model: bytes | memoryview, source: str,
                limits: GraphLimits | None = None) -> GraphSummary:
    """Check the graph of a TFLite file (see the module docstring) without allocating it.

    Raises:
        ArtifactError: naming ``source``, saying what is wrong and what to do.
    """
    limits = limits or GraphLimits()
    if len(model) > limits.max_file_bytes:
        raise ArtifactError(f"{source} is {len(model)} bytes, more than the "
                            f"{limits.max_file_bytes} bytes a model may have here; is it the "
                            "right file?")
    r = FlatbufferReader(model, source)
    if r.size < 8 or bytes(r.buf[4:8]) != b"TFL3":
        raise ArtifactError(f"{source} is not a TFLite model (no 'TFL3' file identifier); "
                            "pass the .tflite file written by `edgeasr export`")
    root = r.table(r.uoffset(0))
    check_schema_version(r, root)
    buffers = r.table_vector(root, MODEL_BUFFERS)
    for buffer in buffers:
        buffer_span(r, buffer)
    opcodes = r.table_vector(root, MODEL_OPCODES)
    for opcode in opcodes:
        r.string(opcode, _OPCODE_CUSTOM)
    n_opcodes = len(opcodes)
    r.string(root, _MODEL_DESCRIPTION)
    r.check_vector(root, _MODEL_METADATA_BUFFER, 4)
    for meta in r.table_vector(root, MODEL_METADATA):
        r.string(meta, 0)
    subgraphs = r.table_vector(root, MODEL_SUBGRAPHS)
    if not subgraphs:
        raise ArtifactError(f"{source} has no subgraph (no network in it); "
                            "re-export it with `edgeasr export`")
    total = largest = n_tensors = n_ops = 0
    _check_signatures(r, root, subgraphs)
    for g, subgraph in enumerate(subgraphs):
        _utf8(r, r.string(subgraph, _SG_NAME), f"subgraph {g}'s name")
        tensors = r.table_vector(subgraph, _SG_TENSORS)
        n_tensors += len(tensors)
        for t, tensor in enumerate(tensors):
            size = _tensor_bytes(r, tensor, buffers, limits, f"subgraph {g} tensor {t}")
            largest = max(largest, size)
            total += size
        where = f"subgraph {g}"
        _check_indices(r, r.int_vector(subgraph, _SG_INPUTS), len(tensors), f"{where} inputs")
        _check_indices(r, r.int_vector(subgraph, _SG_OUTPUTS), len(tensors), f"{where} outputs")
        operators = r.table_vector(subgraph, _SG_OPERATORS)
        n_ops += len(operators)
        for o, op in enumerate(operators):
            code = r.scalar(op, _OP_OPCODE, "<I")
            if code >= n_opcodes:
                _refuse(source, f"{where} operator {o} uses operator code {code} of {n_opcodes}")
            _check_indices(r, r.int_vector(op, _OP_INPUTS), len(tensors), f"{where} op {o}")
            _check_indices(r, r.int_vector(op, _OP_OUTPUTS), len(tensors), f"{where} op {o}")
            _check_indices(r, r.int_vector(op, _OP_INTERMEDIATES), len(tensors),
                           f"{where} op {o}")
            _check_options(r, op, _OP_OPTIONS_TYPE, _OP_OPTIONS, _OPTIONS_VECTORS)
            _check_options(r, op, _OP_OPTIONS_2_TYPE, _OP_OPTIONS_2, _OPTIONS2_VECTORS)
            r.check_vector(op, _OP_CUSTOM, 1)
            r.check_vector(op, _OP_MUTATING, 1)
    if total > limits.max_total_bytes:
        raise ArtifactError(f"{source} declares {total} bytes of tensors, more than the "
                            f"{limits.max_total_bytes} allowed; it is not a model this device "
                            "can run (re-export a smaller one)")
    return GraphSummary(len(subgraphs), n_tensors, n_ops, total, largest)


def _tensor_bytes(r: FlatbufferReader, tensor: int, buffers: list[int], limits: GraphLimits,
                  where: str) -> int:
    """Declared bytes of one tensor, after checking its shape, type and buffer."""
    source = r.source
    _utf8(r, r.string(tensor, _T_NAME), f"{where}'s name")
    quantization = r.table_ref(tensor, _T_QUANT)
    if quantization is not None:
        for slot, size in _QUANT_VECTORS:
            r.check_vector(quantization, slot, size)
        r.table_ref(quantization, 5)  # details (a union of tables)
    sparsity = r.table_ref(tensor, _T_SPARSITY)
    if sparsity is not None:
        for slot, size in _SPARSITY_VECTORS:
            r.check_vector(sparsity, slot, size)
        for dim in r.table_vector(sparsity, 2):
            for slot in (3, 5):  # array_segments, array_indices (unions of vector tables)
                segment = r.table_ref(dim, slot)
                if segment is not None:
                    r.check_vector(segment, 0, 4)
    for variant in r.table_vector(tensor, _T_VARIANTS):
        r.check_vector(variant, 0, 4)
    kind = r.scalar(tensor, _T_TYPE, "<b")
    if kind not in _ITEM_BYTES:
        _refuse(source, f"{where} has tensor type {kind}, unknown to this runtime "
                        "(a newer TFLite?)")
    shape = r.int_vector(tensor, _T_SHAPE) or []
    signature = r.int_vector(tensor, _T_SIGNATURE) or []
    if len(shape) > limits.max_dims or len(signature) > limits.max_dims:
        _refuse(source, f"{where} has {max(len(shape), len(signature))} dimensions")
    if any(d < 0 for d in shape) or any(d < -1 for d in signature):
        _refuse(source, f"{where} has a negative dimension in shape {shape} / {signature}")
    item = _ITEM_BYTES[kind]
    elements = math.prod(shape)
    size = math.ceil(elements * item) if item is not None else 0
    if size > limits.max_tensor_bytes:
        _refuse(source, f"{where} of shape {shape} needs {size} bytes, more than the "
                        f"{limits.max_tensor_bytes} one tensor may have")
    index = r.scalar(tensor, _T_BUFFER, "<I")
    if index >= max(len(buffers), 1):
        _refuse(source, f"{where} refers to buffer {index} of {len(buffers)}")
    if index and buffers:
        _, stored = buffer_span(r, buffers[index])
        sparse = r.field_pos(tensor, _T_SPARSITY) is not None
        if stored and item is not None and not sparse and stored != size:
            _refuse(source, f"{where} of shape {shape} needs {size} bytes but its constant "
                            f"buffer holds {stored}")
    return size


def _check_options(r: FlatbufferReader, op: int, type_slot: int, slot: int,
                   vectors: dict[int, tuple[tuple[int, int], ...]]) -> None:
    """An operator's options table, and the vectors and strings in it."""
    options = r.table_ref(op, slot)
    if options is not None:
        for field, size in vectors.get(r.scalar(op, type_slot, "<B"), ()):
            r.check_vector(options, field, size)


def _check_signatures(r: FlatbufferReader, root: int, subgraphs: list[int]) -> None:
    """Signature defs: names in bounds, tensors and subgraphs that exist."""
    for k, signature in enumerate(r.table_vector(root, _MODEL_SIGNATURES)):
        _utf8(r, r.string(signature, _SIG_KEY), f"signature {k}'s key")
        index = r.scalar(signature, _SIG_SUBGRAPH, "<I")
        if index >= len(subgraphs):
            _refuse(r.source, f"signature {k} names subgraph {index} of {len(subgraphs)}")
        n_tensors = len(r.table_vector(subgraphs[index], _SG_TENSORS))
        for slot in (_SIG_INPUTS, _SIG_OUTPUTS):
            for entry in r.table_vector(signature, slot):
                _utf8(r, r.string(entry, 0), f"a name in signature {k}")
                if r.scalar(entry, 1, "<I") >= n_tensors:
                    _refuse(r.source, f"signature {k} names tensor "
                                      f"{r.scalar(entry, 1, '<I')} of {n_tensors}")


def _check_indices(r: FlatbufferReader, indices: list[int] | None, n_tensors: int,
                   where: str) -> None:
    for i in indices or ():
        if not -1 <= i < n_tensors:
            _refuse(r.source, f"{where} names tensor {i} of {n_tensors}")


def _utf8(r: FlatbufferReader, raw: bytes | None, what: str) -> None:
    """Names the interpreter hands to Python must decode as UTF-8."""
    if raw is not None:
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            _refuse(r.source, f"{what} is not UTF-8 text")


def _refuse(source: str, why: str) -> None:
    raise ArtifactError(f"{source} is not a usable TFLite model ({why}); re-export it with "
                        "`edgeasr export` or re-copy the file")
