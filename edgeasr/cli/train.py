"""`edgeasr train | presets` (alias `models`): train a model, list the presets."""

from __future__ import annotations

import sys

import click

from edgeasr.cli.common import friendly_errors


@click.group()
def cli() -> None:
    pass


@cli.command()
@click.option("--train", "train_manifest", type=click.Path(exists=True, dir_okay=False),
              help="Training manifest (JSON lines).")
@click.option("--dev", "dev_manifest", type=click.Path(exists=True, dir_okay=False),
              help="Dev manifest: WER/CER every epoch, picks the best checkpoint.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Run folder.")
@click.option("--preset", default=None, help="Model preset (see `edgeasr presets`). Default: small.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False),
              help="YAML with `preset`, `model` overrides and `train` options.")
@click.option("--epochs", type=int, help="Epochs (on --resume: the new total).")
@click.option("--batch-size", type=int, help="Utterances per batch.")
@click.option("--lr", "learning_rate", type=float, help="Peak learning rate.")
@click.option("--seed", type=int, help="Random seed.")
@click.option("--strict", is_flag=True, default=None, help="Fail on a bad manifest line instead of skipping it.")
@click.option("--resume", is_flag=True, help="Continue the run in --out from its last checkpoint.")
@friendly_errors
def train(train_manifest, dev_manifest, out_dir, preset, config_path, epochs, batch_size,
          learning_rate, seed, strict, resume) -> None:
    """Train a model; checkpoints every epoch, the best by dev WER, resumable.

    Ctrl-C or SIGTERM saves a checkpoint at the current batch first; --resume goes on from it.
    """
    from edgeasr.configs import ConfigError, load_config
    from edgeasr.models.presets import model_config as preset_config
    from edgeasr.training.config import TrainConfig
    from edgeasr.training.trainer import train as run_training

    config = load_config(config_path)
    if config.augment is not None:
        raise ConfigError(f"{config.where('augment')}: this section is for `edgeasr augment`; "
                          "to train with it, put it under train: data: augment:")
    model_config = preset_config(preset or config.preset, config.model, config.where("model"))
    train_config = TrainConfig.from_dict(config.train, config.where("train")).replace(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, strict=strict
    )
    result = run_training(
        train_manifest, dev_manifest, out_dir, model_config,
        train_config if (not resume or epochs) else None, resume=resume,
        echo=click.echo, verbose=1 if sys.stdout.isatty() else 2,  # a progress bar only on a terminal
    )
    best = "n/a" if result.best_dev_wer is None else f"{100 * result.best_dev_wer:.2f}% (epoch {result.best_epoch})"
    click.echo(f"done: {result.epochs_done} epochs in {result.run_dir}; best dev WER {best}")
    if result.stopped_by is not None:
        sys.exit(128 + result.stopped_by)


@cli.command()
@click.option("--cost/--no-cost", default=True, show_default=True,
              help="Build each preset to count its parameters and MACs (takes seconds).")
def presets(cost: bool) -> None:
    """List the model presets: encoder, parameters, MACs per second of audio."""
    from edgeasr.models.cost import model_cost
    from edgeasr.models.presets import PRESETS

    click.echo(f"{'preset':16s} {'features':9s} {'params':>8s} {'MMAC/s':>8s}  encoder")
    for name, config in PRESETS.items():
        params = macs = "-"
        if cost:
            counted = model_cost(config)
            params, macs = f"{counted.parameters / 1e6:.2f}M", f"{counted.macs_per_second / 1e6:.1f}"
        features = f"{config.frontend.num_features} {config.frontend.kind}"
        click.echo(f"{name:16s} {features:9s} {params:>8s} {macs:>8s}  {config.encoder.describe()}")
    if cost:
        click.echo("MMAC/s: million multiply-accumulates per second of audio (frontend projections, "
                   "encoder and classifier kernels; see edgeasr.models.cost)")


cli.add_command(presets, "models")
