"""``edgeasr-device``: transcribe audio files with an exported model, on the device."""

from __future__ import annotations

import sys
import time

import click

from edgeasr_device import __version__
from edgeasr_device.cli_options import (
    decoding_options,
    friendly_errors,
    margin_option,
    model_option,
    shown_warnings,
)
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.errors import AudioError
from edgeasr_device.formats import FORMATS, render


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
@model_option
@click.argument("audio", nargs=-1, required=True, type=click.Path())
@click.option("--threads", default=1, show_default=True, help="Interpreter CPU threads.")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="txt", show_default=True,
              help="txt: the text; json: one object per file (words with start, end, "
                   "confidence); srt/vtt: subtitles.")
@click.option("--json", "as_json", is_flag=True, help="Same as --format json.")
@click.option("--output-dir", type=click.Path(file_okay=False),
              help="Write FILE.<format> per input here instead of to stdout (needed for "
                   "srt/vtt with several inputs).")
@click.option("--silence", type=click.FloatRange(min=0, min_open=True), default=0.5,
              show_default=True, help="Long recordings: seconds of trailing silence that end "
                                      "an utterance.")
@click.option("--max-utterance", type=click.FloatRange(min=1), default=30.0, show_default=True,
              help="Recordings longer than this (seconds) are transcribed utterance by "
                   "utterance (streamed, in bounded memory); a streaming model always is.")
@margin_option
@decoding_options
@friendly_errors
def transcribe(model_path: str, audio: tuple[str, ...], threads: int, fmt: str, as_json: bool,
               output_dir: str | None, silence: float, max_utterance: float, margin: float,
               decoding: DecodingOptions) -> None:
    """Transcribe audio files (wav/flac/ogg/mp3, any rate and channel count).

    Greedy decoding unless a beam flag is given: --beam-width, --nbest, --lm (a word n-gram
    model) or --hotword. Long files are read block by block and cut at pauses
    (docs/streaming.md).
    """
    from edgeasr_device.recognizer import Recognizer
    from edgeasr_device.streaming import EndpointOptions
    from edgeasr_device.streaming_model import open_model

    fmt = "json" if as_json else fmt
    if fmt in ("srt", "vtt") and len(audio) > 1 and output_dir is None:
        raise click.UsageError(f"--format {fmt} with several files needs --output-dir")
    with shown_warnings():
        recognizer = Recognizer(open_model(model_path, num_threads=threads,
                                           native_info=_verbose()), options=decoding,
                                margin=margin)
    endpoint = EndpointOptions(trailing_silence=silence, max_utterance=max_utterance)
    failures = 0
    for path in audio:
        started = time.perf_counter()
        try:
            utterances, seconds = transcribe_file(recognizer, path, endpoint)
        except AudioError as err:
            failures += 1
            click.echo(f"error: {err}", err=True)
            continue
        extra = {}
        if fmt == "json":
            elapsed = time.perf_counter() - started
            extra = {"file": path, "audio_seconds": round(seconds, 3),
                     "rtf": round(elapsed / max(seconds, 1e-9), 5)}
        if fmt == "txt" and len(utterances) == 1:
            result = utterances[0]
            text = _plain_line(result) + "\n"
            if result.no_match is not None:
                click.echo(f"{path}: no match: {result.no_match}", err=True)
        else:
            text = render(fmt, utterances, **extra)
        if output_dir is not None:
            _write_output(output_dir, path, fmt, text)
        elif fmt == "txt" and len(audio) > 1:
            click.echo(f"{path}\t" + " ".join(text.split("\n")).strip())
        else:
            click.echo(text, nl=False)
    if failures:
        sys.exit(1)


def transcribe_file(recognizer, path: str, endpoint) -> tuple[list, float]:
    """(utterances, audio seconds) of one file: whole when it is short and the model is a
    whole-utterance one (as before streaming existed), else streamed block by block."""
    from edgeasr_device.audio import audio_blocks, audio_duration

    chunked = callable(getattr(recognizer.model, "runner", None))
    if not chunked and audio_duration(path) <= endpoint.max_utterance:
        waveform = recognizer.waveform(path)
        result = recognizer.transcribe(waveform, sample_rate=recognizer.sample_rate)
        return [result], waveform.shape[0] / recognizer.sample_rate
    stream = recognizer.stream(endpoint)
    utterances, samples = [], 0
    for block in audio_blocks(path, recognizer.sample_rate):
        samples += block.shape[0]
        utterances.extend(stream.feed(block).finals)
    last = stream.finish()
    if last is not None:
        utterances.append(last)
    if not utterances:
        from edgeasr_device.decoding.base import EMPTY_TRANSCRIPT

        utterances = [EMPTY_TRANSCRIPT]
    return utterances, samples / recognizer.sample_rate


def _write_output(folder: str, audio_path: str, fmt: str, text: str) -> None:
    from pathlib import Path

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    target = out / (Path(audio_path).stem + "." + fmt)
    target.write_text(text, encoding="utf-8")
    click.echo(f"wrote {target}", err=True)


def _plain_line(result) -> str:
    """The text, and with a grammar its intent: ``text<TAB>Intent slot=value ...``."""
    if result.intent is None:
        return result.text
    slots = " ".join(f"{k}={v}" for k, v in result.intent.slots.items())
    return f"{result.text}\t{result.intent.name}{' ' + slots if slots else ''}"


@main.command()
@click.option("--model", "model_path", required=True, type=click.Path(exists=True, dir_okay=False))
@friendly_errors
def info(model_path: str) -> None:
    """Print the metadata embedded in a model file."""
    from edgeasr_device.artifact import read_metadata

    metadata = read_metadata(model_path)
    click.echo(metadata.to_json().decode())


def _register_groups() -> None:
    from edgeasr_device.cli_bench import bench
    from edgeasr_device.cli_listen import listen
    from edgeasr_device.cli_lm import lm
    from edgeasr_device.cli_serve import serve

    main.add_command(bench)
    main.add_command(lm)
    main.add_command(serve)
    main.add_command(listen)


_register_groups()

if __name__ == "__main__":
    main()
