"""Training and evaluation engine behind ``main.py``: config, runtime (devices, seeds, torchrun),
training loop, checkpoints, metrics and plots. Small modules, no god class."""
