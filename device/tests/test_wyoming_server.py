"""The Wyoming server in this process, spoken to by the wyoming package's own client."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

pytest.importorskip("wyoming")

from wyoming.asr import Transcript, TranscriptChunk
from wyoming.client import AsyncTcpClient
from wyoming.info import Describe, Info
from wyoming.ping import Ping
from wyoming_helpers import free_port, noise_pcm, request, transcript_text

from edgeasr_device import Recognizer
from edgeasr_device.audio import prepare_waveform
from edgeasr_device.wyoming import AsrService, ServerOptions, start
from edgeasr_device.wyoming.audio_in import PcmConverter
from edgeasr_device.wyoming.handler import stable_prefix


def run_with_server(recognizer, coroutine, **options):
    """Start a server on a free loopback port, run ``coroutine(port, service)``, stop it."""
    async def main():
        port = free_port()
        service = AsrService([recognizer], ServerOptions(uri=f"tcp://127.0.0.1:{port}",
                                                         **options), name="tiny-float32")
        server = await start(service)
        try:
            return await coroutine(port, service)
        finally:
            await server.stop()
            service.close()
    return asyncio.run(main())


@pytest.fixture(scope="module")
def recognizer(tiny_tflite):
    return Recognizer(tiny_tflite)


def test_describe_answers_info(recognizer):
    async def describe(port, service):
        async with AsyncTcpClient("127.0.0.1", port) as client:
            await client.write_event(Ping(text="hello").event())
            pong = await client.read_event()
            await client.write_event(Describe().event())
            return pong, await client.read_event()

    pong, event = run_with_server(recognizer, describe)
    assert pong.type == "pong" and pong.data["text"] == "hello"
    info = Info.from_event(event)
    (program,) = info.asr
    assert program.name == "edgeasr" and program.supports_transcript_streaming
    assert program.installed and program.version
    (model,) = program.models
    assert model.name == "tiny-float32" and model.languages == ["en"]
    assert "float32" in model.description


def test_transcript_equals_recognizer_and_streams(recognizer):
    pcm = noise_pcm(3)
    events = run_with_server(recognizer, lambda port, _: request(port, pcm.tobytes()),
                             partial_every=0.2)
    types = [e.type for e in events]
    assert types[0] == "transcript-start" and types[-2:] == ["transcript", "transcript-stop"]
    assert set(types[1:-2]) <= {"transcript-chunk"}
    text = transcript_text(events)
    assert text == recognizer.transcribe(pcm, sample_rate=16000).text and text
    streamed = "".join(TranscriptChunk.from_event(e).text for e in events
                       if e.type == "transcript-chunk")
    assert all(e.data["text"] for e in events if e.type == "transcript-chunk")
    assert len(streamed) <= len(text) + 1


def test_no_streaming_sends_only_the_transcript(recognizer):
    pcm = noise_pcm(4).tobytes()
    events = run_with_server(recognizer, lambda port, _: request(port, pcm), streaming=False)
    assert [e.type for e in events] == ["transcript"]
    assert Transcript.from_event(events[0]).language == "en"


@pytest.mark.parametrize("rate, width, channels", [
    (16000, 2, 1), (8000, 1, 1), (44100, 2, 2), (22050, 4, 1), (48000, 4, 3)])
def test_any_declared_format(recognizer, rate, width, channels):
    rng = np.random.default_rng(rate + width + channels)
    mono = rng.standard_normal(int(rate * 0.9)) * 0.15
    frames = np.clip(np.stack([mono * (1 + 0.1 * c) for c in range(channels)], axis=1), -1, 1)
    if width == 1:
        pcm = np.round(frames * 127 + 128).astype(np.uint8)
    elif width == 2:
        pcm = np.round(frames * 32767).astype("<i2")
    else:
        pcm = np.round(frames * 2147483000).astype("<i4")
    array = pcm if channels > 1 else pcm[:, 0]
    events = run_with_server(recognizer, lambda port, _: request(
        port, pcm.tobytes(), rate, width, channels, chunk_bytes=999))  # frames split apart
    assert transcript_text(events) == recognizer.transcribe(array, sample_rate=rate).text


@pytest.mark.parametrize("rate, channels", [(16000, 1), (8000, 2), (44100, 1)])
def test_chunked_conversion_equals_whole_conversion(rate, channels):
    rng = np.random.default_rng(1)
    pcm = (rng.standard_normal((rate, channels)) * 3000).astype("<i2")
    converter = PcmConverter(rate, 2, channels, 16000)
    raw = pcm.tobytes()
    pieces = [converter.convert(raw[i:i + 777]) for i in range(0, len(raw), 777)]
    got = np.concatenate(pieces + [converter.flush()])
    want = prepare_waveform(pcm if channels > 1 else pcm[:, 0], rate, 16000)
    assert converter.seconds == pytest.approx(1.0)
    assert abs(got.shape[0] - want.shape[0]) <= 1
    n = min(got.shape[0], want.shape[0])
    np.testing.assert_allclose(got[:n], want[:n], atol=2e-3 if rate != 16000 else 0)


def test_sixteen_concurrent_clients_get_their_own_transcripts(recognizer):
    signals = [noise_pcm(i) for i in range(16)]
    expected = [recognizer.transcribe(s, sample_rate=16000).text for s in signals]
    assert len(set(expected)) >= 8  # the signals really differ

    async def many(port, service):
        return await asyncio.gather(*(request(port, s.tobytes(), pause=0.002)
                                      for s in signals))

    results = run_with_server(recognizer, many)
    assert [transcript_text(events) for events in results] == expected


def test_two_utterances_on_one_connection(recognizer):
    from wyoming.audio import AudioChunk, AudioStart, AudioStop

    first, second = noise_pcm(1), noise_pcm(2)

    async def twice(port, service):
        texts = []
        async with AsyncTcpClient("127.0.0.1", port) as client:
            for pcm in (first, second):
                await client.write_event(AudioStart(16000, 2, 1).event())
                await client.write_event(AudioChunk(16000, 2, 1, pcm.tobytes()).event())
                await client.write_event(AudioStop().event())
                while (event := await client.read_event()).type != "transcript":
                    pass
                texts.append(event.data["text"])
        return texts, service.utterances

    texts, count = run_with_server(recognizer, twice, streaming=False)
    assert texts == [recognizer.transcribe(p, sample_rate=16000).text for p in (first, second)]
    assert count == 2


def test_stable_prefix_holds_back_the_last_words():
    assert stable_prefix("turn on the kitchen lig") == "turn on the "
    assert stable_prefix("turn on") == "" and stable_prefix("") == ""
    assert stable_prefix("a b c", hold=0) == "a b c "


def test_streaming_export_is_served_chunk_by_chunk():
    """A streaming export (edgeasr export --streaming) runs through its chunked stream; four
    concurrent clients each get the transcript the recogniser gives for their audio."""
    from pathlib import Path

    path = (Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "streaming"
            / "tiny-stream-float32.tflite")
    if not path.is_file():
        pytest.skip(f"needs the streaming fixture {path.name}")
    recognizer = Recognizer(path)
    assert callable(getattr(recognizer.model, "runner", None))
    signals = [noise_pcm(i) for i in range(4)]
    expected = [recognizer.transcribe(s, sample_rate=16000).text for s in signals]

    async def many(port, service):
        return await asyncio.gather(*(request(port, s.tobytes(), chunk_bytes=1000)
                                      for s in signals))

    results = run_with_server(recognizer, many)
    assert [transcript_text(events) for events in results] == expected
