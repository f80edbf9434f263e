"""``edgeasr-device serve``: a Wyoming speech-to-text server for Home Assistant's Assist."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from urllib.parse import urlparse

import click

from edgeasr_device.cli_options import (
    decoding_options,
    margin_option,
    model_option,
    shown_warnings,
)
from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.errors import EdgeAsrError

__all__ = ["serve"]

_LOOPBACK = ("127.0.0.1", "localhost", "::1")


@click.command()
@model_option
@click.option("--uri", default="tcp://127.0.0.1:10300", show_default=True,
              help="Where to listen: tcp://HOST:PORT (tcp://0.0.0.0:10300 for other machines), "
                   "unix:///PATH or stdio://.")
@click.option("--zeroconf", "zeroconf_name", is_flag=False, flag_value="", default=None,
              metavar="[NAME]", help="Announce the server by mDNS (_wyoming._tcp.local.) so Home "
              "Assistant discovers it; NAME defaults to this machine's MAC address.")
@click.option("--threads", default=1, show_default=True, help="Interpreter CPU threads per worker.")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 16),
              help="Recognisers decoding in parallel (each holds its own interpreter).")
@click.option("--language", default=None, help="Language to advertise [default: the model's, else en].")
@click.option("--name", default=None, help="Model name to advertise [default: the file's name].")
@click.option("--no-streaming", is_flag=True,
              help="Send only the final transcript (no transcript-start/-chunk/-stop).")
@click.option("--max-audio-seconds", default=30.0, show_default=True, type=click.FloatRange(1),
              help="Longest utterance accepted.")
@click.option("--max-chunk-bytes", default=1 << 20, show_default=True, type=click.IntRange(1024),
              help="Largest event payload (one audio chunk).")
@click.option("--max-connections", default=32, show_default=True, type=click.IntRange(1))
@click.option("--idle-timeout", default=60.0, show_default=True, type=click.FloatRange(1),
              help="Seconds a connection may stay silent.")
@click.option("--debug", is_flag=True, help="Log every connection and event.")
@margin_option
@decoding_options
def serve(model_path: str, uri: str, zeroconf_name: str | None, threads: int, workers: int,
          language: str | None, name: str | None, no_streaming: bool, max_audio_seconds: float,
          max_chunk_bytes: int, max_connections: int, idle_timeout: float, debug: bool,
          margin: float, decoding: DecodingOptions) -> None:
    """Serve a model to Home Assistant over the Wyoming protocol (see docs/home-assistant.md).

    Listens on loopback unless --uri says otherwise; decoding flags (e.g. --grammar) apply
    to every request.
    """
    try:
        from edgeasr_device.wyoming import AsrService, ServerOptions
        from edgeasr_device.wyoming import serve as serve_forever
    except ImportError as err:
        raise click.ClickException(f"the Wyoming server needs the wyoming package ({err}): "
                                   "pip install 'edgeasr-device[wyoming]'") from err
    from edgeasr_device.recognizer import Recognizer

    parsed = urlparse(uri)
    if zeroconf_name is not None and (parsed.scheme != "tcp" or parsed.hostname in _LOOPBACK):
        raise click.UsageError(f"--zeroconf announces this machine to the network, but {uri} "
                               "cannot be reached from it: use --uri tcp://0.0.0.0:10300")
    logging.basicConfig(level=logging.DEBUG if debug else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    options = ServerOptions(uri=uri, streaming=not no_streaming,
                            max_audio_seconds=max_audio_seconds,
                            max_payload_bytes=max_chunk_bytes, idle_timeout=idle_timeout,
                            max_connections=max_connections, workers=workers,
                            language=language, name=name)
    try:
        with shown_warnings():
            recognizers = [Recognizer(model_path, num_threads=threads, options=decoding,
                                      margin=margin)
                           for _ in range(workers)]
        service = AsrService(recognizers, options, name=Path(model_path).stem)
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve_forever(service, zeroconf_name,
                                      ready=lambda: click.echo(f"ready on {uri}", err=True)))
    except EdgeAsrError as err:
        raise click.ClickException(str(err)) from err
    except OSError as err:  # e.g. the port is taken
        raise click.ClickException(f"cannot listen on {uri}: {err.strerror or err}") from err
