"""A bounds-checked reader for FlatBuffers tables, enough for the TFLite schema.

Model files may come from anywhere (a download, a copied SD card), so every read is checked
against the end of the buffer and a bad offset becomes an :class:`ArtifactError` naming the
file, never an ``IndexError`` or a ``struct.error``. Used by :mod:`edgeasr_device.artifact`
(metadata) and :mod:`edgeasr_device.tflite_graph` (tensor shapes and sizes).

FlatBuffers layout in brief: a table starts with a signed offset back to its vtable; the
vtable lists, per field slot, the field's offset inside the table (0: absent). Vectors are
a uint32 length followed by their elements; references are uint32 offsets relative to the
position they are stored at.
"""

from __future__ import annotations

import struct
from typing import Any, NoReturn

from edgeasr_device.errors import ArtifactError

__all__ = ["FlatbufferReader"]


class FlatbufferReader:
    """Bounds-checked access to the FlatBuffers tables in ``buf`` (bytes, memoryview, mmap).

    Args:
        buf: the whole file.
        source: the file's name in error messages.
    """

    def __init__(self, buf: Any, source: str) -> None:
        self.buf = buf
        self.size = len(buf)
        self.source = source
        self._tables: set[int] = set()

    def fail(self, why: str) -> NoReturn:
        raise ArtifactError(f"{self.source} is not a TFLite model or is truncated ({why}); "
                            "re-export it with `edgeasr export` or re-copy the file")

    def unpack(self, fmt: str, pos: int) -> int:
        n = struct.calcsize(fmt)
        if pos < 0 or pos + n > self.size:
            self.fail(f"read of {n} bytes at offset {pos} is past the end ({self.size} bytes)")
        return struct.unpack_from(fmt, self.buf, pos)[0]

    def uoffset(self, pos: int) -> int:
        """Follow the uoffset_t stored at ``pos``."""
        return pos + self.unpack("<I", pos)

    def table(self, pos: int) -> int:
        """``pos`` after checking that a whole table lies there: its vtable, its inline size
        and every field offset the vtable lists are inside the buffer."""
        if pos in self._tables:
            return pos
        vtable = pos - self.unpack("<i", pos)
        vt_size = self.unpack("<H", vtable)
        obj_size = self.unpack("<H", vtable + 2)
        if vt_size < 4 or vt_size % 2 or vtable + vt_size > self.size:
            self.fail(f"bad vtable size {vt_size} at offset {vtable}")
        if obj_size < 4 or pos + obj_size > self.size:
            self.fail(f"table of {obj_size} bytes at offset {pos} runs past the end")
        for entry in range(4, vt_size, 2):
            rel = self.unpack("<H", vtable + entry)
            if rel and rel + 1 > obj_size:
                self.fail(f"field at {rel} outside its {obj_size}-byte table at offset {pos}")
        self._tables.add(pos)
        return pos

    def table_ref(self, table: int, slot: int) -> int | None:
        """The (checked) table field ``slot`` refers to, or None."""
        ref = self.field_ref(table, slot)
        return None if ref is None else self.table(ref)

    def string(self, table: int, slot: int) -> bytes | None:
        """The string field ``slot`` (without its terminating zero), or None."""
        ref = self.field_ref(table, slot)
        return None if ref is None else self.vector_bytes(ref, 1)

    def check_vector(self, table: int, slot: int, elem_size: int) -> None:
        """Check that vector field ``slot`` (if present) lies inside the buffer."""
        ref = self.field_ref(table, slot)
        if ref is not None:
            self.vector_span(ref, elem_size)

    def field_pos(self, table: int, slot: int) -> int | None:
        """Absolute position of field ``slot`` of ``table``, or None if absent (tables from
        :meth:`table`, :meth:`table_ref` or :meth:`table_vector` are checked whole)."""
        vtable = table - self.unpack("<i", table)
        vt_size = self.unpack("<H", vtable)
        if vt_size < 4 or vt_size % 2:
            self.fail(f"bad vtable size {vt_size} at offset {vtable}")
        entry = 4 + 2 * slot
        if entry + 2 > vt_size:
            return None
        rel = self.unpack("<H", vtable + entry)
        return table + rel if rel else None

    def field_ref(self, table: int, slot: int) -> int | None:
        """Position of the table, vector or string field ``slot`` refers to, or None."""
        pos = self.field_pos(table, slot)
        return None if pos is None else self.uoffset(pos)

    def scalar(self, table: int, slot: int, fmt: str, default: int = 0) -> int:
        """Scalar field ``slot`` (``struct`` format ``fmt``), or ``default`` if absent."""
        pos = self.field_pos(table, slot)
        return default if pos is None else self.unpack(fmt, pos)

    def vector_span(self, vec: int, elem_size: int) -> tuple[int, int]:
        """``(first_element_pos, length)`` of the vector at ``vec``."""
        length = self.unpack("<I", vec)
        if vec + 4 + length * elem_size > self.size:
            self.fail(f"vector of {length} elements at offset {vec} runs past the end")
        return vec + 4, length

    def vector_bytes(self, vec: int, elem_size: int) -> bytes:
        start, length = self.vector_span(vec, elem_size)
        return bytes(self.buf[start:start + length * elem_size])

    def table_vector(self, table: int, slot: int) -> list[int]:
        """Positions of the tables in the vector field ``slot`` (empty if absent)."""
        vec = self.field_ref(table, slot)
        if vec is None:
            return []
        start, length = self.vector_span(vec, 4)
        return [self.table(self.uoffset(start + 4 * i)) for i in range(length)]

    def int_vector(self, table: int, slot: int) -> list[int] | None:
        """The ``[int]`` (int32) vector field ``slot``, or None if absent."""
        vec = self.field_ref(table, slot)
        if vec is None:
            return None
        start, length = self.vector_span(vec, 4)
        return list(struct.unpack_from(f"<{length}i", self.buf, start))
