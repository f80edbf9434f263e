"""`edgeasr plot`: a run's training curves as a PNG."""

from __future__ import annotations

import click

from edgeasr.cli.common import friendly_errors


@click.group()
def cli() -> None:
    pass


@cli.command()
@click.argument("run_dir", metavar="RUN", type=click.Path(file_okay=False))
@click.option("--out", "out_path", type=click.Path(dir_okay=False),
              help="PNG to write. Default: RUN/training.png.")
@friendly_errors
def plot(run_dir, out_path) -> None:
    """Plot training loss, dev WER/CER and the learning rate per epoch of a run."""
    from edgeasr.training.plot import plot_run

    path = plot_run(run_dir, out_path)
    click.echo(f"wrote {path}")
