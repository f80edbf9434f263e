"""``edgeasr-device listen``: transcribe a microphone live."""

from __future__ import annotations

import sys

import click

from edgeasr_device.cli_options import (
    decoding_options,
    margin_option,
    model_option,
    shown_warnings,
)
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.errors import EdgeAsrError

__all__ = ["listen"]


@click.command()
@model_option
@click.option("--device", default=None,
              help="Input device index or name (see --list-devices) [default: the system's].")
@click.option("--list-devices", is_flag=True, help="List the input devices and exit.")
@click.option("--threads", default=1, show_default=True, help="Interpreter CPU threads.")
@click.option("--trailing-silence", default=0.8, show_default=True, type=click.FloatRange(0.1),
              help="Seconds of silence that end an utterance.")
@click.option("--seconds", default=None, type=click.FloatRange(0.1),
              help="Stop after this much audio [default: at Ctrl-C].")
@click.option("--partials/--no-partials", default=None,
              help="Show partial text [default: on a terminal].")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@margin_option
@decoding_options
def listen(model_path: str, device: str | None, list_devices: bool, threads: int,
           trailing_silence: float, seconds: float | None, partials: bool | None,
           as_json: bool, margin: float, decoding: DecodingOptions) -> None:
    """Transcribe the microphone: partial text while you speak, one line per utterance.

    Needs `pip install 'edgeasr-device[mic]'` (sounddevice + PortAudio).
    """
    import edgeasr_device.listen as live

    try:
        if list_devices:
            live.list_devices()
            return
        from edgeasr_device.recognizer import Recognizer
        from edgeasr_device.streaming import EndpointOptions

        with shown_warnings():
            recognizer = Recognizer(model_path, num_threads=threads, options=decoding,
                                    margin=margin)
        chosen = int(device) if device is not None and device.isdigit() else device
        blocks = live.microphone_blocks(recognizer.sample_rate, chosen, seconds=seconds)
        output = live.ListenOutput(sys.stdout, partials=partials, as_json=as_json)
        click.echo("listening (Ctrl-C to stop)", err=True)
        live.listen(recognizer, blocks, output, EndpointOptions(trailing_silence=trailing_silence))
    except EdgeAsrError as err:
        raise click.ClickException(str(err)) from err
