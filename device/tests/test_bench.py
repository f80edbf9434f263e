"""``edgeasr-device bench``: load time, RTF per thread count, streaming latency, peak memory."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from edgeasr_device import Recognizer
from edgeasr_device.bench import bench_audio, bench_streaming, run_report
from edgeasr_device.cli import main


def test_report_per_thread_count(tiny_tflite):
    report = run_report(str(tiny_tflite), seconds=1.0, threads=(1, 2), runs=1)
    assert [b.threads for b in report.batch] == [1, 2] == [s.threads for s in report.streaming]
    for batch in report.batch:
        assert batch.load_ms > 0 and batch.first_run_ms > 0 and 0 < batch.rtf_min <= batch.rtf_median
        assert batch.audio_seconds == pytest.approx(1.0) and batch.quantization == "float32"
    assert report.peak_rss_mb >= max(b.peak_rss_mb for b in report.batch) > 10
    assert json.loads(json.dumps(report.to_dict()))["batch"][0]["threads"] == 1


def test_streaming_latency_and_final_text(tiny_tflite):
    recognizer = Recognizer(tiny_tflite)
    audio = bench_audio(2.0, recognizer.sample_rate, seed=3)
    live = bench_streaming(recognizer, audio, chunk_seconds=0.1, partial_interval=0.5, runs=2)
    assert live.chunk_ms == pytest.approx(100) and live.runs == 2
    assert 0 < live.final_ms_median <= live.final_ms_max
    assert live.feed_ms_median <= live.feed_ms_max and live.max_lag_ms >= 0
    # partials come every 0.5 s of audio: the first is ready after 0.5 s at the earliest
    assert live.first_partial_ms is None or live.first_partial_ms >= 500
    assert live.text == recognizer.transcribe(audio, sample_rate=recognizer.sample_rate).text


def test_cli_thread_lists(tiny_tflite):
    runner = CliRunner()
    result = runner.invoke(main, ["bench", "--model", str(tiny_tflite), "--seconds", "1",
                                  "--runs", "1", "--threads", "1,2", "--no-streaming", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert [b["threads"] for b in report["batch"]] == [1, 2] and report["streaming"] == []
    text = runner.invoke(main, ["bench", "--model", str(tiny_tflite), "--seconds", "1",
                                "--runs", "1", "--threads", "1"]).output
    assert "1 thread(s): load" in text and "streaming, 1 thread(s)" in text and "peak RSS" in text
    bad = runner.invoke(main, ["bench", "--model", str(tiny_tflite), "--threads", "0"])
    assert bad.exit_code == 2 and "thread counts" in bad.output


def test_streaming_export_is_benched_too():
    from pathlib import Path

    path = (Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "streaming"
            / "tiny-stream-float32.tflite")
    if not path.is_file():
        pytest.skip(f"needs the streaming fixture {path.name}")
    report = run_report(str(path), seconds=1.0, threads=(1,), runs=1)
    assert report.batch[0].rtf_median > 0 and report.streaming[0].final_ms_median >= 0
