"""NTU RGB+D (25 Kinect v2 joints) graph at the import path configs use: ``graph.ntu_rgb_d.Graph``."""

from graph.graph import Graph as _Graph
from utils.registry import GRAPHS


@GRAPHS.register("graph.ntu_rgb_d.Graph")
class Graph(_Graph):
    """``Graph(labeling_mode='spatial')`` for the ``ntu_rgb_d`` layout."""

    def __init__(self, labeling_mode: str = "spatial"):
        super().__init__("ntu_rgb_d", labeling_mode)
