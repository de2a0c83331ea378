"""COCO-17 keypoints graph at the import path configs use: ``graph.coco.Graph``."""

from graph.graph import Graph as _Graph
from utils.registry import GRAPHS


@GRAPHS.register("graph.coco.Graph")
class Graph(_Graph):
    """``Graph(labeling_mode='spatial')`` for the ``coco`` layout."""

    def __init__(self, labeling_mode: str = "spatial"):
        super().__init__("coco", labeling_mode)
