"""The one ``Graph`` class: adjacency matrices of a skeleton layout.

``Graph(layout, labeling_mode='spatial').A`` is a float64 array (K, V, V); models multiply features
from the right, ``x(..., V) @ A``, so ``A[k, v, w]`` is the weight with which joint v feeds joint w.
An edge (i, j) sets ``E[j, i] = 1``. Labeling modes (``mode`` is MMAction2's name for the argument):

* ``spatial`` (2s-AGCN, ST-GCN++, MMAction2's AAGCN), K = 3: the identity, the column-normalised
  inward matrix (every joint receives its parent's feature) and the column-normalised outward matrix
  (every parent receives the mean of its children's features);
* ``stgcn_spatial`` (ST-GCN), K = 1 + 2·max_hop: the neighbourhood within ``max_hop`` hops, with
  self-loops, column-normalised once, then split by hop distance and, for hops >= 1, into neighbours
  at least as far from the centre as the receiving joint and neighbours closer to it. The subsets
  sum to a column-stochastic matrix.
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


def hop_distance(layout: Layout, max_hop: int) -> np.ndarray:
    """(V, V) hop counts over the undirected edges; ``inf`` beyond ``max_hop``."""
    V = layout.num_node
    adjacency = np.eye(V, dtype=bool)
    for i, j in layout.inward:
        adjacency[i, j] = adjacency[j, i] = True
    dist = np.full((V, V), np.inf)
    reach = np.eye(V, dtype=bool)  # joints reachable within d hops
    for d in range(max_hop + 1):
        dist[reach & np.isinf(dist)] = d
        reach = (reach.astype(np.int64) @ adjacency.astype(np.int64)) > 0
    return dist


def stgcn_spatial_adjacency(layout: Layout, max_hop: int = 1) -> np.ndarray:
    """(1 + 2·max_hop, V, V) float64: ST-GCN's distance partition with one shared normalisation.

    Subset 0 holds the self-loops; for every hop h >= 1 one subset holds the sources v (h hops from
    the target w) with ``dist(v, centre) >= dist(w, centre)`` and the next the sources closer to the
    centre. All values come from the same column-normalised neighbourhood matrix.
    """
    hops = hop_distance(layout, max_hop)
    within = np.isfinite(hops)
    normalised = normalize_digraph(within.astype(np.float64))
    to_centre = hops[:, layout.center]  # (V,) distance of every joint to the centre
    not_closer = to_centre[:, None] >= to_centre[None, :]  # [v, w]: source v no closer than target w
    subsets = [np.where(hops == 0, normalised, 0.0)]
    for h in range(1, max_hop + 1):
        at_h = hops == h
        subsets.append(np.where(at_h & not_closer, normalised, 0.0))
        subsets.append(np.where(at_h & ~not_closer, normalised, 0.0))
    return np.stack(subsets)


LABELING_MODES = {"spatial": spatial_adjacency, "stgcn_spatial": stgcn_spatial_adjacency}


@GRAPHS.register("graph.Graph", aliases=("graph.graph.Graph",))
class Graph:
    """Adjacency matrices of a named or custom skeleton layout.

    Args:
        layout: a layout name (``ntu_rgb_d``, ``nturgb+d``, ``openpose``/``kinetics``, ``nw_ucla``,
            ``coco``), a mapping describing a custom skeleton (see :mod:`graph.layouts`; MMAction2's
            ``{num_node, inward, center}`` too) or a ``Layout``.
        labeling_mode: how edges are split into subsets: ``spatial`` or ``stgcn_spatial``.
        mode: MMAction2's name for ``labeling_mode`` (``Graph(**graph_cfg)`` works as it is).
        max_hop: neighbourhood radius of ``stgcn_spatial`` (1 in every MMAction2 config).

    Attributes (2s-AGCN names): ``A`` (K, V, V) float64, ``num_node``, ``self_link``, ``inward``,
    ``outward``, ``neighbor``, plus ``layout`` and ``center``.
    """

    def __init__(
        self,
        layout: str | Mapping[str, Any] | Layout = "ntu_rgb_d",
        labeling_mode: str = "spatial",
        mode: str | None = None,
        max_hop: int = 1,
    ):
        self.layout = get_layout(layout)
        if mode is not None:
            if labeling_mode not in ("spatial", mode):
                raise ConfigError(
                    f"graph_args: mode '{mode}' and labeling_mode '{labeling_mode}' disagree; give one"
                )
            labeling_mode = mode
        if labeling_mode not in LABELING_MODES:
            raise ConfigError(
                f"graph_args.labeling_mode: unknown mode '{labeling_mode}'; valid: {', '.join(LABELING_MODES)}"
            )
        if isinstance(max_hop, bool) or not isinstance(max_hop, int) or max_hop < 1:
            raise ConfigError(f"graph_args.max_hop: expected an integer >= 1, got {max_hop!r}")
        self.labeling_mode, self.max_hop = labeling_mode, max_hop
        self.num_node = self.layout.num_node
        self.center = self.layout.center
        self.self_link = list(self.layout.self_link)
        self.inward = list(self.layout.inward)
        self.outward = list(self.layout.outward)
        self.neighbor = self.inward + self.outward
        self.A = self.get_adjacency_matrix(labeling_mode)

    def get_adjacency_matrix(self, labeling_mode: str | None = None) -> np.ndarray:
        mode = labeling_mode or self.labeling_mode
        if mode == "stgcn_spatial":
            return stgcn_spatial_adjacency(self.layout, self.max_hop)
        return LABELING_MODES[mode](self.layout)

    def __repr__(self) -> str:
        return f"Graph(layout={self.layout.name!r}, labeling_mode={self.labeling_mode!r}, num_node={self.num_node})"
