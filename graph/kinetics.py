"""Kinetics-skeleton (18 OpenPose joints) graph at the import path configs use: ``graph.kinetics.Graph``."""

from graph.graph import Graph as _Graph
from utils.registry import GRAPHS


@GRAPHS.register("graph.kinetics.Graph")
class Graph(_Graph):
    """``Graph(labeling_mode='spatial')`` for the ``openpose`` layout."""

    def __init__(self, labeling_mode: str = "spatial"):
        super().__init__("openpose", labeling_mode)
