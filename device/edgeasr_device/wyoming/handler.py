"""One Wyoming connection: ``describe`` -> ``info``; ``transcribe``, ``audio-start``,
``audio-chunk``..., ``audio-stop`` -> ``transcript`` (with ``transcript-start`` /
``transcript-chunk`` ... / ``transcript-stop`` around it when streaming).

Events that break the protocol (malformed, oversized, out of order, an utterance longer than
``max_audio_seconds``) are answered with one ``error`` event, and the connection is closed;
events of types this server does not serve are ignored, as the protocol asks. Decoding runs
in the service's worker threads, so the event loop keeps reading the other connections.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.info import Describe
from wyoming.ping import Ping, Pong
from wyoming.server import AsyncEventHandler

from edgeasr_device.errors import EdgeAsrError
from edgeasr_device.streaming import EndpointOptions, Stream
from edgeasr_device.wyoming.audio_in import PcmConverter, audio_format
from edgeasr_device.wyoming.events import ProtocolError, read_event

if TYPE_CHECKING:
    from edgeasr_device.wyoming.server import AsrService, Worker

__all__ = ["AsrHandler", "stable_prefix"]

_LOG = logging.getLogger("edgeasr_device.wyoming")


def stable_prefix(text: str, hold: int = 2) -> str:
    """The words of a partial transcript that are unlikely to change, with a trailing space:
    all but the last ``hold`` words (the last is still being spoken; the one before it may
    still merge with it, as the network has not heard what follows)."""
    words = text.split()
    kept = words[:max(len(words) - hold, 0)]
    return " ".join(kept) + " " if kept else ""


@dataclass
class _Utterance:
    """The state of one ``audio-start`` ... ``audio-stop``."""

    converter: PcmConverter
    stream: Stream
    pending: list[np.ndarray] = field(default_factory=list)
    finals: list[Any] = field(default_factory=list)
    sent: str = ""  # text sent in transcript-chunk events
    revised: bool = False  # a partial contradicted the sent text: no more chunks
    feeding: asyncio.Task | None = None
    error: BaseException | None = None


class AsrHandler(AsyncEventHandler):
    """Serves one connection for an :class:`~edgeasr_device.wyoming.server.AsrService`."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 service: AsrService):
        super().__init__(reader, writer)
        self.service = service
        self.options = service.options
        self.worker: Worker = service.next_worker()
        self.request: Transcribe | None = None
        self.utterance: _Utterance | None = None
        #: One Wyoming request is one utterance: Home Assistant's VAD ends it with
        #: audio-stop, so the stream does no endpointing of its own.
        self.endpoint = EndpointOptions(
            trailing_silence=None, max_utterance=None,
            partial_interval=self.options.partial_every if self.options.streaming else None)

    async def run(self) -> None:
        """Read events (within the limits and the idle timeout) until the peer leaves, an
        event breaks the protocol, or the server stops."""
        self._is_running = True
        try:
            while self._is_running:
                try:
                    event = await asyncio.wait_for(read_event(self.reader, self.options),
                                                   self.options.idle_timeout)
                    if event is None or not await self.handle_event(event):
                        break
                except ProtocolError as err:
                    _LOG.info("closing a connection: %s", err.text)
                    await self._send_error(err.text, err.code)
                    break
                except asyncio.TimeoutError:
                    await self._send_error(f"no event for {self.options.idle_timeout:g} s",
                                           "timeout")
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            await self.disconnect()
            self.writer.close()

    async def handle_event(self, event: Event) -> bool:
        if AudioChunk.is_type(event.type):
            await self._audio_chunk(event)
        elif AudioStart.is_type(event.type):
            await self._audio_start(event)
        elif AudioStop.is_type(event.type):
            await self._audio_stop()
        elif Transcribe.is_type(event.type):
            if self.utterance is not None:
                raise ProtocolError("transcribe inside an utterance (before audio-stop)",
                                    "out-of-order")
            self.request = Transcribe.from_event(event)
        elif Describe.is_type(event.type):
            await self.write_event(self.service.info_event)
        elif Ping.is_type(event.type):
            await self.write_event(Pong(text=event.data.get("text")).event())
        else:
            _LOG.debug("ignoring a %s event", event.type)
        return True

    async def disconnect(self) -> None:
        utterance, self.utterance = self.utterance, None
        if utterance is not None and utterance.feeding is not None:
            utterance.feeding.cancel()
        self.service.connection_closed(self)

    # ---------------------------------------------------------------- audio

    async def _audio_start(self, event: Event) -> None:
        if self.utterance is not None:
            raise ProtocolError("audio-start inside an utterance (before audio-stop)",
                                "out-of-order")
        rate, width, channels = audio_format(event.data, "audio-start")
        recognizer = self.worker.recognizer
        converter = PcmConverter(rate, width, channels, recognizer.sample_rate)
        stream = recognizer.stream(endpoint=self.endpoint)
        self.utterance = _Utterance(converter, stream)
        if self.options.streaming:
            await self.write_event(TranscriptStart(language=self.service.language).event())

    async def _audio_chunk(self, event: Event) -> None:
        utterance = self.utterance
        if utterance is None:
            raise ProtocolError("audio-chunk before audio-start", "out-of-order")
        fmt = audio_format(event.data, "audio-chunk")
        expected = (utterance.converter.rate, utterance.converter.width,
                    utterance.converter.channels)
        if fmt != expected:
            raise ProtocolError(f"audio-chunk format {fmt} differs from audio-start's "
                                f"{expected} (rate, width, channels)", "bad-audio-format")
        samples = utterance.converter.convert(event.payload or b"")
        if utterance.converter.seconds > self.options.max_audio_seconds:
            raise ProtocolError(f"utterance longer than {self.options.max_audio_seconds:g} s; "
                                "send audio-stop sooner", "audio-too-long")
        self._check_feeding(utterance)
        if samples.size:
            utterance.pending.append(samples)
            if utterance.feeding is None or utterance.feeding.done():
                utterance.feeding = asyncio.create_task(self._feed(utterance))

    async def _audio_stop(self) -> None:
        utterance = self.utterance
        if utterance is None:
            raise ProtocolError("audio-stop before audio-start", "out-of-order")
        tail = utterance.converter.flush()
        if tail.size:
            utterance.pending.append(tail)
        if utterance.feeding is not None:
            await utterance.feeding
        self._check_feeding(utterance)
        if utterance.pending:
            await self._feed(utterance)
            self._check_feeding(utterance)
        try:
            last = await self.worker.run(utterance.stream.finish)
        except EdgeAsrError as err:
            raise ProtocolError(f"recognition failed: {err}", "recognition-failed") from err
        self.utterance = None
        texts = [t.text for t in utterance.finals] + ([last.text] if last is not None else [])
        text = " ".join(t for t in texts if t)
        await self.write_event(Transcript(text=text, language=self.service.language).event())
        if self.options.streaming:
            await self.write_event(TranscriptStop().event())
        self.request = None
        self.service.utterance_done(utterance.converter.seconds)

    async def _feed(self, utterance: _Utterance) -> None:
        """Feed everything pending to the stream (several chunks at once when decoding lags
        behind), then send the newly stable words as ``transcript-chunk``."""
        try:
            while utterance.pending:
                batch = (utterance.pending[0] if len(utterance.pending) == 1
                         else np.concatenate(utterance.pending))
                utterance.pending.clear()
                update = await self.worker.run(utterance.stream.feed, batch)
                utterance.finals.extend(update.finals)
                if self.options.streaming:
                    await self._send_partial(utterance, update.partial)
        except asyncio.CancelledError:
            raise
        except (EdgeAsrError, ConnectionError, OSError) as err:
            utterance.error = err
            utterance.pending.clear()

    async def _send_partial(self, utterance: _Utterance, partial: str) -> None:
        if utterance.revised:
            return
        done = " ".join(t.text for t in utterance.finals if t.text)
        text = stable_prefix((done + " " + partial) if done else partial)
        if not text.startswith(utterance.sent):
            utterance.revised = True  # the final transcript will say what it became
            return
        if len(text) > len(utterance.sent):
            chunk, utterance.sent = text[len(utterance.sent):], text
            await self.write_event(TranscriptChunk(text=chunk).event())

    def _check_feeding(self, utterance: _Utterance) -> None:
        if utterance.error is not None:
            err = utterance.error
            if isinstance(err, EdgeAsrError):
                raise ProtocolError(f"recognition failed: {err}", "recognition-failed")
            raise ConnectionResetError(str(err))

    async def _send_error(self, text: str, code: str) -> None:
        try:
            await self.write_event(Error(text=text, code=code).event())
        except (ConnectionError, OSError, RuntimeError):
            pass
