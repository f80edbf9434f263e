"""Reading Wyoming events from an untrusted peer, within :class:`ServerOptions` limits.

The ``wyoming`` package's own reader trusts the lengths a peer declares: an event that
announces a 4 GB payload is read until 4 GB have arrived. :func:`read_event` reads the same
wire format (a JSON header line, then ``data_length`` bytes of JSON, then ``payload_length``
bytes) but checks every length against the limits first, and turns malformed input into a
:class:`ProtocolError` instead of an exception from deep inside ``json`` or ``asyncio``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from wyoming.event import Event

from edgeasr_device.wyoming.options import ServerOptions

__all__ = ["ProtocolError", "read_event"]


class ProtocolError(Exception):
    """The peer broke the protocol; ``code`` is sent back in the ``error`` event."""

    def __init__(self, text: str, code: str = "protocol-error"):
        super().__init__(text)
        self.text = text
        self.code = code


async def read_event(reader: asyncio.StreamReader, options: ServerOptions) -> Event | None:
    """The next event, or None at the end of the stream.

    Raises:
        ProtocolError: an oversized or malformed event (the connection should be closed:
            the stream position is no longer known).
    """
    try:
        line = await reader.readline()
    except (ValueError, asyncio.LimitOverrunError) as err:
        raise ProtocolError(f"event header longer than {options.max_header_bytes} bytes",
                            "event-too-large") from err
    if not line:
        return None
    if len(line) > options.max_header_bytes:
        raise ProtocolError(f"event header longer than {options.max_header_bytes} bytes",
                            "event-too-large")
    if not line.endswith(b"\n"):
        return None  # the peer closed the connection in the middle of a header
    header = _json_object(line, "event header")
    kind = header.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > 64:
        raise ProtocolError("event header without a valid 'type'")
    data = header.get("data", {})
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ProtocolError(f"{kind}: 'data' must be a JSON object")
    data_length = _length(header, "data_length", options.max_data_bytes, kind)
    payload_length = _length(header, "payload_length", options.max_payload_bytes, kind)
    try:
        if data_length:
            extra = _json_object(await reader.readexactly(data_length), f"{kind} data")
            data = {**data, **extra}
        payload = await reader.readexactly(payload_length) if payload_length else None
    except asyncio.IncompleteReadError:
        return None  # closed mid-event
    return Event(type=kind, data=data, payload=payload)


def _json_object(raw: bytes, what: str) -> dict[str, Any]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError) as err:
        raise ProtocolError(f"{what} is not valid JSON") from err
    if not isinstance(value, dict):
        raise ProtocolError(f"{what} is not a JSON object")
    return value


def _length(header: dict[str, Any], key: str, limit: int, kind: str) -> int:
    value = header.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ProtocolError(f"{kind}: {key} must be a non-negative integer")
    if value > limit:
        raise ProtocolError(f"{kind}: {key} {value} is more than the {limit} bytes allowed",
                            "event-too-large")
    return value
