"""Models. Each ``model.<name>.Model`` takes (N, C, T, V, M) input and returns logits (N, num_class)."""
