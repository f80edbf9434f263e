"""edgeasr metadata embedded in TFLite model files.

``edgeasr export`` stores a UTF-8 JSON document (:class:`ArtifactMetadata`) in
a TFLite buffer and names it ``"edgeasr"`` in the model's ``metadata`` list.
This module reads it back without TensorFlow or the ``flatbuffers`` package:
:func:`read_tflite_metadata` reads it with a bounds-checked FlatBuffers reader for
the few TFLite schema fields involved.

TFLite schema subset (vtable slot in brackets)::

    table Model    { version:uint [0]; ... buffers:[Buffer] [4]; metadata:[Metadata] [6]; }
    table Buffer   { data:[ubyte] [0]; offset:ulong [1]; size:ulong [2]; }
    table Metadata { name:string [0]; buffer:uint [1]; }

A Buffer with ``offset > 1`` keeps its bytes at that absolute file offset,
after the flatbuffer (models larger than 2 GB).
"""

from __future__ import annotations

import json
import math
import mmap
import os
from dataclasses import dataclass
from typing import Union

from .errors import ArtifactError, VocabularyError
from .flatbuffer import FlatbufferReader
from .tflite_graph import MODEL_BUFFERS, MODEL_METADATA, buffer_span, check_schema_version
from .vocab import PIECES, Vocabulary

__all__ = [
    "FORMAT_VERSION",
    "METADATA_NAME",
    "PIECES_FORMAT_VERSION",
    "STREAMING_FORMAT_VERSION",
    "ArtifactMetadata",
    "format_version_for",
    "read_metadata",
    "read_tflite_metadata",
]

METADATA_NAME = "edgeasr"
#: Longest silence margin a file may ask for (seconds): more is a broken or hostile file.
MAX_MARGIN = 5.0
FORMAT_VERSION = 1
#: Files with a ``streaming`` entry (chunked graphs) are format 2: a reader that knows only
#: format 1 refuses them ("made by a newer edgeasr") instead of misreading them; ordinary
#: files stay format 1, so older readers keep reading those.
STREAMING_FORMAT_VERSION = 2
#: Files whose vocabulary is SentencePiece pieces (streaming or not) are format 3, for the
#: same reason: a format-2 reader would join the pieces as characters.
PIECES_FORMAT_VERSION = 3
_READABLE_VERSION = PIECES_FORMAT_VERSION

_IDENTIFIER = b"TFL3"
_METADATA_NAME, _METADATA_BUFFER = 0, 1

_FIELDS: dict[str, type | tuple[type, ...]] = {
    "edgeasr_version": str, "vocabulary": dict, "sample_rate": int,
    "frame_duration": (int, float), "frontend": dict, "model": dict,
    "quantization": str, "created": str,
}

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview]


def format_version_for(vocabulary: Vocabulary, streaming: bool) -> int:
    """The format a file with this vocabulary (and a streaming graph, or not) is written in:
    the oldest whose readers understand it."""
    if vocabulary.kind == PIECES:
        return PIECES_FORMAT_VERSION
    return STREAMING_FORMAT_VERSION if streaming else FORMAT_VERSION


@dataclass(frozen=True)
class ArtifactMetadata:
    """What the device runtime needs to know about an exported model.

    Attributes:
        format_version: version of this metadata layout (``FORMAT_VERSION``).
        edgeasr_version: version of edgeasr that exported the model.
        vocabulary: output classes of the model.
        sample_rate: audio rate in Hz the model's front end expects.
        frame_duration: seconds of audio per output frame.
        frontend: feature front-end configuration (JSON object).
        model: model description (JSON object: architecture, input/output info).
        quantization: e.g. ``"float32"``, ``"dynamic"``, ``"int8"``.
        created: ISO 8601 time of export.
        streaming: chunk geometry and state shapes of a streaming graph
            (``edgeasr_device.streaming_model.StreamingSpec.to_dict``), None otherwise.
        tokenizer: for a piece vocabulary, the training side's tokenizer
            (``{"kind": "sentencepiece", "model": base64 of the model file}``), which
            ``edgeasr evaluate`` uses for the token error rate; the device never reads it.
        margin: seconds of silence the model is decoded between by default
            (:mod:`edgeasr_device.margin`; ``edgeasr export --margin``); 0 when absent, so
            files from before it decode as they did.
    """

    format_version: int
    edgeasr_version: str
    vocabulary: Vocabulary
    sample_rate: int
    frame_duration: float
    frontend: dict
    model: dict
    quantization: str
    created: str
    streaming: dict | None = None
    tokenizer: dict | None = None
    margin: float = 0.0

    def to_json(self) -> bytes:
        """UTF-8 JSON bytes; ``vocabulary`` is stored via ``Vocabulary.to_dict``."""
        doc = {"format_version": self.format_version, "edgeasr_version": self.edgeasr_version,
               "vocabulary": self.vocabulary.to_dict(), "sample_rate": self.sample_rate,
               "frame_duration": self.frame_duration, "frontend": self.frontend,
               "model": self.model, "quantization": self.quantization,
               "created": self.created}
        if self.streaming is not None:
            doc["streaming"] = self.streaming
        if self.tokenizer is not None:
            doc["tokenizer"] = self.tokenizer
        if self.margin:
            doc["margin"] = self.margin
        return json.dumps(doc, ensure_ascii=False, sort_keys=True, allow_nan=False).encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, source: str) -> ArtifactMetadata:
        """Parse :meth:`to_json` output; ``source`` names the file in errors.

        Raises:
            ArtifactError: if the JSON is invalid, a key is missing or has the
                wrong type, or ``format_version`` is not supported.
        """
        try:
            doc = json.loads(bytes(data).decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise ArtifactError(f"{source} has corrupt edgeasr metadata (not UTF-8 JSON: "
                                f"{exc}); re-export it with `edgeasr export`") from exc
        if not isinstance(doc, dict):
            raise ArtifactError(f"{source} has corrupt edgeasr metadata (a JSON "
                                f"{type(doc).__name__}, not an object); re-export it")
        version = doc.get("format_version")
        if isinstance(version, bool) or not isinstance(version, int):
            raise ArtifactError(f"{source} has edgeasr metadata without an integer "
                                f"format_version (got {version!r}); re-export it")
        if version > _READABLE_VERSION:
            raise ArtifactError(f"{source} was made by a newer edgeasr (format {version}); "
                                f"upgrade edgeasr-device (it reads format {_READABLE_VERSION})")
        if version < 1:
            raise ArtifactError(f"{source} has an invalid metadata format_version {version}; "
                                "re-export it with `edgeasr export`")
        missing = [k for k in _FIELDS if k not in doc]
        if missing:
            raise ArtifactError(f"{source} has incomplete edgeasr metadata (missing "
                                f"{', '.join(missing)}); re-export it with `edgeasr export`")
        for key, kind in _FIELDS.items():
            value = doc[key]
            if isinstance(value, bool) or not isinstance(value, kind):
                raise ArtifactError(f"{source} has invalid edgeasr metadata: {key} = {value!r}; "
                                    "re-export it with `edgeasr export`")
        if doc["sample_rate"] <= 0 or not 0 < doc["frame_duration"] < math.inf:
            raise ArtifactError(f"{source} has invalid edgeasr metadata: sample_rate "
                                f"{doc['sample_rate']!r} and frame_duration "
                                f"{doc['frame_duration']!r} must be positive and finite; re-export it")
        try:
            vocabulary = Vocabulary.from_dict(doc["vocabulary"])
        except VocabularyError as exc:
            raise ArtifactError(f"{source} has an invalid vocabulary in its edgeasr metadata "
                                f"({exc}); re-export it") from exc
        streaming = doc.get("streaming")
        if not isinstance(streaming, (dict, type(None))) or \
                version != format_version_for(vocabulary, streaming is not None):
            raise ArtifactError(f"{source} has invalid edgeasr metadata: format {version} "
                                f"with streaming = {streaming!r} and a {vocabulary.kind} "
                                "vocabulary; re-export it")
        tokenizer = doc.get("tokenizer")
        if not isinstance(tokenizer, (dict, type(None))):
            raise ArtifactError(f"{source} has invalid edgeasr metadata: tokenizer = "
                                f"{tokenizer!r}; re-export it")
        margin = doc.get("margin", 0.0)
        if isinstance(margin, bool) or not isinstance(margin, (int, float)) \
                or not 0 <= margin <= MAX_MARGIN:
            raise ArtifactError(f"{source} has invalid edgeasr metadata: margin = {margin!r} "
                                f"(seconds, 0-{MAX_MARGIN:g}); re-export it")
        return cls(format_version=version, edgeasr_version=doc["edgeasr_version"],
                   vocabulary=vocabulary, sample_rate=doc["sample_rate"],
                   frame_duration=float(doc["frame_duration"]), frontend=doc["frontend"],
                   model=doc["model"], quantization=doc["quantization"],
                   created=doc["created"], streaming=streaming, tokenizer=tokenizer,
                   margin=float(margin))


def read_metadata(path_or_bytes: Source, source: str | None = None) -> ArtifactMetadata:
    """Read the edgeasr metadata of a ``.tflite`` file (path) or of its bytes.

    Files are memory-mapped, so large models are not read into memory.

    Raises:
        ArtifactError: naming the file if it is missing, not a TFLite model,
            has no ``"edgeasr"`` metadata, or the metadata is invalid.
    """
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        name = source or "<bytes>"
        entries = read_tflite_metadata(path_or_bytes, source=name)
    else:
        path = os.fspath(path_or_bytes)
        name = source or path
        entries = _read_file_metadata(path, name)
    if METADATA_NAME not in entries:
        raise ArtifactError(f"{name} has no edgeasr metadata: it was not exported by "
                            "`edgeasr export` (re-export it)")
    return ArtifactMetadata.from_json(entries[METADATA_NAME], name)


def read_tflite_metadata(model: bytes | bytearray | memoryview | mmap.mmap,
                         source: str = "<bytes>") -> dict[str, bytes]:
    """Return the ``metadata`` entries of a TFLite flatbuffer as ``{name: bytes}``.

    Raises:
        ArtifactError: naming ``source`` if the data is not a TFLite model or
            is truncated (every read is bounds-checked).
    """
    r = FlatbufferReader(model, source)
    if r.size < 8 or bytes(r.buf[4:8]) != _IDENTIFIER:
        raise ArtifactError(f"{source} is not a TFLite model (no 'TFL3' file identifier); "
                            "pass the .tflite file written by `edgeasr export`")
    root = r.uoffset(0)
    check_schema_version(r, root)
    buffers = r.table_vector(root, MODEL_BUFFERS)
    entries: dict[str, bytes] = {}
    for meta in r.table_vector(root, MODEL_METADATA):
        name_pos = r.field_ref(meta, _METADATA_NAME)
        if name_pos is None:
            continue
        try:
            name = r.vector_bytes(name_pos, 1).decode("utf-8")
        except UnicodeDecodeError:
            r.fail("a metadata name is not UTF-8")
        index = r.scalar(meta, _METADATA_BUFFER, "<I")
        if index >= len(buffers):
            r.fail(f"metadata {name!r} points at buffer {index} of {len(buffers)}")
        start, size = buffer_span(r, buffers[index])
        entries[name] = bytes(r.buf[start:start + size])
    return entries


def _read_file_metadata(path: str, name: str) -> dict[str, bytes]:
    if os.path.isdir(path):
        raise ArtifactError(f"{name} is a directory, not a .tflite model file")
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise ArtifactError(f"{name} is not a TFLite model (the file is empty); "
                                    "re-export it with `edgeasr export`")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                return read_tflite_metadata(mm, source=name)
    except FileNotFoundError as exc:
        raise ArtifactError(f"{name}: no such model file; check the path") from exc
    except OSError as exc:
        raise ArtifactError(f"{name} cannot be read ({exc.strerror or exc})") from exc
