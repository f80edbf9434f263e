"""Embed edgeasr metadata in a TFLite flatbuffer (the device reads it back without TensorFlow)."""

from __future__ import annotations

import numpy as np
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

from edgeasr_device.artifact import METADATA_NAME, ArtifactMetadata


def embed_metadata(model: bytes, metadata: ArtifactMetadata) -> bytes:
    """Return ``model`` with ``metadata`` stored as the ``edgeasr`` entry of Model.metadata.

    An existing ``edgeasr`` entry is replaced, so re-embedding is idempotent.
    """
    flat = flatbuffer_utils.read_model_from_bytearray(bytearray(model))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(metadata.to_json(), dtype=np.uint8)
    flat.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_NAME
    entry.buffer = len(flat.buffers) - 1
    kept = [m for m in (flat.metadata or []) if _name(m) != METADATA_NAME]
    flat.metadata = [*kept, entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(flat))


def _name(entry) -> str:
    return entry.name.decode() if isinstance(entry.name, bytes) else entry.name
