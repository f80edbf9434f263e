"""Home Assistant's Wyoming protocol for edgeasr models: ``edgeasr-device serve``.

Built on the ``wyoming`` package (``pip install edgeasr-device[wyoming]``): its event types,
:class:`~wyoming.server.AsyncServer` and :class:`~wyoming.server.AsyncEventHandler`.

- :mod:`.options`: :class:`ServerOptions` (address, streaming, per-connection limits).
- :mod:`.events`: reading events within those limits.
- :mod:`.audio_in`: PCM in any rate/width/channels -> the model's waveform.
- :mod:`.handler`: one connection's protocol (describe, transcribe, audio, transcripts).
- :mod:`.server`: the shared service (workers, ``info``, zeroconf) and :func:`serve`.

See docs/home-assistant.md for the Assist pipeline setup.
"""

from edgeasr_device.wyoming.options import DEFAULT_URI, ServerOptions
from edgeasr_device.wyoming.server import AsrService, build_info, serve, start

__all__ = ["DEFAULT_URI", "AsrService", "ServerOptions", "build_info", "serve", "start"]
