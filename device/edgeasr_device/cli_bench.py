"""``edgeasr-device bench``: load time, real-time factor per thread count, streaming latency,
peak memory."""

from __future__ import annotations

import json

import click

from edgeasr_device.errors import EdgeAsrError

__all__ = ["bench"]


def _thread_counts(ctx, param, values: tuple[str, ...]) -> tuple[int, ...]:
    try:
        counts = tuple(int(v) for value in values for v in value.split(",") if v.strip())
    except ValueError as err:
        raise click.BadParameter(f"thread counts are integers, e.g. 1,2,4 ({err})") from err
    if not counts or min(counts) < 1:
        raise click.BadParameter("give one or more thread counts >= 1, e.g. --threads 1,2,4")
    return counts


@click.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--audio", "audio_path", type=click.Path(exists=True, dir_okay=False),
              help="Time this file instead of a generated signal.")
@click.option("--seconds", default=10.0, show_default=True, help="Length of the generated signal.")
@click.option("--threads", multiple=True, default=("1,2,4",), show_default=True,
              callback=_thread_counts, help="Thread counts to time (repeat or comma-separate).")
@click.option("--runs", default=5, show_default=True, help="Timed runs (after one warm-up).")
@click.option("--chunk-ms", default=100.0, show_default=True, type=click.FloatRange(10),
              help="Audio per chunk in the streaming measurement.")
@click.option("--no-streaming", is_flag=True, help="Skip the streaming latency measurement.")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def bench(ctx, model_path, audio_path, seconds, threads, runs, chunk_ms, no_streaming,
          as_json) -> None:
    """Load time, real-time factor (compute seconds per audio second) per thread count,
    streaming latency (last audio -> final text; first partial) and peak memory."""
    from edgeasr_device.bench import run_report

    verbose = bool(ctx.find_root().obj and ctx.find_root().obj.get("verbose"))
    try:
        report = run_report(model_path, audio_path, seconds, threads, runs, chunk_ms / 1000,
                            streaming=not no_streaming, native_info=verbose)
    except EdgeAsrError as err:
        raise click.ClickException(str(err)) from err
    if as_json:
        click.echo(json.dumps(report.to_dict()))
        return
    first = report.batch[0]
    click.echo(f"{model_path}: {first.size_bytes / 1e6:.2f} MB, {first.quantization}, "
               f"{first.audio_seconds:.1f} s audio x {runs} runs")
    for result in report.batch:
        click.echo(f"{result.threads} thread(s): load {result.load_ms:.0f} ms (first run "
                   f"{result.first_run_ms:.0f} ms); RTF {result.rtf_median:.4f} (median; best "
                   f"{result.rtf_min:.4f}) = network {result.network_ms_median:.1f} ms + "
                   f"decoder {result.decode_ms_median:.2f} ms")
    for live in report.streaming:
        partial = (f"{live.first_partial_ms:.0f} ms" if live.first_partial_ms is not None
                   else "none")
        click.echo(f"streaming, {live.threads} thread(s), {live.chunk_ms:.0f} ms chunks: final "
                   f"{live.final_ms_median:.0f} ms after the last audio (max "
                   f"{live.final_ms_max:.0f}); first partial at {partial}; per chunk "
                   f"{live.feed_ms_median:.1f} ms median, {live.feed_ms_max:.0f} ms max; "
                   f"lag behind the audio at most {live.max_lag_ms:.0f} ms")
    click.echo(f"peak RSS {report.peak_rss_mb:.0f} MB")
