"""Datasets that read the (N, C, T, V, M) tensors written by ``data_gen/`` (``feeders.feeder.Feeder``)
and the transforms they apply (augmentation, on-the-fly streams).

Feeders register in ``utils.registry.FEEDERS``; a config's ``feeder:`` names a registered feeder.
"""

from feeders import feeder  # noqa: F401
