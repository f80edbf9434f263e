"""What every `edgeasr` command shares: error display."""

from __future__ import annotations

import functools

import click
from edgeasr_device.errors import EdgeAsrError


def friendly_errors(command):
    """Show input problems as one clear line and exit 2, not as a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (EdgeAsrError, ValueError, FileNotFoundError) as err:
            raise click.ClickException(str(err)) from err

    return wrapper
