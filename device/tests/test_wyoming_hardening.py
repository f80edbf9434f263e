"""The real ``edgeasr-device serve`` process under abuse: clients that vanish mid-stream,
1,000 malformed or out-of-order events, oversized chunks. Each gets an error event or a
closed connection; the server keeps serving correct transcripts and its memory (RSS) comes
back to within 10% of where it started."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("wyoming")

from wyoming.audio import AudioChunk, AudioStart
from wyoming.event import async_read_event, async_write_event
from wyoming_helpers import free_port, noise_pcm, request, transcript_text

from edgeasr_device import Recognizer

FMT = {"rate": 16000, "width": 2, "channels": 1}


def line(obj) -> bytes:
    return json.dumps(obj).encode() + b"\n"


def start_event() -> bytes:
    return line({"type": "audio-start", "data": FMT})


def chunk_event(payload: bytes = b"\0\0" * 160, **fmt) -> bytes:
    return line({"type": "audio-chunk", "data": {**FMT, **fmt},
                 "payload_length": len(payload)}) + payload


def malformed_events() -> list[bytes]:
    """1,000 byte strings; each is (a valid lead-in and) one event that breaks the protocol."""
    kinds = [
        b"{not json\n", b"[1, 2, 3]\n", b"42\n", b'"audio-start"\n', b"\xff\xfe\n",
        line({"data": {}}), line({"type": 5}), line({"type": ""}), line({"type": "x" * 100}),
        line({"type": "audio-start", "data": [1]}),
        line({"type": "describe", "data_length": -1}),
        line({"type": "describe", "data_length": "ten"}),
        line({"type": "describe", "payload_length": True}),
        line({"type": "describe", "data_length": 10 ** 9}),
        line({"type": "audio-chunk", "payload_length": 10 ** 12}),
        line({"type": "describe", "data_length": 5}) + b"[1,2]",
        line({"type": "describe", "data_length": 5}) + b"{oops",
        b"[" * 20000 + b"\n",
        chunk_event(),                                   # chunk before audio-start
        line({"type": "audio-stop"}),                    # stop before audio-start
        line({"type": "audio-start", "data": {**FMT, "width": 3}}),
        line({"type": "audio-start", "data": {**FMT, "rate": 0}}),
        line({"type": "audio-start", "data": {**FMT, "channels": 0}}),
        line({"type": "audio-start", "data": {**FMT, "rate": "16000"}}),
        line({"type": "audio-start", "data": {"rate": 16000}}),
        start_event() + start_event(),                   # audio-start twice
        start_event() + line({"type": "transcribe"}),    # transcribe mid-utterance
        start_event() + chunk_event(rate=8000),          # format changes mid-utterance
        start_event() + chunk_event(channels=2),
        start_event() + line({"type": "audio-chunk", "data": {"rate": 16000},
                              "payload_length": 2}) + b"\0\0",
    ]
    return [kinds[i % len(kinds)] for i in range(1000)]


async def abuse_once(port: int, data: bytes) -> str:
    """Send ``data``; return "error" or "closed" (anything else is a failure)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        while True:
            event = await asyncio.wait_for(async_read_event(reader), 10)
            if event is None:
                return "closed"
            if event.type == "error":
                return "error"
            if event.type not in ("transcript-start",):
                return f"unexpected {event.type}"
    except (ConnectionError, OSError):
        return "closed"
    finally:
        writer.close()


async def vanish_mid_stream(port: int, index: int) -> None:
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    await async_write_event(AudioStart(16000, 2, 1).event(), writer)
    pcm = noise_pcm(index).tobytes()
    for start in range(0, len(pcm) // 2, 4096):
        await async_write_event(AudioChunk(16000, 2, 1, pcm[start:start + 4096]).event(), writer)
    writer.close()  # no audio-stop


async def oversized_chunk(port: int) -> str:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        await async_write_event(AudioStart(16000, 2, 1).event(), writer)
        writer.write(line({"type": "audio-chunk", "data": FMT, "payload_length": 4 << 20}))
        writer.write(b"\0" * (4 << 20))
        await writer.drain()
    except (ConnectionError, OSError):
        pass
    try:
        event = await asyncio.wait_for(async_read_event(reader), 10)
        while event is not None and event.type == "transcript-start":
            event = await asyncio.wait_for(async_read_event(reader), 10)
        return "closed" if event is None else event.type + ":" + event.data.get("code", "")
    except (ConnectionError, OSError):
        return "closed"
    finally:
        writer.close()


def rss_kb(pid: int) -> int:
    for text in Path(f"/proc/{pid}/status").read_text().splitlines():
        if text.startswith("VmRSS:"):
            return int(text.split()[1])
    raise AssertionError("no VmRSS")


@pytest.fixture
def server(tiny_tflite, tmp_path):
    port = free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as sink:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(
            [sys.executable, "-m", "edgeasr_device.cli", "serve", "--model", str(tiny_tflite),
             "--uri", f"tcp://127.0.0.1:{port}", "--max-audio-seconds", "5",
             "--max-chunk-bytes", "65536", "--idle-timeout", "10"],
            stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 60
        while "ready on" not in log.read_text():
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield port, proc, log
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc for RSS")
def test_server_survives_abuse_and_returns_its_memory(server, tiny_tflite):
    port, proc, log = server
    recognizer = Recognizer(tiny_tflite)
    good = [noise_pcm(i) for i in range(16)]
    expected = [recognizer.transcribe(s, sample_rate=16000).text for s in good]

    async def correct_round() -> None:
        results = await asyncio.gather(*(request(port, s.tobytes()) for s in good))
        assert [transcript_text(r) for r in results] == expected

    async def abuse() -> tuple[list[str], str, str]:
        await asyncio.gather(*(vanish_mid_stream(port, i) for i in range(16)))
        outcomes: list[str] = []
        events = malformed_events()
        for start in range(0, len(events), 20):
            outcomes += await asyncio.gather(*(abuse_once(port, e)
                                               for e in events[start:start + 20]))
        big = await oversized_chunk(port)
        too_long = await abuse_once(port, start_event() + chunk_event(b"\0\0" * 16000) * 6)
        return outcomes, big, too_long

    asyncio.run(correct_round())  # warm: the interpreter has allocated its tensors
    start_rss = rss_kb(proc.pid)
    outcomes, big, too_long = asyncio.run(abuse())
    assert len(outcomes) == 1000
    assert set(outcomes) <= {"error", "closed"}, sorted(set(outcomes))
    assert outcomes.count("error") >= 900  # nearly all are answered, not just dropped
    assert big in ("error:event-too-large", "closed")
    assert too_long == "error"
    assert proc.poll() is None, log.read_text()[-3000:]
    asyncio.run(correct_round())  # still correct after all that
    time.sleep(0.5)
    end_rss = rss_kb(proc.pid)
    assert end_rss <= 1.10 * start_rss, (start_rss, end_rss)
    print(f"RSS {start_rss} kB -> {end_rss} kB; outcomes: "
          f"{outcomes.count('error')} errors, {outcomes.count('closed')} closed")


def test_zeroconf_needs_a_reachable_address(tiny_tflite):
    from click.testing import CliRunner

    from edgeasr_device.cli import main

    result = CliRunner().invoke(main, ["serve", "--model", str(tiny_tflite), "--zeroconf"])
    assert result.exit_code == 2 and "tcp://0.0.0.0:10300" in result.output


def test_zeroconf_registers_only_when_asked(monkeypatch):
    pytest.importorskip("zeroconf")
    import wyoming.zeroconf

    from edgeasr_device.wyoming import server as server_module

    calls = []

    class FakeAnnouncer:
        def __init__(self, port, name=None, host=None):
            calls.append((port, name, host))
            self.name, self.host = name or "mac", host or "192.0.2.1"

        async def register_server(self):
            calls.append("registered")

    monkeypatch.setattr(wyoming.zeroconf, "HomeAssistantZeroconf", FakeAnnouncer)
    asyncio.run(server_module.register_zeroconf("tcp://0.0.0.0:10300", "kitchen"))
    asyncio.run(server_module.register_zeroconf("tcp://192.0.2.7:10301", ""))
    assert calls == [(10300, "kitchen", None), "registered", (10301, None, "192.0.2.7"),
                     "registered"]


def test_serve_announces_by_zeroconf_only_when_asked(tiny_tflite, monkeypatch):
    import contextlib

    from edgeasr_device.wyoming import DEFAULT_URI, AsrService, ServerOptions
    from edgeasr_device.wyoming import server as server_module

    assert DEFAULT_URI == ServerOptions().uri == "tcp://127.0.0.1:10300"  # loopback by default
    announced = []

    async def fake_register(uri, name):
        announced.append((uri, name))

    monkeypatch.setattr(server_module, "register_zeroconf", fake_register)

    async def serve_briefly(name):
        uri = f"tcp://127.0.0.1:{free_port()}"
        service = AsrService([Recognizer(tiny_tflite)], ServerOptions(uri=uri))
        ready = asyncio.Event()
        task = asyncio.create_task(server_module.serve(service, name, ready=ready.set))
        await asyncio.wait_for(ready.wait(), 10)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return uri

    asyncio.run(serve_briefly(None))
    assert announced == []
    uri = asyncio.run(serve_briefly("kitchen"))
    assert announced == [(uri, "kitchen")]
