"""The one ``Graph`` class: adjacency matrices of a skeleton layout.

``Graph(layout, labeling_mode='spatial').A`` is a float64 array (K, V, V). In ``spatial`` mode K = 3:
the identity, the column-normalised inward matrix and the column-normalised outward matrix, where
an edge (i, j) sets ``E[j, i] = 1``. Models multiply features from the right, ``x(..., V) @ A``, so
in the inward subset every joint receives its parent's feature and in the outward subset every
parent receives the mean of its children's features (2s-AGCN's convention).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from graph.layouts import Edge, Layout, get_layout
from utils.errors import ConfigError
from utils.registry import GRAPHS


def edge2mat(links: Sequence[Edge], num_node: int) -> np.ndarray:
    """(V, V) float64 with ``A[j, i] = 1`` for every link (i, j)."""
    A = np.zeros((num_node, num_node))
    for i, j in links:
        A[j, i] = 1
    return A


def normalize_digraph(A: np.ndarray) -> np.ndarray:
    """Divide every column by its sum (columns summing to zero stay zero): ``A @ D^-1``."""
    col_sum = A.sum(axis=0)
    scale = np.zeros_like(col_sum)
    nonzero = col_sum > 0
    scale[nonzero] = 1.0 / col_sum[nonzero]
    return A * scale[None, :]


def spatial_adjacency(layout: Layout) -> np.ndarray:
    """(3, V, V) float64: identity, normalised inward, normalised outward."""
    V = layout.num_node
    return np.stack(
        (
            edge2mat(layout.self_link, V),
            normalize_digraph(edge2mat(layout.inward, V)),
            normalize_digraph(edge2mat(layout.outward, V)),
        )
    )


LABELING_MODES = {"spatial": spatial_adjacency}


@GRAPHS.register("graph.Graph", aliases=("graph.graph.Graph",))
class Graph:
    """Adjacency matrices of a named or custom skeleton layout.

    Args:
        layout: a layout name (``ntu_rgb_d``, ``openpose``/``kinetics``, ``nw_ucla``, ``coco``), a
            mapping describing a custom skeleton (see :mod:`graph.layouts`) or a ``Layout``.
        labeling_mode: how edges are split into subsets; only ``spatial`` (3 subsets).

    Attributes (2s-AGCN names): ``A`` (K, V, V) float64, ``num_node``, ``self_link``, ``inward``,
    ``outward``, ``neighbor``, plus ``layout`` and ``center``.
    """

    def __init__(
        self, layout: str | Mapping[str, Any] | Layout = "ntu_rgb_d", labeling_mode: str = "spatial"
    ):
        self.layout = get_layout(layout)
        if labeling_mode not in LABELING_MODES:
            raise ConfigError(
                f"graph_args.labeling_mode: unknown mode '{labeling_mode}'; valid: {', '.join(LABELING_MODES)}"
            )
        self.labeling_mode = labeling_mode
        self.num_node = self.layout.num_node
        self.center = self.layout.center
        self.self_link = list(self.layout.self_link)
        self.inward = list(self.layout.inward)
        self.outward = list(self.layout.outward)
        self.neighbor = self.inward + self.outward
        self.A = self.get_adjacency_matrix(labeling_mode)

    def get_adjacency_matrix(self, labeling_mode: str | None = None) -> np.ndarray:
        return LABELING_MODES[labeling_mode or self.labeling_mode](self.layout)

    def __repr__(self) -> str:
        return f"Graph(layout={self.layout.name!r}, labeling_mode={self.labeling_mode!r}, num_node={self.num_node})"
