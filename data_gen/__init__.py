"""Raw datasets to (N, C, T, V, M) float32 ``.npy`` tensors and ``(names, labels)`` label pickles."""
