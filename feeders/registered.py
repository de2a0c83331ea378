"""Imports every feeder module so that each registers itself in ``utils.registry.FEEDERS``."""

from feeders import feeder  # noqa: F401
