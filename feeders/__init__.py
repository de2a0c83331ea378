"""Datasets that read the (N, C, T, V, M) tensors written by ``data_gen/`` (``feeders.feeder.Feeder``),
MMAction2 / PYSKL skeleton pickles (``feeders.pose_pickle``, with MMAction2's pipeline in
``feeders.pose_pipeline``), and the transforms they apply (augmentation, on-the-fly streams).

Feeders register in ``utils.registry.FEEDERS``; a config's ``feeder:`` names a registered feeder.
``feeders/registered.py`` imports every feeder module (this package itself stays light: the stream
math is used without torch, e.g. by ``ensemble.py``).
"""
