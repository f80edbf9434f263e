"""``edgeasr``: prepare | train | evaluate | export | import | average | transcribe.
Thin: parse, call, print.

One module per group of verbs; each defines its commands on a local ``cli`` group and
``main`` collects them.
"""

from __future__ import annotations

import logging
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # before TensorFlow loads

import click

from edgeasr import __version__
from edgeasr.cli import data, evaluate, export, lm, plot, train
from edgeasr.cli.common import quiet_native_logs


@click.group()
@click.version_option(__version__, prog_name="edgeasr")
@click.option("-v", "--verbose", is_flag=True,
              help="Log more detail, including TensorFlow's and LiteRT's native start-up lines.")
def main(verbose: bool) -> None:
    """Train CTC speech recognisers and export them for the edgeasr-device runtime."""
    quiet_native_logs(verbose)
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )


for _module in (data, train, evaluate, export, lm, plot):
    for _name, _command in _module.cli.commands.items():
        main.add_command(_command, _name)
