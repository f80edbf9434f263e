"""The training input pipeline: manifests in, padded batches out.

``manifest`` (JSON-lines manifests), ``corpus`` (encoded utterances in memory or in shards),
``shards`` (the shard cache a manifest is decoded into once), ``batches`` (bucketed padded
batches with true lengths), ``loader`` (batches streamed from worker processes to ``fit``),
``throughput`` (``edgeasr bench data``). Preparing manifests is :mod:`edgeasr.prepare`;
augmentation is :mod:`edgeasr.augment`.
"""
