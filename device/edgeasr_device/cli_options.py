"""The decoding flags every transcribing command shares (``edgeasr-device transcribe``,
``edgeasr evaluate``, ``edgeasr transcribe``), and how they become :class:`DecodingOptions`.

>>> @click.command()
... @decoding_options
... def transcribe(decoding: DecodingOptions): ...

Beam search is chosen when any beam flag is given (``--beam-width``, ``--nbest``, ``--lm``,
``--hotword``); otherwise decoding is greedy, as before. ``--grammar FILE`` chooses the
command-grammar decoder (the beam flags then serve its ``--grammar-mode bias``). A new group of flags is one entry in
:data:`FLAGS` plus its lines in :func:`options_from_flags`.
"""

from __future__ import annotations

import contextlib
import functools
import warnings
from collections.abc import Iterator
from typing import Any

import click

from edgeasr_device.decoding import DecodingOptions
from edgeasr_device.decoding.base import GRAMMAR_MODES, LM_WORD_BONUS
from edgeasr_device.errors import DecodingError, EdgeAsrError

__all__ = ["FLAGS", "decoding_options", "margin_option", "model_option", "options_from_flags",
           "shown_warnings"]

_DEFAULTS = DecodingOptions()

#: (parameter name, click option) of every decoding flag.
FLAGS: list[tuple[str, Any]] = [
    ("beam_width", click.option(
        "--beam-width", type=click.IntRange(min=1), default=None,
        help=f"CTC prefix beam search with this many beams [beam default: "
             f"{_DEFAULTS.beam_width}]. Without any beam flag decoding is greedy.")),
    ("nbest", click.option(
        "--nbest", type=click.IntRange(min=1), default=None,
        help="List this many alternatives with scores (JSON output).")),
    ("lm", click.option(
        "--lm", "lm", type=click.Path(dir_okay=False), default=None,
        help="Word n-gram language model: ARPA (.gz too) or compiled by "
             "`edgeasr-device lm compile`.")),
    ("lm_weight", click.option(
        "--lm-weight", type=float, default=_DEFAULTS.lm_weight, show_default=True,
        help="Weight of the language model's log-probabilities.")),
    ("word_bonus", click.option(
        "--word-bonus", type=float, default=None,
        help=f"Log bonus per word (negative: a penalty) [default: {LM_WORD_BONUS} "
             f"with --lm, else 0].")),
    ("oov_penalty", click.option(
        "--oov-penalty", type=click.FloatRange(min=0), default=_DEFAULTS.oov_penalty,
        show_default=True,
        help="Log penalty for words the language model does not know.")),
    ("hotwords", click.option(
        "--hotword", "hotwords", multiple=True, metavar="PHRASE[:WEIGHT]",
        help="Boost a word or phrase, e.g. 'kitchen:2.5' or 'turn on' (repeatable).")),
    # command grammars (edgeasr_device.decoding.grammar)
    ("grammar", click.option(
        "--grammar", type=click.Path(exists=True), default=None,
        help="Recognise the commands of a Home Assistant sentence-template file or folder "
             "(hassil YAML): text, intent and slots (JSON output), or no match.")),
    ("grammar_mode", click.option(
        "--grammar-mode", type=click.Choice(GRAMMAR_MODES), default=None,
        help="strict: only the grammar's sentences [default]; bias: open vocabulary pulled "
             "toward them (with --lm, mixed with that model).")),
    ("grammar_threshold", click.option(
        "--grammar-threshold", type=click.FloatRange(min=0), default=None,
        help=f"No match when the best sentence is this many nats per speech frame below the "
             f"free transcription [default: {_DEFAULTS.grammar_threshold}].")),
    ("grammar_min_confidence", click.option(
        "--grammar-min-confidence", type=click.FloatRange(0, 1), default=None,
        help=f"No match when a word's confidence is below this "
             f"[default: {_DEFAULTS.grammar_min_confidence}].")),
    ("grammar_skip_unusable", click.option(
        "--grammar-skip-unusable", is_flag=True, default=None,
        help="Leave out templates the model cannot say (characters outside its vocabulary, "
             "wildcard lists) instead of refusing the grammar.")),
]
_GRAMMAR_FLAGS = ("grammar", "grammar_mode", "grammar_threshold", "grammar_min_confidence",
                  "grammar_skip_unusable")

def friendly_errors(command):
    """Show input problems (any :class:`EdgeAsrError`) as one clear line with exit status 1.

    Nothing else is caught: any other exception is a bug and keeps its traceback. The
    ``edgeasr`` training CLI uses this same decorator.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except EdgeAsrError as err:
            raise click.ClickException(str(err)) from err

    return wrapper



def options_from_flags(beam_width: int | None = None, nbest: int | None = None,
                       lm: str | None = None, lm_weight: float = _DEFAULTS.lm_weight,
                       word_bonus: float | None = None, hotwords: tuple[str, ...] = (),
                       oov_penalty: float = _DEFAULTS.oov_penalty,
                       **extra: Any) -> DecodingOptions:
    """The options the flags describe (see the module docstring for the method chosen).

    Raises:
        DecodingError: values that do not fit together.
    """
    grammar = {k: v for k in _GRAMMAR_FLAGS if (v := extra.pop(k, None)) not in (None, False)}
    if extra:
        raise TypeError(f"unknown decoding flags {sorted(extra)}")
    if grammar:
        return _grammar_options(grammar, beam_width, nbest, lm, lm_weight, word_bonus, hotwords,
                                oov_penalty)
    beam = beam_width is not None or nbest is not None or lm is not None or bool(hotwords)
    if not beam:
        return DecodingOptions()
    width = beam_width if beam_width is not None else max(_DEFAULTS.beam_width, nbest or 1)
    return DecodingOptions(method="beam", beam_width=width, nbest=nbest or 1, lm=lm,
                           lm_weight=lm_weight, word_bonus=word_bonus,
                           oov_penalty=oov_penalty, hotwords=tuple(hotwords))


def _grammar_options(grammar: dict[str, Any], beam_width: int | None, nbest: int | None,
                     lm: str | None, lm_weight: float, word_bonus: float | None,
                     hotwords: tuple[str, ...], oov_penalty: float) -> DecodingOptions:
    """``method="grammar"``; the beam flags go with it (bias mode takes all of them)."""
    if "grammar" not in grammar:
        raise DecodingError(f"--{next(iter(grammar)).replace('_', '-')} needs --grammar FILE")
    width = beam_width if beam_width is not None else max(_DEFAULTS.beam_width, nbest or 1)
    return DecodingOptions(method="grammar", beam_width=width, nbest=nbest or 1, lm=lm,
                           lm_weight=lm_weight, word_bonus=word_bonus, oov_penalty=oov_penalty,
                           hotwords=tuple(hotwords), **grammar)


def decoding_options(command):
    """Decorator: add the decoding flags to a click command, which receives them as one
    ``decoding: DecodingOptions`` argument."""
    names = [name for name, _ in FLAGS]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        values = {name: kwargs.pop(name) for name in names if name in kwargs}
        try:
            kwargs["decoding"] = options_from_flags(**values)
        except DecodingError as err:
            raise click.UsageError(str(err)) from err
        return command(*args, **kwargs)

    for _, flag in reversed(FLAGS):
        wrapper = flag(wrapper)
    return wrapper


@contextlib.contextmanager
def shown_warnings() -> Iterator[None]:
    """Show Python warnings raised inside (e.g. language-model words skipped) as plain
    ``warning: ...`` lines on stderr, each once."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            yield
        finally:
            ours = [w for w in caught if w.category.__module__.startswith("edgeasr")]
            for message in dict.fromkeys(str(w.message) for w in ours):
                click.echo(f"warning: {message}", err=True)
            for w in caught:
                if w not in ours:
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)


def _model_path(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """``--model``'s value as a file: a packaged model's name resolved, a path checked."""
    import os

    from edgeasr_device.errors import ArtifactError
    from edgeasr_device.models import resolve_model

    try:
        path = str(resolve_model(value))
    except ArtifactError as err:
        raise click.BadParameter(str(err), ctx, param) from err
    if not os.path.isfile(path):
        raise click.BadParameter(f"{value!r} is neither a .tflite file nor a packaged model "
                                 "(en-starter)", ctx, param)
    return path


def model_option(command):
    """``--model PATH|NAME`` (default: the packaged ``en-starter``) as ``model_path``."""
    from edgeasr_device.models import DEFAULT_MODEL

    return click.option(
        "--model", "model_path", default=DEFAULT_MODEL, show_default=True, callback=_model_path,
        help="A .tflite file written by `edgeasr export` (--streaming too), or `en-starter`: "
             "the English model packaged with edgeasr-device (docs/starter-model.md).")(command)


def margin_option(command):
    """``--margin SECONDS`` (silence decoded around each utterance) as ``margin``; None:
    the model's own."""
    return click.option(
        "--margin", type=click.FloatRange(min=0), default=None,
        help="Seconds of silence decoded before and after each utterance, so that speech cut "
             "tight keeps its first and last sounds (0: none) [default: what the model file "
             "asks for, e.g. 0.2 for en-starter; 0 for a file without it; docs/streaming.md].")(command)
