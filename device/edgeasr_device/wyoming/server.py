"""The Wyoming ASR service: recognisers, worker threads, connection limits, ``info``, zeroconf.

>>> service = AsrService([Recognizer("model.tflite")], ServerOptions(), name="model")
>>> asyncio.run(serve(service))                      # until SIGTERM / Ctrl-C
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urlparse

from wyoming.error import Error
from wyoming.event import Event, async_write_event
from wyoming.info import AsrModel, AsrProgram, Attribution, Info
from wyoming.server import AsyncEventHandler, AsyncServer

from edgeasr_device import __version__
from edgeasr_device.errors import EdgeAsrError
from edgeasr_device.wyoming.handler import AsrHandler
from edgeasr_device.wyoming.options import ServerOptions

__all__ = ["AsrService", "Worker", "build_info", "model_language", "serve", "start"]

_LOG = logging.getLogger("edgeasr_device.wyoming")
_ATTRIBUTION = Attribution(name="edgeasr", url="https://pypi.org/project/edgeasr-device/")


class Worker:
    """One recogniser and the single thread that runs it (TFLite interpreters are not
    thread-safe; a cancelled request still finishes in its thread before the next starts)."""

    def __init__(self, recognizer: Any, index: int):
        self.recognizer = recognizer
        self._executor = ThreadPoolExecutor(max_workers=1,
                                            thread_name_prefix=f"edgeasr-worker-{index}")

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def model_language(recognizer: Any, default: str = "en") -> str:
    """The language a model's metadata states (``language`` in its model or vocabulary
    section), else ``default``."""
    metadata = getattr(recognizer, "metadata", None)
    for place in (getattr(metadata, "language", None),
                  (getattr(metadata, "model", None) or {}).get("language"),
                  (getattr(metadata, "frontend", None) or {}).get("language")):
        if isinstance(place, str) and place:
            return place
    return default


def build_info(name: str, language: str, recognizer: Any, streaming: bool) -> Info:
    """The ``info`` answer: one ASR program with one model."""
    metadata = getattr(recognizer, "metadata", None)
    quantization = getattr(metadata, "quantization", None)
    described = f"edgeasr CTC model {name}" + (f" ({quantization})" if quantization else "")
    model = AsrModel(name=name, attribution=_ATTRIBUTION, installed=True,
                     description=described,
                     version=getattr(metadata, "edgeasr_version", None),
                     languages=[language])
    program = AsrProgram(name="edgeasr", attribution=_ATTRIBUTION, installed=True,
                         description="On-device speech recognition with edgeasr models",
                         version=__version__, models=[model],
                         supports_transcript_streaming=streaming)
    return Info(asr=[program])


class AsrService:
    """What every connection shares: the workers, the ``info`` event and the counters.

    Args:
        recognizers: one per worker (``ServerOptions.workers``); connections are spread over
            them in turn.
        options: limits and behaviour.
        name: model name in ``info`` (default: ``options.name`` or "edgeasr").
    """

    def __init__(self, recognizers: Sequence[Any], options: ServerOptions,
                 name: str | None = None):
        if not recognizers:
            raise ValueError("AsrService needs at least one recognizer")
        self.options = options
        self.workers = [Worker(r, i) for i, r in enumerate(recognizers)]
        self._turn = itertools.cycle(self.workers)
        self.name = options.name or name or "edgeasr"
        self.language = options.language or model_language(recognizers[0])
        self.info_event: Event = build_info(self.name, self.language, recognizers[0],
                                            options.streaming).event()
        self.active = 0
        self.connections = 0
        self.refused = 0
        self.utterances = 0
        self.audio_seconds = 0.0

    def next_worker(self) -> Worker:
        return next(self._turn)

    def handler_factory(self, reader: asyncio.StreamReader,
                        writer: asyncio.StreamWriter) -> AsyncEventHandler:
        """A handler for a new connection (or a refusal when ``max_connections`` are open)."""
        self.connections += 1
        if self.active >= self.options.max_connections:
            self.refused += 1
            return _Busy(reader, writer, self.options.max_connections)
        self.active += 1
        return AsrHandler(reader, writer, self)

    def connection_closed(self, handler: AsrHandler) -> None:
        self.active -= 1

    def utterance_done(self, seconds: float) -> None:
        self.utterances += 1
        self.audio_seconds += seconds

    def close(self) -> None:
        for worker in self.workers:
            worker.close()


class _Busy(AsyncEventHandler):
    """Tells a connection over the limit that the server is busy, and closes it."""

    def __init__(self, reader, writer, limit: int):
        super().__init__(reader, writer)
        self.limit = limit

    async def run(self) -> None:
        try:
            await async_write_event(Error(text=f"server busy: {self.limit} connections are "
                                          "open; try again", code="busy").event(), self.writer)
        except (ConnectionError, OSError):
            pass
        finally:
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        return False


async def start(service: AsrService) -> AsyncServer:
    """Start listening on ``service.options.uri`` and return the running server
    (``await server.stop()`` ends it)."""
    server = _server_for(service.options.uri)
    await server.start(service.handler_factory)
    return server


async def serve(service: AsrService, zeroconf_name: str | None = None,
                ready: Callable[[], None] | None = None) -> None:
    """Serve until stopped (SIGTERM, Ctrl-C). With ``zeroconf_name`` (may be "": the
    machine's MAC address) register ``_wyoming._tcp.local.`` so Home Assistant finds it."""
    server = _server_for(service.options.uri)
    if zeroconf_name is not None:
        await register_zeroconf(service.options.uri, zeroconf_name)
    _LOG.info("serving %s (%s) on %s", service.name, service.language, service.options.uri)
    if ready is not None:
        ready()
    try:
        await server.run(service.handler_factory)
    finally:
        service.close()


async def register_zeroconf(uri: str, name: str) -> None:
    """Announce the server by mDNS (only called when asked for)."""
    parsed = urlparse(uri)
    if parsed.scheme != "tcp" or parsed.port is None:
        raise EdgeAsrError(f"--zeroconf needs a tcp://HOST:PORT uri, got {uri}")
    from wyoming.zeroconf import HomeAssistantZeroconf

    host = parsed.hostname if parsed.hostname not in ("0.0.0.0", "", None) else None
    announcer = HomeAssistantZeroconf(port=parsed.port, name=name or None, host=host)
    await announcer.register_server()
    _LOG.info("zeroconf: announced %s as _wyoming._tcp.local. on %s:%s", announcer.name,
              announcer.host, parsed.port)


def _server_for(uri: str) -> AsyncServer:
    try:
        return AsyncServer.from_uri(uri)
    except ValueError as err:
        raise EdgeAsrError(f"cannot serve on {uri!r}: {err}") from err
