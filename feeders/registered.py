"""Imports every feeder module so that each registers itself in ``utils.registry.FEEDERS``."""

from feeders import feeder, pose_pickle, posec3d  # noqa: F401
