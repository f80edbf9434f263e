"""Language-model files: the compact compiled form, and one loader for every format.

``edgeasr-device lm compile lm.arpa lm.bin`` writes the arrays of an :class:`NgramModel`
as they lie in memory, behind a small JSON header; :func:`load_lm` maps such a file into
memory without parsing anything, so even a model with millions of n-grams is ready in
milliseconds. Layout (little-endian)::

    b"EDGEASR-NGRAM\\n"  uint32 header length  header (UTF-8 JSON)  zero padding to 64
    arrays, each starting on a multiple of 64 bytes, as the header lists them

:func:`load_lm` also reads ARPA text (``.gz`` too), tells the two apart by their first bytes,
and keeps what it loaded per file (path, size and modification time), so the recogniser and
``edgeasr evaluate`` load a model once however many utterances they decode.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
import threading
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import LanguageModelError
from ..vocab import normalize_text
from .arpa import read_arpa_entries
from .ngram import NgramEntries, NgramModel

__all__ = ["MAGIC", "compile_lm", "is_compiled", "load_lm", "lowercase_entries", "save_lm"]

MAGIC = b"EDGEASR-NGRAM\n"
FORMAT_VERSION = 1
_ALIGN = 64
_CACHE: dict[tuple[str, int, int], NgramModel] = {}
_CACHE_LOCK = threading.Lock()


def is_compiled(path: str | os.PathLike) -> bool:
    """True if ``path`` starts like a compiled model file."""
    with open(path, "rb") as handle:
        return handle.read(len(MAGIC)) == MAGIC


def load_lm(path: str | os.PathLike, cache: bool = True) -> NgramModel:
    """The n-gram model in an ARPA or compiled file; loaded once per file while it is
    unchanged (``cache=False`` always reads it again).

    Raises:
        LanguageModelError: the file is missing, unreadable or malformed.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as err:
        raise LanguageModelError(f"language model {path}: {err.strerror or err}") from err
    key = (os.path.realpath(path), stat.st_size, stat.st_mtime_ns)
    if cache:
        with _CACHE_LOCK:
            if key in _CACHE:
                return _CACHE[key]
    if stat.st_size >= len(MAGIC) and is_compiled(path):
        model = _load_compiled(path)
    else:
        model = NgramModel.from_entries(read_arpa_entries(path), source=str(path))
    if cache:
        with _CACHE_LOCK:
            _CACHE[key] = model
    return model


def compile_lm(source: str | os.PathLike, out: str | os.PathLike,
               lowercase: bool = False) -> NgramModel:
    """ARPA file -> compiled file (returns the model). ``lowercase`` folds the words to lower
    case first (for an upper-case LM and a lower-case acoustic model), merging words that
    become equal."""
    entries = read_arpa_entries(source)
    if lowercase:
        entries = lowercase_entries(entries)
    model = NgramModel.from_entries(entries, source=str(source))
    save_lm(model, out)
    return model


def lowercase_entries(entries: list[NgramEntries]) -> list[NgramEntries]:
    """Words lower-cased (special ``<s>``-style tokens kept); where several n-grams become
    the same, the most probable one is kept."""
    out = []
    for entry in entries:
        best: dict[tuple[str, ...], int] = {}
        for i, gram in enumerate(entry.grams):
            folded = tuple(w if w.startswith("<") and w.endswith(">") else normalize_text(w)
                           for w in gram)
            j = best.get(folded)
            if j is None or entry.log10_prob[i] > entry.log10_prob[j]:
                best[folded] = i
        rows = list(best.values())
        out.append(NgramEntries(entry.order, list(best), np.asarray(entry.log10_prob)[rows],
                                np.asarray(entry.log10_backoff)[rows]))
    return out


def save_lm(model: NgramModel, out: str | os.PathLike) -> None:
    """Write ``model`` in the compiled format (replacing ``out`` atomically)."""
    arrays: list[tuple[str, np.ndarray]] = [
        ("words", np.frombuffer("\n".join(model.words).encode("utf-8"), dtype=np.uint8))]
    for n in range(model.order):
        if n:
            arrays.append((f"keys{n + 1}", np.ascontiguousarray(model.keys[n], dtype="<i8")))
        arrays.append((f"log_prob{n + 1}", np.ascontiguousarray(model.log_prob[n], "<f4")))
        arrays.append((f"log_backoff{n + 1}", np.ascontiguousarray(model.log_backoff[n], "<f4")))
    listing, offset = [], 0
    for name, array in arrays:
        listing.append({"name": name, "dtype": array.dtype.str, "offset": offset,
                        "length": int(array.shape[0])})
        offset += _padded(array.nbytes)
    header = json.dumps({"format": FORMAT_VERSION, "order": model.order,
                         "num_words": model.num_words, "counts": list(model.counts),
                         "source": Path(model.source).name, "arrays": listing}).encode()
    start = _padded(len(MAGIC) + 4 + len(header))
    out = Path(out)
    tmp = out.with_name(out.name + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(MAGIC + struct.pack("<I", len(header)) + header)
        handle.write(b"\0" * (start - handle.tell()))
        for _, array in arrays:
            handle.write(array.tobytes())
            handle.write(b"\0" * (_padded(array.nbytes) - array.nbytes))
    os.replace(tmp, out)


def _padded(size: int) -> int:
    return -(-size // _ALIGN) * _ALIGN


def _load_compiled(path: Path) -> NgramModel:
    def bad(what: str) -> LanguageModelError:
        return LanguageModelError(f"{path}: {what}; compile it again with "
                                  "`edgeasr-device lm compile`")

    with open(path, "rb") as handle:
        try:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as err:
            raise LanguageModelError(f"cannot map language model {path}: {err}") from err
    try:
        (length,) = struct.unpack_from("<I", buffer, len(MAGIC))
        header: dict[str, Any] = json.loads(bytes(buffer[len(MAGIC) + 4:len(MAGIC) + 4 + length]))
    except (struct.error, ValueError) as err:
        raise bad(f"the header is damaged ({err})") from None
    if header.get("format") != FORMAT_VERSION:
        raise bad(f"compiled-model format {header.get('format')!r} is not {FORMAT_VERSION}")
    start = _padded(len(MAGIC) + 4 + length)
    found: dict[str, np.ndarray] = {}
    try:
        for item in header["arrays"]:
            dtype = np.dtype(item["dtype"])
            first = start + int(item["offset"])
            if first + int(item["length"]) * dtype.itemsize > len(buffer):
                raise bad("the file is shorter than its header says (truncated?)")
            found[item["name"]] = np.frombuffer(buffer, dtype=dtype, count=int(item["length"]),
                                                offset=first)
        order = int(header["order"])
        words = bytes(found["words"]).decode("utf-8").split("\n")
        keys = [None] + [found[f"keys{n}"] for n in range(2, order + 1)]
        log_prob = [found[f"log_prob{n}"] for n in range(1, order + 1)]
        log_backoff = [found[f"log_backoff{n}"] for n in range(1, order + 1)]
    except (KeyError, TypeError, ValueError) as err:
        raise bad(f"the header does not describe the arrays ({err})") from None
    if len(words) != int(header["num_words"]) or len(log_prob[0]) != len(words):
        raise bad("its word list does not match its arrays")
    return NgramModel(words, keys, log_prob, log_backoff, source=str(path))
