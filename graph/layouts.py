"""Skeleton layouts: joints, edges and centre, the single source of truth for graphs and bones.

A :class:`Layout` holds the inward edges ``(joint, neighbour closer to the centre)`` (0-based) of one
skeleton. Everything else is derived from them:

* the adjacency matrices of :class:`graph.graph.Graph` (identity, inward, outward subsets);
* the bone pairs ``(joint, parent)`` used by the bone stream: the parent of a joint is its
  neighbour on the path to ``bone_root`` (breadth-first search over the undirected edges); the root
  is paired with itself, so its bone is the zero vector.

Named layouts: ``ntu_rgb_d`` (25 Kinect v2 joints), ``nturgb+d`` (the same joints with MMAction2's
graph edges), ``openpose`` / ``kinetics`` (18 OpenPose joints), ``nw_ucla`` (20 Kinect v1 joints),
``coco`` (17 COCO keypoints). MMAction2's ``openpose`` and ``coco`` graphs have exactly the edges and
centres of the layouts of those names here. A custom skeleton is given as data, e.g. in a YAML config::

    layout: {num_node: 15, edges: [[1, 0], [2, 1], ...], center: 0, bone_root: 0}

``index_base: 1`` accepts 1-based edge lists, ``joint_names`` is optional. MMAction2's dict layout
``{num_node, inward, center}`` is the same thing (``inward`` is a synonym of ``edges``).

A layout can also be a FILE (:func:`layout_from_file`), so that it travels with the data: a YAML/JSON
layout file (``./data/my_dataset/layout.yaml``, which ``custom_gendata.py`` writes) or a dataset's
``preprocess.json`` (the layout its converter recorded, or the one its reader implies). Paths are
relative to the working directory, like data paths.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from utils.errors import ConfigError, unknown_key_message

Edge = tuple[int, int]


@dataclass(frozen=True)
class Layout:
    """A skeleton: ``num_node`` joints, inward edges (0-based) and a centre joint.

    ``bone_root`` is the joint whose bone is zero (default: ``center``); 2s-AGCN roots its Kinetics
    bones at the nose rather than at the graph centre (the neck), and bone checkpoints depend on it.
    ``bones`` optionally fixes the bone pairs ``((joint, parent), ...)`` when they are not the tree of
    the graph edges (MMAction2's ``nturgb+d``: bones chain hand tip -> thumb -> hand, the graph hangs
    both on the hand).
    """

    name: str
    num_node: int
    inward: tuple[Edge, ...]
    center: int
    bone_root: int | None = None
    joint_names: tuple[str, ...] = field(default=(), compare=False)
    bones: tuple[Edge, ...] = ()

    def __post_init__(self) -> None:
        where = f"layout '{self.name}'"
        if self.num_node < 1:
            raise ConfigError(f"{where}: num_node must be a positive integer, got {self.num_node}")
        for i, j in self.inward:
            if not (0 <= i < self.num_node and 0 <= j < self.num_node):
                raise ConfigError(f"{where}: edge ({i}, {j}) has a joint outside 0..{self.num_node - 1}")
            if i == j:
                raise ConfigError(f"{where}: edge ({i}, {j}) links a joint to itself")
        for key in ("center", "bone_root"):
            value = getattr(self, key)
            if value is not None and not 0 <= value < self.num_node:
                raise ConfigError(f"{where}: {key} {value} is outside 0..{self.num_node - 1}")
        if self.joint_names and len(self.joint_names) != self.num_node:
            raise ConfigError(
                f"{where}: {len(self.joint_names)} joint_names given for {self.num_node} joints"
            )
        if self.bones and sorted(v for v, _ in self.bones) != list(range(self.num_node)):
            raise ConfigError(f"{where}: bones must name every joint 0..{self.num_node - 1} once")
        unreachable = [int(v) for v in np.flatnonzero(self.parents() < 0)]
        if unreachable:
            raise ConfigError(
                f"{where}: joints {unreachable} are not connected to joint {self.root} by the edges; "
                "every joint needs a path to the centre"
            )

    # -- derived structure ---------------------------------------------------------------------
    @property
    def root(self) -> int:
        return self.center if self.bone_root is None else self.bone_root

    @property
    def outward(self) -> tuple[Edge, ...]:
        return tuple((j, i) for i, j in self.inward)

    @property
    def self_link(self) -> tuple[Edge, ...]:
        return tuple((i, i) for i in range(self.num_node))

    def parents(self, root: int | None = None) -> np.ndarray:
        """Parent of every joint on the way to ``root`` (default ``bone_root``); the root is its own.

        Joints not connected to the root get -1 (a valid layout has none).
        """
        root = self.root if root is None else int(root)
        neighbours: list[list[int]] = [[] for _ in range(self.num_node)]
        for i, j in self.inward:
            neighbours[i].append(j)
            neighbours[j].append(i)
        parent = np.full(self.num_node, -1, dtype=np.int64)
        parent[root] = root
        queue = deque([root])
        while queue:
            v = queue.popleft()
            for w in sorted(neighbours[v]):
                if parent[w] < 0:
                    parent[w] = v
                    queue.append(w)
        return parent

    def bone_pairs(self, root: int | None = None) -> list[Edge]:
        """``[(joint, parent), ...]`` for every joint, in joint order; the root is ``(root, root)``.

        The layout's fixed ``bones`` when it has them and no other ``root`` is asked for.
        """
        if self.bones and root is None:
            return list(self.bones)
        return [(v, int(p)) for v, p in enumerate(self.parents(root))]


def _one_based(pairs: Sequence[Edge]) -> tuple[Edge, ...]:
    return tuple((i - 1, j - 1) for i, j in pairs)


# NTU RGB+D (Kinect v2), 25 joints. 1-based: 1 base of spine, 2 middle of spine, 3 neck, 4 head,
# 5-8 left shoulder/elbow/wrist/hand, 9-12 right shoulder/elbow/wrist/hand, 13-16 left hip/knee/
# ankle/foot, 17-20 right hip/knee/ankle/foot, 21 spine at the shoulders, 22 left hand tip,
# 23 left thumb, 24 right hand tip, 25 right thumb. Centre: 21.
NTU_RGB_D = Layout(
    name="ntu_rgb_d",
    num_node=25,
    inward=_one_based(
        [
            (1, 2),
            (2, 21),
            (3, 21),
            (4, 3),
            (5, 21),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 21),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
            (22, 23),
            (23, 8),
            (24, 25),
            (25, 12),
        ]
    ),  # fmt: skip
    center=20,
    joint_names=(
        "base_of_spine",
        "middle_of_spine",
        "neck",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hand",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "right_hand",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
        "spine_shoulder",
        "left_hand_tip",
        "left_thumb",
        "right_hand_tip",
        "right_thumb",
    ),  # fmt: skip
)

# MMAction2's / PYSKL's ``nturgb+d`` graph: the NTU joints above, centre 20 (spine at the shoulders),
# with hand tip and thumb both hanging on the hand (21, 22 -> 7; 23, 24 -> 11). Its bone stream
# (MMAction2's ``JointToBone``) keeps 2s-AGCN's chain tip -> thumb -> hand, i.e. NTU_RGB_D's bones.
NTURGBD_MMACTION = Layout(
    name="nturgb+d",
    num_node=25,
    inward=(
        (0, 1),
        (1, 20),
        (2, 20),
        (3, 2),
        (4, 20),
        (5, 4),
        (6, 5),
        (7, 6),
        (8, 20),
        (9, 8),
        (10, 9),
        (11, 10),
        (12, 0),
        (13, 12),
        (14, 13),
        (15, 14),
        (16, 0),
        (17, 16),
        (18, 17),
        (19, 18),
        (21, 7),
        (22, 7),
        (23, 11),
        (24, 11),
    ),  # fmt: skip
    center=20,
    joint_names=NTU_RGB_D.joint_names,
    bones=tuple(NTU_RGB_D.bone_pairs()),
)

# OpenPose-18 (Kinetics-skeleton). 0 nose, 1 neck, 2-4 right shoulder/elbow/wrist, 5-7 left
# shoulder/elbow/wrist, 8-10 right hip/knee/ankle, 11-13 left hip/knee/ankle, 14 right eye,
# 15 left eye, 16 right ear, 17 left ear. Graph centre: the neck; 2s-AGCN's bones root at the nose.
OPENPOSE = Layout(
    name="openpose",
    num_node=18,
    inward=(
        (4, 3),
        (3, 2),
        (7, 6),
        (6, 5),
        (13, 12),
        (12, 11),
        (10, 9),
        (9, 8),
        (11, 5),
        (8, 2),
        (5, 1),
        (2, 1),
        (0, 1),
        (15, 0),
        (14, 0),
        (17, 15),
        (16, 14),
    ),  # fmt: skip
    center=1,
    bone_root=0,
    joint_names=(
        "nose",
        "neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
        "right_eye",
        "left_eye",
        "right_ear",
        "left_ear",
    ),  # fmt: skip
)

# Northwestern-UCLA (Kinect v1), 20 joints. 1-based: 1 hip centre, 2 spine, 3 shoulder centre,
# 4 head, 5-8 left shoulder/elbow/wrist/hand, 9-12 right shoulder/elbow/wrist/hand, 13-16 left
# hip/knee/ankle/foot, 17-20 right hip/knee/ankle/foot. Centre: 3 (shoulder centre).
NW_UCLA = Layout(
    name="nw_ucla",
    num_node=20,
    inward=_one_based(
        [
            (1, 2),
            (2, 3),
            (4, 3),
            (5, 3),
            (6, 5),
            (7, 6),
            (8, 7),
            (9, 3),
            (10, 9),
            (11, 10),
            (12, 11),
            (13, 1),
            (14, 13),
            (15, 14),
            (16, 15),
            (17, 1),
            (18, 17),
            (19, 18),
            (20, 19),
        ]
    ),  # fmt: skip
    center=2,
    joint_names=(
        "hip_center",
        "spine",
        "shoulder_center",
        "head",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "left_hand",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "right_hand",
        "left_hip",
        "left_knee",
        "left_ankle",
        "left_foot",
        "right_hip",
        "right_knee",
        "right_ankle",
        "right_foot",
    ),  # fmt: skip
)

# COCO-17 keypoints (2D pose estimators: HRNet, YOLO-pose, ...). 0 nose, 1/2 left/right eye,
# 3/4 left/right ear, 5/6 shoulders, 7/8 elbows, 9/10 wrists, 11/12 hips, 13/14 knees,
# 15/16 ankles (left first). Centre: the nose.
COCO = Layout(
    name="coco",
    num_node=17,
    inward=(
        (15, 13),
        (13, 11),
        (16, 14),
        (14, 12),
        (11, 5),
        (12, 6),
        (9, 7),
        (7, 5),
        (10, 8),
        (8, 6),
        (5, 0),
        (6, 0),
        (1, 0),
        (3, 1),
        (2, 0),
        (4, 2),
    ),  # fmt: skip
    center=0,
    joint_names=(
        "nose",
        "left_eye",
        "right_eye",
        "left_ear",
        "right_ear",
        "left_shoulder",
        "right_shoulder",
        "left_elbow",
        "right_elbow",
        "left_wrist",
        "right_wrist",
        "left_hip",
        "right_hip",
        "left_knee",
        "right_knee",
        "left_ankle",
        "right_ankle",
    ),  # fmt: skip
)

LAYOUTS: dict[str, Layout] = {
    "ntu_rgb_d": NTU_RGB_D,
    "nturgb+d": NTURGBD_MMACTION,
    "openpose": OPENPOSE,
    "nw_ucla": NW_UCLA,
    "coco": COCO,
}
ALIASES: dict[str, str] = {
    "ntu": "ntu_rgb_d",
    "nturgbd": "ntu_rgb_d",
    "nturgb+d": "nturgb+d",
    "ntu_mmaction": "nturgb+d",
    "ntu_rgb_d": "ntu_rgb_d",
    "ntu120": "ntu_rgb_d",
    "kinetics": "openpose",
    "openpose": "openpose",
    "openpose18": "openpose",
    "nw_ucla": "nw_ucla",
    "ucla": "nw_ucla",
    "nw-ucla": "nw_ucla",
    "coco": "coco",
    "coco17": "coco",
}
_CUSTOM_KEYS = {"name", "num_node", "edges", "inward", "center", "bone_root", "joint_names", "index_base"}


def get_layout(spec: str | Mapping[str, Any] | Layout) -> Layout:
    """Resolve a layout name, a custom layout mapping or a :class:`Layout`."""
    if isinstance(spec, Layout):
        return spec
    if isinstance(spec, str):
        if is_layout_file(spec):
            return layout_from_file(spec)
        key = spec.strip().lower()
        if key not in ALIASES:
            raise ConfigError(
                unknown_key_message(spec, ALIASES, "layout").replace("unknown key", "unknown layout")
            )
        return LAYOUTS[ALIASES[key]]
    if isinstance(spec, Mapping):
        return layout_from_dict(spec)
    raise ConfigError(
        f"layout: expected a name or a mapping with num_node/edges/center, got {type(spec).__name__}"
    )


def layout_from_dict(spec: Mapping[str, Any]) -> Layout:
    """Build a custom layout from ``{num_node, edges, center[, bone_root, joint_names, index_base, name]}``.

    ``edges`` (or ``inward``) lists ``[joint, neighbour_closer_to_centre]`` pairs.
    """
    for key in spec:
        if key not in _CUSTOM_KEYS:
            raise ConfigError(unknown_key_message(str(key), _CUSTOM_KEYS, "layout"))
    missing = [k for k in ("num_node", "center") if k not in spec]
    if "edges" not in spec and "inward" not in spec:
        missing.append("edges")
    if missing:
        raise ConfigError(f"layout: custom layout is missing {', '.join(missing)}")
    base = int(spec.get("index_base", 0))
    if base not in (0, 1):
        raise ConfigError(f"layout: index_base must be 0 or 1, got {base}")
    raw_edges = spec.get("edges", spec.get("inward"))
    try:
        edges = tuple((int(i) - base, int(j) - base) for i, j in raw_edges)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"layout: edges must be a list of [joint, parent] integer pairs ({exc})") from exc
    bone_root = spec.get("bone_root")
    return Layout(
        name=str(spec.get("name", "custom")),
        num_node=int(spec["num_node"]),
        inward=edges,
        center=int(spec["center"]) - base,
        bone_root=None if bone_root is None else int(bone_root) - base,
        joint_names=tuple(str(n) for n in spec.get("joint_names", ())),
    )


# -- layouts as files ---------------------------------------------------------------------------
LAYOUT_FILE_SUFFIXES = (".yaml", ".yml", ".json")
PREPROCESS_FILE = "preprocess.json"
# The layout of the data a converter writes, by the reader its preprocess.json names (custom_gendata
# records the layout itself).
READER_LAYOUTS: dict[str, str] = {
    "data_gen.ntu_gendata.read_sample": "ntu_rgb_d",
    "data_gen.ucla_gendata.read_clip": "nw_ucla",
    "data_gen.kinetics_gendata.read_video": "openpose",
}


def is_layout_file(spec: str) -> bool:
    """Whether a layout string names a file (a YAML/JSON suffix, or a path that exists) rather than a name."""
    text = spec.strip()
    return text.lower().endswith(LAYOUT_FILE_SUFFIXES) or ("/" in text and Path(text).is_file())


def layout_from_file(path: Any) -> Layout:
    """The layout a file describes; ConfigError naming the file for anything else.

    * a layout file (YAML or JSON): ``{num_node, edges, center, ...}`` at the top level or under a
      ``layout:`` key (a config's ``graph_args`` block works as it is), or ``layout: <name>``;
    * a dataset's ``preprocess.json``: the layout its converter recorded (``custom_gendata.py``), else
      the layout its reader implies (:data:`READER_LAYOUTS`).

    A custom layout without ``name`` is named after the file (``mocap15.yaml`` -> ``mocap15``).
    """
    path = Path(path)
    try:
        obj = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"layout: cannot read the layout file {path} ({exc.strerror or exc})") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ConfigError(
            f"{path}{line}: not a valid YAML/JSON layout file ({getattr(exc, 'problem', exc)})"
        ) from None
    if isinstance(obj, Mapping) and "reader" in obj and "options" in obj:  # a preprocess.json
        recorded = (obj.get("options") or {}).get("layout")
        if recorded is None:
            recorded = READER_LAYOUTS.get(str(obj["reader"]))
        if recorded is None:
            raise ConfigError(
                f"{path}: the data's reader {obj['reader']} records no skeleton layout; name the layout in the config"
            )
        obj = recorded
    elif isinstance(obj, Mapping) and "layout" in obj and "num_node" not in obj:
        obj = obj["layout"]
    if isinstance(obj, str):
        if is_layout_file(obj):
            raise ConfigError(
                f"{path}: a layout file must describe the layout, not name another file ({obj})"
            )
        try:
            return get_layout(obj)
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    if not isinstance(obj, Mapping):
        raise ConfigError(
            f"{path}: expected a layout mapping {{num_node, edges, center}}, got {type(obj).__name__}"
        )
    try:
        return layout_from_dict({"name": path.stem, **obj})
    except ConfigError as exc:
        raise ConfigError(f"{path}: {exc}") from None


def layout_of_data(data_path: Any) -> tuple[Layout | None, Path, bool]:
    """The layout of the data beside ``data_path``, from its folder's ``preprocess.json``.

    Returns ``(layout or None, the preprocess.json path, recorded)``: ``recorded`` is True when the
    converter wrote the layout itself (its edges are the data's), False when only the reader implies
    the joints. ``(None, path, False)`` when there is no such file or it names no layout.
    """
    path = Path(data_path).parent / PREPROCESS_FILE
    if not path.is_file():
        return None, path, False
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        reader, options = str(obj["reader"]), dict(obj.get("options") or {})
    except (OSError, ValueError, KeyError, TypeError):
        return None, path, False
    if options.get("layout") is not None:
        return layout_from_file(path), path, True
    if reader in READER_LAYOUTS:
        return get_layout(READER_LAYOUTS[reader]), path, False
    return None, path, False


def undirected_edges(layout: Layout) -> set[frozenset[int]]:
    """The layout's edges without direction (what two layouts of the same skeleton share)."""
    return {frozenset(e) for e in layout.inward}
