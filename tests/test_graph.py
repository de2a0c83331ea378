import numpy as np
import pytest
from conftest import golden

from graph import Graph, coco, get_layout, kinetics, ntu_rgb_d, nw_ucla
from graph.layouts import LAYOUTS, layout_from_dict
from utils.errors import ConfigError


def test_ntu_and_kinetics_adjacency_equal_reference():
    ref = golden("graph_A.npz")
    for name, module in (("ntu", ntu_rgb_d), ("kinetics", kinetics)):
        A = module.Graph(labeling_mode="spatial").A
        assert A.dtype == np.float64
        np.testing.assert_array_equal(A, ref[name])


@pytest.mark.parametrize("module,V", [(ntu_rgb_d, 25), (kinetics, 18), (nw_ucla, 20), (coco, 17)])
def test_every_layout_builds_a_normalised_three_subset_graph(module, V):
    g = module.Graph()
    assert g.A.shape == (3, V, V)
    np.testing.assert_array_equal(g.A[0], np.eye(V))
    # inward: every non-root joint sends to exactly one parent -> column sums 1, root column 0
    col = g.A[1].sum(0)
    assert np.isclose(col, 1).sum() == V - 1 and col[g.center] == 0
    # outward subset is column-normalised too
    col_out = g.A[2].sum(0)
    assert np.all(np.isclose(col_out, 1) | (col_out == 0))
    assert len(g.inward) == V - 1 and g.neighbor == g.inward + g.outward


def test_bone_pairs_match_2s_agcn_tables():
    ntu_1based = [
        (1, 2), (2, 21), (3, 21), (4, 3), (5, 21), (6, 5), (7, 6), (8, 7), (9, 21), (10, 9), (11, 10),
        (12, 11), (13, 1), (14, 13), (15, 14), (16, 15), (17, 1), (18, 17), (19, 18), (20, 19), (22, 23),
        (21, 21), (23, 8), (24, 25), (25, 12),
    ]  # fmt: skip
    assert sorted(get_layout("ntu").bone_pairs()) == sorted((a - 1, b - 1) for a, b in ntu_1based)
    kinetics_pairs = [
        (0, 0), (1, 0), (2, 1), (3, 2), (4, 3), (5, 1), (6, 5), (7, 6), (8, 2), (9, 8), (10, 9), (11, 5),
        (12, 11), (13, 12), (14, 0), (15, 0), (16, 14), (17, 15),
    ]  # fmt: skip
    assert get_layout("kinetics").bone_pairs() == kinetics_pairs


def test_bones_and_graph_share_one_edge_list():
    # with the root at the graph centre, bone parents are exactly the graph's inward edges
    for layout in LAYOUTS.values():
        pairs = {p for p in layout.bone_pairs(root=layout.center) if p[0] != p[1]}
        assert pairs == set(layout.inward), layout.name


def test_impsgnv2_parents_are_ntu_tree_rooted_at_middle_spine():
    expected = [2, 2, 21, 3, 21, 5, 6, 7, 21, 9, 10, 11, 1, 13, 14, 15, 1, 17, 18, 19, 2, 23, 8, 25, 12]
    assert (get_layout("ntu_rgb_d").parents(root=1) + 1).tolist() == expected


def test_custom_layout_from_data_one_based():
    spec = {"num_node": 4, "edges": [[2, 1], [3, 2], [4, 2]], "center": 1, "index_base": 1, "name": "toy"}
    g = Graph(spec)
    assert g.num_node == 4 and g.center == 0
    assert get_layout(spec).bone_pairs() == [(0, 0), (1, 0), (2, 1), (3, 1)]
    # outward subset: joint 1 (0-based) has two children -> 0.5 each
    assert g.A[2][2, 1] == 0.5 and g.A[2][3, 1] == 0.5


@pytest.mark.parametrize(
    "spec,message",
    [
        ({"num_node": 3, "edges": [[1, 0]], "center": 0}, "not connected"),
        ({"num_node": 3, "edges": [[1, 0], [2, 5]], "center": 0}, "outside 0..2"),
        ({"num_node": 3, "edges": [[1, 0], [2, 1]], "centre": 0}, "did you mean 'center'"),
        ({"num_node": 2, "edges": [[1, 1]], "center": 0}, "itself"),
    ],
)
def test_bad_custom_layouts_are_clear_errors(spec, message):
    with pytest.raises(ConfigError, match=message):
        layout_from_dict(spec)


def test_unknown_layout_name_suggests_closest():
    with pytest.raises(ConfigError, match="ntu"):
        get_layout("ntu_rgbd")
    with pytest.raises(ConfigError, match="labeling_mode"):
        Graph("coco", labeling_mode="uniform")


@pytest.mark.parametrize("layout", ["nturgb+d", "coco", "openpose"])
@pytest.mark.parametrize("mode", ["spatial", "stgcn_spatial"])
def test_mmaction2_layouts_and_modes_equal_mmaction2_exactly(layout, mode):
    ref = golden("mmaction2/gcn_graph_A.npz")[f"{layout}/{mode}"]
    A = Graph(layout=layout, mode=mode).A  # MMAction2's graph_cfg=dict(layout=..., mode=...)
    assert A.dtype == np.float64
    np.testing.assert_array_equal(A, ref)
    if mode == "stgcn_spatial":  # one shared normalisation: the subsets sum to a column-stochastic matrix
        np.testing.assert_allclose(A.sum(0).sum(0), np.ones(A.shape[-1]))


def test_mmaction2_names_reuse_matching_layouts_and_keep_2s_agcn_bones():
    assert get_layout("coco") is coco.Graph().layout and get_layout("openpose") is kinetics.Graph().layout
    ntu, mm = get_layout("ntu_rgb_d"), get_layout("nturgb+d")
    assert mm.name == "nturgb+d" and mm.center == ntu.center == 20
    assert set(mm.inward) ^ set(ntu.inward) == {(21, 7), (23, 11), (21, 22), (23, 24)}  # the hands differ
    assert mm.bone_pairs() == ntu.bone_pairs()  # MMAction2's JointToBone pairs are 2s-AGCN's
    # MMAction2's dict layout {num_node, inward, center}
    spec = {"num_node": 25, "inward": [list(e) for e in mm.inward], "center": 20}
    np.testing.assert_array_equal(
        Graph(spec, mode="stgcn_spatial").A, Graph("nturgb+d", mode="stgcn_spatial").A
    )


def test_stgcn_spatial_larger_hops_and_mode_arguments():
    A = Graph("coco", mode="stgcn_spatial", max_hop=2).A
    assert A.shape == (5, 17, 17)
    np.testing.assert_allclose(A.sum(0).sum(0), np.ones(17))
    assert A[3, 0, 5] == 0 and A[4, 0, 7] > 0  # the nose is two hops closer to the centre than an elbow
    assert Graph("coco", labeling_mode="stgcn_spatial").labeling_mode == "stgcn_spatial"
    with pytest.raises(ConfigError, match="disagree"):
        Graph("coco", labeling_mode="stgcn_spatial", mode="spatial")
    with pytest.raises(ConfigError, match="max_hop"):
        Graph("coco", mode="stgcn_spatial", max_hop=0)
