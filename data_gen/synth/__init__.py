"""The synthetic dataset generator behind ``data_gen/synthetic.py``, split by concern."""
