"""Datasets that read the (N, C, T, V, M) tensors written by ``data_gen/`` (``feeders.feeder.Feeder``)
and the transforms they apply (augmentation, on-the-fly streams)."""
