"""Export errors."""

from edgeasr_device.errors import EdgeAsrError


class ExportError(EdgeAsrError):
    """The model could not be exported for the device; the message says why and what to do."""
