"""Latency of the Wyoming server: ``audio-stop`` -> ``transcript``, as Home Assistant sees it.

Usage: python benchmarks/wyoming_latency.py --model MODEL.tflite --manifest TEST.jsonl
           [--limit 20] [--threads 1] [--chunk-ms 64] [--no-realtime] [--beam-width N]
           [--lm LM.arpa] [--json OUT.json]

Starts ``edgeasr-device serve`` as its own process on a free loopback port, then for each
utterance of the manifest sends ``transcribe``, ``audio-start``, the audio as 16 kHz 16-bit
mono ``audio-chunk`` events paced in real time (as a satellite streams a microphone), and
``audio-stop``, through the wyoming package's AsyncTcpClient. It measures the time from
sending ``audio-stop`` to receiving ``transcript`` (the goal: at most 200 ms), the time from
``audio-start`` to the first ``transcript-chunk``, and the server's memory (RSS, Linux).
Prints a markdown table (paste into docs/benchmarks.md); exact-match counts against the
manifest's text (ignoring case and spacing) show that the transcripts are real.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _words(text: str) -> list[str]:
    """Case- and spacing-insensitive words (manifests such as speechocean762's are upper
    case; the models write lower case)."""
    return text.lower().split()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def one(port: int, pcm: np.ndarray, chunk: int, realtime: bool) -> dict:
    from wyoming.asr import Transcribe, Transcript
    from wyoming.audio import AudioChunk, AudioStart, AudioStop
    from wyoming.client import AsyncTcpClient

    raw = pcm.tobytes()
    async with AsyncTcpClient("127.0.0.1", port) as client:
        await client.write_event(Transcribe(language="en").event())
        started = time.perf_counter()
        await client.write_event(AudioStart(rate=16000, width=2, channels=1).event())
        first_chunk = None

        async def read_until_transcript():
            nonlocal first_chunk
            while True:
                event = await client.read_event()
                if event is None:
                    raise RuntimeError("the server closed the connection")
                if event.type == "transcript-chunk" and first_chunk is None:
                    first_chunk = time.perf_counter() - started
                if Transcript.is_type(event.type):
                    return time.perf_counter(), Transcript.from_event(event).text

        reader = asyncio.create_task(read_until_transcript())
        for k, start in enumerate(range(0, len(raw), 2 * chunk)):
            await client.write_event(AudioChunk(rate=16000, width=2, channels=1,
                                                audio=raw[start:start + 2 * chunk]).event())
            if realtime:  # the next chunk exists only once it has been spoken
                due = started + (k + 1) * chunk / 16000
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
        stop = time.perf_counter()
        await client.write_event(AudioStop().event())
        received, text = await reader
    return {"latency_ms": 1000 * (received - stop), "text": text,
            "first_chunk_ms": None if first_chunk is None else 1000 * first_chunk,
            "audio_seconds": pcm.shape[0] / 16000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--chunk-ms", type=float, default=64.0)
    parser.add_argument("--no-realtime", action="store_true")
    parser.add_argument("--beam-width", type=int, help="passed to serve (beam search)")
    parser.add_argument("--lm", help="passed to serve (word n-gram LM)")
    parser.add_argument("--json")
    args = parser.parse_args()

    from edgeasr_device.audio import load_audio

    manifest = Path(args.manifest)
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    rows = rows[:args.limit]
    port = free_port()
    log = Path(tempfile.mkdtemp()) / "server.log"
    with open(log, "w") as sink:  # a file, not a pipe: a full pipe would block the server
        server = subprocess.Popen([sys.executable, "-m", "edgeasr_device.cli", "serve",
                                   "--model", args.model, "--uri", f"tcp://127.0.0.1:{port}",
                                   "--threads", str(args.threads),
                                   *(["--beam-width", str(args.beam_width)]
                                     if args.beam_width else []),
                                   *(["--lm", args.lm] if args.lm else [])],
                                  stdout=subprocess.DEVNULL, stderr=sink)
    try:
        deadline = time.monotonic() + 120
        while "ready on" not in log.read_text():
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the server did not start:\n{log.read_text()}")
            time.sleep(0.05)
        chunk = int(args.chunk_ms * 16)
        results, exact = [], 0
        for i, row in enumerate(rows):
            audio = Path(row["audio_filepath"])
            audio = audio if audio.is_absolute() else manifest.parent / audio
            pcm = (np.clip(load_audio(audio, 16000), -1, 1) * 32767).astype("<i2")
            result = asyncio.run(one(port, pcm, chunk, not args.no_realtime))
            result["warmup"] = i == 0
            exact += _words(result["text"]) == _words(row.get("text") or "")
            results.append(result)
        rss = rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(10)
    timed = [r for r in results if not r["warmup"]] or results
    lat = sorted(r["latency_ms"] for r in timed)
    firsts = [r["first_chunk_ms"] for r in timed if r["first_chunk_ms"] is not None]
    summary = {
        "model": args.model, "manifest": args.manifest, "utterances": len(timed),
        "threads": args.threads, "chunk_ms": args.chunk_ms, "realtime": not args.no_realtime,
        "beam_width": args.beam_width, "lm": args.lm,
        "latency_ms_median": statistics.median(lat),
        "latency_ms_p90": lat[min(len(lat) - 1, int(0.9 * len(lat)))],
        "latency_ms_max": lat[-1],
        "first_chunk_ms_median": statistics.median(firsts) if firsts else None,
        "audio_seconds_mean": statistics.mean(r["audio_seconds"] for r in timed),
        "exact_match": exact, "of": len(results), "server_rss_mb": rss,
    }
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "results": results}, indent=2))
    print("| model | threads | utterances | mean audio | audio-stop -> transcript (median / p90 / max) "
          "| first transcript-chunk | exact | server RSS |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    first = (f"{summary['first_chunk_ms_median']:.0f} ms" if firsts else "-")
    print(f"| {Path(args.model).name} | {args.threads} | {summary['utterances']} | "
          f"{summary['audio_seconds_mean']:.2f} s | {summary['latency_ms_median']:.0f} / "
          f"{summary['latency_ms_p90']:.0f} / {summary['latency_ms_max']:.0f} ms | {first} | "
          f"{exact}/{len(results)} | {rss:.0f} MB |")


if __name__ == "__main__":
    main()
