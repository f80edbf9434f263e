"""``edgeasr prepare``: corpora on disk -> manifests, checked, split and reported.

``corpora`` (the one recipe registry and a module per recipe), ``pipeline`` (the dispatcher
and the shared corpus pipeline), ``options`` (:class:`~edgeasr.prepare.options.PrepareOptions`),
``audio_stage`` (``--preprocess`` over a corpus), ``splits`` (seeded train/dev/test splits),
``report`` (``prepare_report.json`` and its summary lines).
"""
