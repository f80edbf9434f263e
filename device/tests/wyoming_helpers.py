"""Shared by the Wyoming tests: test signals, a client for one request, a free port."""

from __future__ import annotations

import asyncio
import socket

import numpy as np
from wyoming.asr import Transcribe, Transcript, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.event import Event


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def noise_pcm(index: int, rate: int = 16000) -> np.ndarray:
    """int16 mono noise, different per ``index`` in level and length (the untrained fixture
    model gives each a different transcript)."""
    rng = np.random.default_rng(index)
    n = int(rate * (0.8 + 0.07 * (index % 10)))
    x = rng.standard_normal(n) * (0.08 + 0.03 * (index % 7))
    return (np.clip(x, -1, 1) * 32767).astype(np.int16)


async def request(port: int, pcm: bytes, rate: int = 16000, width: int = 2, channels: int = 1,
                  chunk_bytes: int = 2048, pause: float = 0.0,
                  read_timeout: float = 30.0) -> list[Event]:
    """One transcription through the wyoming package's AsyncTcpClient: every event the
    server sent back, up to the transcript (and transcript-stop when streaming)."""
    client = AsyncTcpClient("127.0.0.1", port)
    client.read_timeout = read_timeout
    events: list[Event] = []
    async with client:
        await client.write_event(Transcribe(language="en").event())
        await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
        for start in range(0, len(pcm), chunk_bytes):
            await client.write_event(AudioChunk(rate=rate, width=width, channels=channels,
                                                audio=pcm[start:start + chunk_bytes]).event())
            if pause:
                await asyncio.sleep(pause)
        await client.write_event(AudioStop().event())
        while True:
            event = await client.read_event()
            assert event is not None, f"connection closed after {[e.type for e in events]}"
            events.append(event)
            if TranscriptStop.is_type(event.type):
                break
            if Transcript.is_type(event.type) and not any(
                    e.type == "transcript-start" for e in events):
                break
    return events


def transcript_text(events: list[Event]) -> str:
    finals = [Transcript.from_event(e).text for e in events if Transcript.is_type(e.type)]
    assert len(finals) == 1, [e.type for e in events]
    return finals[0]
