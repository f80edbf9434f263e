"""``edgeasr-device``: transcribe audio files with an exported model, on the device."""

from __future__ import annotations

import functools
import json
import sys
import time

import click

from edgeasr_device import __version__
from edgeasr_device.cli_options import decoding_options, shown_warnings
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.errors import AudioError, EdgeAsrError


def friendly_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgeAsrError as err:
            raise click.ClickException(str(err)) from err

    return wrapper


@click.group()
@click.version_option(__version__, prog_name="edgeasr-device")
@click.option("-v", "--verbose", is_flag=True,
              help="Also show the interpreter's native INFO lines (e.g. XNNPACK delegate).")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """On-device speech recognition with edgeasr models (no TensorFlow needed)."""
    ctx.obj = {"verbose": verbose}


def _verbose() -> bool:
    """The group's ``--verbose`` flag, from the running click context."""
    ctx = click.get_current_context(silent=True)
    return bool(ctx and ctx.obj and ctx.obj.get("verbose"))


@main.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="A .tflite file written by `edgeasr export`.")
@click.argument("audio", nargs=-1, required=True, type=click.Path())
@click.option("--threads", default=1, show_default=True, help="Interpreter CPU threads.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per file: text, words with times, confidence.")
@decoding_options
@friendly_errors
def transcribe(model_path: str, audio: tuple[str, ...], threads: int, as_json: bool,
               decoding: DecodingOptions) -> None:
    """Transcribe audio files (wav/flac/ogg/mp3, any rate and channel count).

    Greedy decoding unless a beam flag is given: --beam-width, --nbest, --lm (a word n-gram
    model) or --hotword.
    """
    from edgeasr_device.model import TfliteModel
    from edgeasr_device.recognizer import Recognizer

    with shown_warnings():
        recognizer = Recognizer(TfliteModel(model_path, num_threads=threads,
                                            native_info=_verbose()), options=decoding)
    failures = 0
    for path in audio:
        started = time.perf_counter()
        try:
            waveform = recognizer.waveform(path)
            result = recognizer.transcribe(waveform, sample_rate=recognizer.sample_rate)
        except AudioError as err:
            failures += 1
            click.echo(f"error: {err}", err=True)
            continue
        seconds = waveform.shape[0] / recognizer.sample_rate
        if as_json:
            elapsed = time.perf_counter() - started
            record = {"file": path, **result.to_dict(), "audio_seconds": round(seconds, 3),
                      "rtf": round(elapsed / max(seconds, 1e-9), 5)}
            click.echo(json.dumps(record))
        else:
            line = _plain_line(result)
            click.echo(f"{path}\t{line}" if len(audio) > 1 else line)
            if result.no_match is not None:
                click.echo(f"{path}: no match: {result.no_match}", err=True)
    if failures:
        sys.exit(1)


def _plain_line(result) -> str:
    """The text, and with a grammar its intent: ``text<TAB>Intent slot=value ...``."""
    if result.intent is None:
        return result.text
    slots = " ".join(f"{k}={v}" for k, v in result.intent.slots.items())
    return f"{result.text}\t{result.intent.name}{' ' + slots if slots else ''}"


@main.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--audio", "audio_path", type=click.Path(exists=True, dir_okay=False),
              help="Time this file instead of a generated signal.")
@click.option("--seconds", default=10.0, show_default=True, help="Length of the generated signal.")
@click.option("--threads", default=1, show_default=True)
@click.option("--runs", default=5, show_default=True, help="Timed runs (after one warm-up).")
@click.option("--json", "as_json", is_flag=True)
@friendly_errors
def bench(model_path, audio_path, seconds, threads, runs, as_json) -> None:
    """Real-time factor (compute seconds per audio second) and peak memory."""
    from edgeasr_device.bench import run_bench

    result = run_bench(model_path, audio_path, seconds, threads, runs, native_info=_verbose())
    if as_json:
        click.echo(json.dumps(result.to_dict()))
        return
    click.echo(f"{model_path}: {result.size_bytes / 1e6:.2f} MB, {result.quantization}, "
               f"{threads} thread(s), {result.audio_seconds:.1f} s audio x {runs} runs")
    click.echo(f"RTF {result.rtf_median:.4f} (median; best {result.rtf_min:.4f}) = "
               f"network {result.network_ms_median:.1f} ms + decoder {result.decode_ms_median:.2f} ms; "
               f"peak RSS {result.peak_rss_mb:.0f} MB")


@main.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False))
def info(model_path: str) -> None:
    """Print the metadata embedded in a model file."""
    from edgeasr_device.artifact import read_metadata

    try:
        metadata = read_metadata(model_path)
    except EdgeAsrError as err:
        raise click.ClickException(str(err)) from err
    click.echo(metadata.to_json().decode())


def _register_groups() -> None:
    from edgeasr_device.cli_lm import lm

    main.add_command(lm)


_register_groups()

if __name__ == "__main__":
    main()
