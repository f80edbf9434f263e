"""Live transcription from a microphone: ``edgeasr-device listen``.

:func:`microphone_blocks` reads a sound card with ``sounddevice`` (PortAudio; ``pip install
edgeasr-device[mic]``) and yields float32 mono blocks at the model's rate, resampling when
the card cannot record at that rate. :func:`listen` feeds any such blocks to a recogniser's
stream (:mod:`edgeasr_device.streaming`) and reports partial text as it changes and one final
line per utterance (endpointing cuts the utterances at pauses).
"""

from __future__ import annotations

import json
import queue
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TextIO

import numpy as np

from edgeasr_device.errors import EdgeAsrError

__all__ = ["ListenOutput", "list_devices", "listen", "microphone_blocks"]


class ListenOutput:
    """Writes partials and finals: on a terminal the partial is redrawn in place on one
    line; elsewhere (a pipe, a file) only finals are written, unless ``partials`` is set.
    With ``as_json`` every line is a JSON object (``{"partial": ...}`` or a transcript)."""

    def __init__(self, out: TextIO, partials: bool | None = None, as_json: bool = False):
        self.out = out
        self.tty = bool(getattr(out, "isatty", lambda: False)())
        self.partials = self.tty if partials is None else partials
        self.as_json = as_json
        self._shown = ""

    def partial(self, text: str) -> None:
        if not self.partials or text == self._shown:
            return
        if self.as_json:
            self.out.write(json.dumps({"partial": text}) + "\n")
        elif self.tty:
            self.out.write("\r\x1b[K" + text)
        else:
            self.out.write(f"... {text}\n")
        self._shown = text
        self.out.flush()

    def final(self, transcript: Any) -> None:
        if self.as_json:
            line = json.dumps(transcript.to_dict())
        else:
            line = transcript.text
            if transcript.intent is not None:
                slots = " ".join(f"{k}={v}" for k, v in transcript.intent.slots.items())
                line += f"\t{transcript.intent.name}{' ' + slots if slots else ''}"
        prefix = "\r\x1b[K" if self.tty and self.partials and not self.as_json else ""
        self.out.write(prefix + line + "\n")
        self._shown = ""
        self.out.flush()


def listen(recognizer: Any, blocks: Iterable[np.ndarray], output: ListenOutput,
           endpoint: Any = None) -> int:
    """Feed ``blocks`` (float32 ``(N,)`` at the recogniser's rate) to a stream until they end
    (or Ctrl-C); return the number of utterances written."""
    stream = recognizer.stream(endpoint=endpoint)
    written = 0
    try:
        for block in blocks:
            update = stream.feed(block)
            for final in update.finals:
                if final.text:
                    output.final(final)
                    written += 1
            output.partial(update.partial)
    except KeyboardInterrupt:
        pass
    last = stream.finish()
    if last is not None and last.text:
        output.final(last)
        written += 1
    return written


def microphone_blocks(sample_rate: int, device: int | str | None = None,
                      block_seconds: float = 0.1, seconds: float | None = None,
                      sounddevice: Any = None) -> Iterator[np.ndarray]:
    """Blocks of float32 mono samples at ``sample_rate`` from an input device, for
    ``seconds`` (None: until interrupted).

    Raises:
        EdgeAsrError: sounddevice is missing, or the device cannot be opened.
    """
    sd = sounddevice if sounddevice is not None else _import_sounddevice()
    rate, resampler = _device_rate(sd, device, sample_rate)
    blocksize = max(int(block_seconds * rate), 1)
    frames: queue.Queue = queue.Queue(maxsize=256)

    def on_audio(indata, frame_count, time_info, status) -> None:  # PortAudio's thread
        try:
            frames.put_nowait(np.array(indata[:, 0], dtype=np.float32))
        except queue.Full:  # decoding fell far behind: drop audio rather than memory
            pass

    total = None if seconds is None else int(seconds * rate)
    got = 0
    try:
        stream = sd.InputStream(samplerate=rate, device=device, channels=1, dtype="float32",
                                blocksize=blocksize, callback=on_audio)
    except Exception as err:  # PortAudioError, ValueError: whatever the backend says
        raise EdgeAsrError(f"cannot open the input device {device if device is not None else '(default)'}"
                           f": {err}; list devices with `edgeasr-device listen --list-devices`"
                           ) from err
    with stream:
        while total is None or got < total:
            block = frames.get()
            if total is not None:
                block = block[:total - got]
            got += block.shape[0]
            yield block if resampler is None else resampler(block, False)
    if resampler is not None:
        tail = resampler(np.zeros(0, np.float32), True)
        if tail.size:
            yield tail


def _device_rate(sd: Any, device: Any, wanted: int
                 ) -> tuple[int, Callable[[np.ndarray, bool], np.ndarray] | None]:
    """Record at the model's rate when the device can, else at its default rate + soxr."""
    try:
        sd.check_input_settings(device=device, samplerate=wanted, channels=1, dtype="float32")
    except Exception:  # noqa: BLE001 -- PortAudioError or ValueError, by host API: use another rate
        supported = False
    else:
        supported = True
    if supported:
        return wanted, None
    try:
        rate = int(sd.query_devices(device, "input")["default_samplerate"])
    except Exception as err:
        raise EdgeAsrError(f"no usable input device {device!r}: {err}") from err
    import soxr

    stream = soxr.ResampleStream(rate, wanted, 1, dtype="float32", quality="HQ")
    return rate, lambda x, last: stream.resample_chunk(x, last=last)


def _import_sounddevice() -> Any:
    try:
        import sounddevice
    except (ImportError, OSError) as err:  # OSError: the PortAudio library is missing
        raise EdgeAsrError(f"listening needs sounddevice and PortAudio ({err}): "
                           "pip install 'edgeasr-device[mic]' (and apt install libportaudio2)"
                           ) from err
    return sounddevice


def list_devices(out: TextIO | None = None, sounddevice: Any = None) -> None:
    """Print the input devices (index, name, channels, default rate) to ``out`` (stdout)."""
    out = out if out is not None else sys.stdout
    sd = sounddevice if sounddevice is not None else _import_sounddevice()
    for index, info in enumerate(sd.query_devices()):
        if info.get("max_input_channels", 0) > 0:
            out.write(f"{index}\t{info['name']}\t{info['max_input_channels']} ch\t"
                      f"{info['default_samplerate']:.0f} Hz\n")
