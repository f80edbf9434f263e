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
@click.option("--init", "init", type=click.Path(exists=True, file_okay=False),
              help="Fine-tune: start from this run (its best checkpoint) or checkpoint folder.")
@click.option("--freeze", multiple=True, metavar="PATTERN",
              help="Transfer: keep layers matching this glob fixed (repeatable; names from "
                   "`edgeasr models --layers PRESET`), e.g. 'encoder/blocks/*'.")
@click.option("--new-vocabulary", metavar="FILE|LANG",
              help="Transfer: a new classifier for this alphabet (en, fr, or a file with one "
                   "token per line); every other weight is kept.")
@click.option("--lora", "lora_rank", type=click.IntRange(min=1), metavar="RANK",
              help="Parameter-efficient: LoRA adapters of this rank, all base weights frozen; "
                   "merged into plain kernels in checkpoints and exports.")
@click.option("--language", type=click.Choice(["en", "fr"]),
              help="Transcript normalisation (and, from scratch, the alphabet); default: the "
                   "vocabulary's language (English unless --new-vocabulary says otherwise).")
@click.option("--tokens", metavar="KIND[:SIZE[:TYPE]]",
              help="Output tokens of a fresh run: characters (default) or "
                   "sentencepiece[:SIZE[:unigram|bpe]], e.g. sentencepiece:256 (pieces trained "
                   "on the training transcripts, kept in RUN/tokenizer.model).")
@click.option("--distribute", "distribute_kind", metavar="KIND",
              help="Several devices: data-parallel (JAX: every device, and with the three "
                   "options below every machine) or mirrored (TensorFlow: every local GPU). "
                   "--batch-size stays the global batch. Default: none (one device).")
@click.option("--coordinator", metavar="HOST:PORT",
              help="Several machines (JAX): process 0's address; default "
                   "$KERAS_DISTRIBUTION_JOB_ADDRESSES.")
@click.option("--num-processes", type=int,
              help="Several machines (JAX): how many processes; default "
                   "$KERAS_DISTRIBUTION_NUM_PROCESSES.")
@click.option("--process-id", type=int,
              help="Several machines (JAX): this one's number from 0 (0 writes the run); "
                   "default $KERAS_DISTRIBUTION_PROCESS_ID.")
@friendly_errors
def train(train_manifest, dev_manifest, out_dir, preset, config_path, epochs, batch_size,
          learning_rate, seed, strict, resume, init, freeze, new_vocabulary, lora_rank,
          language, tokens, distribute_kind, coordinator, num_processes, process_id) -> None:
    """Train a model; checkpoints every epoch, the best by dev WER, resumable.

    Ctrl-C or SIGTERM saves a checkpoint at the current batch first; --resume goes on from it.
    With --init it fine-tunes: full (every weight), transfer (--freeze, --new-vocabulary)
    or LoRA (--lora RANK); it prints trainable and total parameters. --distribute trains on
    several GPUs or machines (README, "Several GPUs and machines").
    """
    from edgeasr.configs import ConfigError, load_config
    from edgeasr.models.presets import model_config as preset_config
    from edgeasr.training.config import TrainConfig
    from edgeasr.training.finetune import DEFAULT_LEARNING_RATES
    from edgeasr.training.trainer import train as run_training

    config = load_config(config_path)
    if config.augment is not None:
        raise ConfigError(f"{config.where('augment')}: this section is for `edgeasr augment`; "
                          "to train with it, put it under train: data: augment:")
    train_config = TrainConfig.from_dict(config.train, config.where("train")).replace(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, seed=seed, strict=strict
    )
    if language is not None:
        import dataclasses

        train_config = train_config.replace(
            data=dataclasses.replace(train_config.data, language=language))
    if tokens is not None:
        import dataclasses

        from edgeasr.training.config import TokensConfig

        train_config = train_config.replace(
            data=dataclasses.replace(train_config.data, tokens=TokensConfig.parse(tokens)))
    finetune = finetune_section(train_config.finetune, init, freeze, new_vocabulary, lora_rank)
    if finetune.init is not None and not resume:
        if preset or config.preset or config.model:
            raise ConfigError("--init takes the model from the initial run; leave out --preset "
                              "and the config's model section")
        model_config = None
        explicit_lr = learning_rate is not None or has_learning_rate(config.train)
        train_config = train_config.replace(finetune=finetune, learning_rate=None if explicit_lr
                                            else DEFAULT_LEARNING_RATES[finetune.kind])
    else:
        model_config = preset_config(preset or config.preset, config.model, config.where("model"))
        train_config = train_config.replace(finetune=finetune)
    distribute = distribute_section(train_config.distribute, distribute_kind, coordinator,
                                    num_processes, process_id)
    result = run_training(
        train_manifest, dev_manifest, out_dir, model_config,
        train_config if (not resume or epochs) else None, resume=resume,
        echo=click.echo, verbose=1 if sys.stdout.isatty() else 2,  # a progress bar only on a terminal
        distribute=distribute,
    )
    best = "n/a" if result.best_dev_wer is None else f"{100 * result.best_dev_wer:.2f}% (epoch {result.best_epoch})"
    click.echo(f"done: {result.epochs_done} epochs in {result.run_dir}; best dev WER {best}")
    if result.stopped_by is not None:
        sys.exit(128 + result.stopped_by)


def finetune_section(section, init, freeze, new_vocabulary, lora_rank):
    """The config's ``train: finetune:`` section with the command-line options applied, kind
    resolved (ConfigError for options that do not go together)."""
    import dataclasses

    changes = {"init": init, "freeze": tuple(freeze) or None, "new_vocabulary": new_vocabulary,
               "lora_rank": lora_rank}
    section = dataclasses.replace(section, **{k: v for k, v in changes.items() if v is not None})
    return section.resolved()


def distribute_section(section, kind, coordinator, num_processes, process_id):
    """The config's ``train: distribute:`` section with the command-line options applied
    (ConfigError for an unknown kind or options that do not go together)."""
    import dataclasses

    from edgeasr.training.config import DistributeConfig

    changes = {"kind": kind, "coordinator": coordinator, "num_processes": num_processes,
               "process_id": process_id}
    values = {**dataclasses.asdict(section), **{k: v for k, v in changes.items() if v is not None}}
    return DistributeConfig(**values)


def has_learning_rate(train_section) -> bool:
    """Whether a config file's ``train:`` mapping sets the learning rate (either layout)."""
    train_section = train_section or {}
    optim = train_section.get("optim") or {}
    return "learning_rate" in train_section or (isinstance(optim, dict) and "learning_rate" in optim)


@cli.command()
@click.argument("names", nargs=-1, metavar="[PRESET]...")
@click.option("--cost/--no-cost", default=True, show_default=True,
              help="Build each preset to count its parameters and MACs (takes seconds).")
@click.option("--rtf", is_flag=True,
              help="Also measure each preset's int8 real-time factor on this machine: export it "
                   "(random weights) to full int8 and time the device runtime on generated "
                   "audio (a minute or more per large preset).")
@click.option("--threads", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Interpreter threads for --rtf.")
@click.option("--seconds", "rtf_seconds", default=10.0, show_default=True,
              type=click.FloatRange(0.5, 600), help="Audio length timed by --rtf.")
@click.option("--layers", "layers_of", metavar="PRESET",
              help="List this preset's layers instead: the names --freeze patterns match, "
                   "parameters, and what --lora does with each.")
@friendly_errors
def presets(names: tuple[str, ...], cost: bool, rtf: bool, threads: int, rtf_seconds: float,
            layers_of: str | None) -> None:
    """List the model presets (or only the PRESETs named): encoder, parameters, MACs per
    second of audio and, with --rtf, measured int8 speed."""
    if layers_of is not None:
        _list_layers(layers_of)
        return
    from edgeasr.models.cost import DEFAULT_CONTEXT_SECONDS, model_cost
    from edgeasr.models.presets import PRESETS, get_preset

    chosen = {name: get_preset(name) for name in names} if names else PRESETS
    width = max(16, *map(len, chosen))
    rtf_head = f" {f'int8 RTF@{threads}':>12s}" if rtf else ""
    click.echo(f"{'preset':{width}s} {'features':9s} {'params':>8s} {'MMAC/s':>8s}{rtf_head}  "
               "encoder")
    for name, config in chosen.items():
        params = macs = "-"
        if cost:
            counted = model_cost(config)
            params, macs = f"{counted.parameters / 1e6:.2f}M", f"{counted.macs_per_second / 1e6:.1f}"
        speed = ""
        if rtf:
            from edgeasr_export.speed import measure_int8_speed

            speed = f" {measure_int8_speed(config, rtf_seconds, threads).rtf:12.4f}"
        features = f"{config.frontend.num_features} {config.frontend.kind}"
        click.echo(f"{name:{width}s} {features:9s} {params:>8s} {macs:>8s}{speed}  "
                   f"{config.encoder.describe()}")
    if cost:
        click.echo("MMAC/s: million multiply-accumulates per second of audio (frontend projections, "
                   f"encoder and classifier kernels, attention over {DEFAULT_CONTEXT_SECONDS:g} s "
                   "utterances; see edgeasr.models.cost)")
    if rtf:
        click.echo(f"int8 RTF@{threads}: seconds of compute per second of audio on this machine "
                   f"(network + greedy decoder, {rtf_seconds:g} s of audio, {threads} thread(s), "
                   "median of 3; random weights exported to full int8; see edgeasr_export.speed)")


@friendly_errors
def _list_layers(preset: str) -> None:
    from edgeasr.models.adapters.lora import lora_support
    from edgeasr.models.adapters.naming import leaf_layers, named_layers, parameter_count
    from edgeasr.models.presets import get_preset
    from edgeasr.runs import build_model
    from edgeasr_device.vocab import Vocabulary

    model = build_model(get_preset(preset), Vocabulary.english())
    leaves = leaf_layers(model)
    click.echo(f"{'layer':34s} {'type':20s} {'params':>9s}  --lora")
    for name, layer in named_layers(model).items():
        lora = lora_support(layer) if name in leaves else ""
        click.echo(f"{name:34s} {type(layer).__name__:20s} "
                   f"{parameter_count(layer.weights):9,d}  {lora}")
    click.echo(f"total {parameter_count(model.weights):,} parameters (English vocabulary); "
               "--freeze takes glob patterns over these names, e.g. 'encoder/blocks/*'")


cli.add_command(presets, "models")
