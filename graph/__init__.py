"""Skeleton graphs. ``graph.Graph`` takes a layout name or a custom layout; the modules
``graph.ntu_rgb_d``, ``graph.kinetics``, ``graph.nw_ucla`` and ``graph.coco`` keep the import paths
that 2s-AGCN-style configs use (``graph: graph.ntu_rgb_d.Graph``)."""

from graph.graph import Graph, edge2mat, normalize_digraph
from graph.layouts import LAYOUTS, Layout, get_layout

__all__ = ["LAYOUTS", "Graph", "Layout", "edge2mat", "get_layout", "normalize_digraph"]

# The 2s-AGCN import paths register their graphs (utils.registry.GRAPHS) when imported.
from graph import coco, kinetics, ntu_rgb_d, nw_ucla  # noqa: F401
