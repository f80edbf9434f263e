"""Settings of the Wyoming server, and the limits each connection works within."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DEFAULT_URI", "ServerOptions"]

#: Loopback only: another machine (Home Assistant elsewhere) needs ``tcp://0.0.0.0:10300``.
DEFAULT_URI = "tcp://127.0.0.1:10300"


@dataclass(frozen=True)
class ServerOptions:
    """How ``edgeasr-device serve`` answers, and what it accepts from one connection.

    Attributes:
        uri: where to listen: ``tcp://HOST:PORT``, ``unix:///path`` or ``stdio://``.
        streaming: send ``transcript-start``/``transcript-chunk`` while audio arrives (and
            advertise ``supports_transcript_streaming``).
        partial_every: seconds of new audio between partial transcripts.
        max_audio_seconds: audio one utterance may have (at the rate it declares); more is
            refused with an error and the connection is closed.
        max_header_bytes: the JSON line that starts an event (asyncio's stream limit).
        max_data_bytes: the extra JSON data of one event (``data_length``).
        max_payload_bytes: the payload of one event (``payload_length``): one audio chunk.
        idle_timeout: seconds a connection may stay silent (or take to send one event).
        max_connections: connections served at once; more are told the server is busy.
        workers: recognisers (interpreters) that decode in parallel threads.
        language: language advertised and returned; None: from the model (else "en").
        name: model name advertised; None: the model file's name.
    """

    uri: str = DEFAULT_URI
    streaming: bool = True
    partial_every: float = 0.4
    max_audio_seconds: float = 30.0
    max_header_bytes: int = 64 * 1024
    max_data_bytes: int = 64 * 1024
    max_payload_bytes: int = 1 << 20
    idle_timeout: float = 60.0
    max_connections: int = 32
    workers: int = 1
    language: str | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
