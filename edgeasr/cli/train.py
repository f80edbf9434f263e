"""`edgeasr train | presets`: train a model, list the presets."""

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
    """Train a model; checkpoints every epoch, the best by dev WER, resumable."""
    from edgeasr.models.presets import get_preset
    from edgeasr.training.config import TrainConfig
    from edgeasr.training.trainer import load_yaml_config
    from edgeasr.training.trainer import train as run_training

    data = load_yaml_config(config_path) if config_path else {}
    model_config = get_preset(preset or data.get("preset", "small"))
    if data.get("model"):
        model_config = model_config.replace(**data["model"])
    train_config = TrainConfig.from_dict(data.get("train", {})).replace(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, strict=strict
    )
    result = run_training(
        train_manifest, dev_manifest, out_dir, model_config,
        train_config if (not resume or epochs) else None, resume=resume,
        verbose=1 if sys.stdout.isatty() else 2,  # a progress bar only on a terminal
    )
    best = "n/a" if result.best_dev_wer is None else f"{100 * result.best_dev_wer:.2f}% (epoch {result.best_epoch})"
    click.echo(f"done: {result.epochs_done} epochs in {result.run_dir}; best dev WER {best}")


@cli.command()
def presets() -> None:
    """List the model presets."""
    from edgeasr.models.presets import PRESETS

    for name, config in PRESETS.items():
        detail = (f"conv {config.conv.channels}ch x {len(config.conv.kernel_sizes)} blocks"
                  if config.encoder == "conv" else f"deepspeech width {config.deepspeech.width}")
        click.echo(f"{name:16s} {config.frontend.kind:6s} {detail}")
