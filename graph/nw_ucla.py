"""Northwestern-UCLA (20 Kinect v1 joints) graph at the import path configs use: ``graph.nw_ucla.Graph``."""

from graph.graph import Graph as _Graph
from utils.registry import GRAPHS


@GRAPHS.register("graph.nw_ucla.Graph")
class Graph(_Graph):
    """``Graph(labeling_mode='spatial')`` for the ``nw_ucla`` layout."""

    def __init__(self, labeling_mode: str = "spatial"):
        super().__init__("nw_ucla", labeling_mode)
