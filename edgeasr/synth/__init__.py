"""Synthetic speech: TTS engines, the sentences they speak, and the synthetic corpus builder.

``engines`` (the :class:`~edgeasr.synth.engines.TTSEngine` interface and registry),
``espeak`` / ``piper`` / ``flite`` / ``festival`` (one engine each; flite and festival are
:class:`~edgeasr.synth.command.CommandEngine` subclasses), ``grammar`` (generated
sentences), ``text_file`` (sentences from a user's file), ``corpus_config`` / ``plan`` /
``render`` / ``corpus`` (what a corpus holds, who says what, one utterance, the builder).
"""
