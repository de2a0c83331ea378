"""PoseC3D's input: 2D keypoints -> pseudo-heatmap volumes, vectorised over persons, frames and joints.

The steps and their arithmetic are MMAction2 1.2.0's (``PoseDecode``, ``PoseCompact``, ``Resize``,
``RandomResizedCrop`` / ``CenterCrop``, ``Flip``, ``GeneratePoseTarget``, ``FormatShape('NCTHW_Heatmap')``),
so volumes equal MMAction2's for the same frame indices and random draws (float32 dtypes, truncations,
window cut-offs and the float64 steps after a crop included). Each step is a function on arrays:

* keypoints ``kp`` are (M, F, V, 2) (x, y in pixels; a joint at exactly (0, 0) counts as missing in
  ``pose_compact`` and ``flip``), scores (M, F, V); F = K·L frames of K clips of L frames, kept together
  until :func:`generate_heatmaps`;
* ``img_shape`` is (h, w) in pixels;
* random steps draw from ``rng`` (a ``numpy.random.RandomState`` or the ``numpy.random`` module) and
  ``py_rng`` (a ``random.Random`` or the ``random`` module), in MMAction2's order: the same draws as
  MMAction2 after ``np.random.seed(s); random.seed(s)`` when given ``RandomState(s)`` / ``Random(s)``.

:func:`generate_heatmaps` paints every Gaussian at once: a keypoint's window is at most 5×5 pixels, so
all (person, frame, joint) windows are one (P, 5, 5) array (σ = 0.6); limbs are grouped by window size. Persons
combine by maximum. The result is laid out directly as (A·K, C, L, H, W) (A = 2 with the mirrored
``double`` views), i.e. FormatShape's ``NCTHW_Heatmap`` without a transpose.

Joint layouts are data (:class:`HeatmapLayout`): COCO-17 with MMAction2's limb list by default; any
layout of :mod:`graph.layouts` (limbs = its edges, left/right joints from ``left_*`` / ``right_*`` joint
names) or a custom mapping.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from graph.layouts import get_layout
from utils.errors import ConfigError

EPS = 1e-4  # scores below this are not painted (GeneratePoseTarget's eps)

# MMAction2's PoseC3D limb list for COCO-17 (the configs' ``skeletons``; channel order of limb volumes).
COCO_LIMBS = (
    (0, 5), (0, 6), (5, 7), (7, 9), (6, 8), (8, 10), (5, 11), (11, 13), (13, 15), (6, 12), (12, 14),
    (14, 16), (0, 1), (0, 2), (1, 3), (2, 4), (11, 12),
)  # fmt: skip
COCO_LEFT = (1, 3, 5, 7, 9, 11, 13, 15)
COCO_RIGHT = (2, 4, 6, 8, 10, 12, 14, 16)


# --------------------------------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class HeatmapLayout:
    """Joints, limbs and the left/right pairs that a horizontal flip swaps.

    ``limbs`` are joint pairs (a, b), one limb channel each, in channel order; ``left[i]`` and
    ``right[i]`` are mirror images of each other.
    """

    name: str
    num_joints: int
    limbs: tuple[tuple[int, int], ...]
    left: tuple[int, ...]
    right: tuple[int, ...]

    def __post_init__(self) -> None:
        where = f"heatmap layout '{self.name}'"
        if len(self.left) != len(self.right):
            raise ConfigError(f"{where}: {len(self.left)} left joints but {len(self.right)} right joints")
        used = [j for pair in self.limbs for j in pair] + list(self.left) + list(self.right)
        bad = [j for j in used if not 0 <= j < self.num_joints]
        if bad:
            raise ConfigError(f"{where}: joint {bad[0]} is outside 0..{self.num_joints - 1}")
        if len(set(self.left) | set(self.right)) != 2 * len(self.left):
            raise ConfigError(f"{where}: a joint appears twice in left/right")

    def joint_flip_order(self) -> np.ndarray:
        """Permutation of the joints under a horizontal flip (left <-> right)."""
        order = np.arange(self.num_joints)
        order[list(self.left)], order[list(self.right)] = list(self.right), list(self.left)
        return order

    def limb_flip_pairs(self) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """(left_limb, right_limb): limb channels that are mirror images, derived from the joint pairs."""
        joint = self.joint_flip_order()
        index = {frozenset(limb): k for k, limb in enumerate(self.limbs)}
        left, right = [], []
        for k, (a, b) in enumerate(self.limbs):
            m = index.get(frozenset((int(joint[a]), int(joint[b]))))
            if m is None:
                raise ConfigError(
                    f"heatmap layout '{self.name}': limb {k} ({a}, {b}) has no mirror image among the limbs"
                )
            if k < m:
                left.append(k)
                right.append(m)
        return tuple(left), tuple(right)

    def limb_flip_order(self) -> np.ndarray:
        order = np.arange(len(self.limbs))
        left, right = self.limb_flip_pairs()
        order[list(left)], order[list(right)] = list(right), list(left)
        return order


def _mirror_pairs(names: Sequence[str]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """(left, right) joint indices paired by name: ``left_x`` <-> ``right_x``."""
    index = {n: i for i, n in enumerate(names)}
    left = [i for i, n in enumerate(names) if n.startswith("left_") and "right_" + n[5:] in index]
    return tuple(left), tuple(index["right_" + names[i][5:]] for i in left)


def get_heatmap_layout(
    spec: str | Mapping[str, Any] | HeatmapLayout = "coco",
    limbs: Sequence[Sequence[int]] | None = None,
    left: Sequence[int] | None = None,
    right: Sequence[int] | None = None,
) -> HeatmapLayout:
    """A heatmap layout from a layout name or mapping (see :mod:`graph.layouts`), with optional overrides.

    ``coco`` gets MMAction2's 17 PoseC3D limbs and its left/right joints; other layouts take their graph
    edges as limbs and pair ``left_*`` / ``right_*`` joint names. ``limbs``, ``left`` and ``right`` given
    here (e.g. from a config) replace the derived ones.
    """
    if isinstance(spec, HeatmapLayout):
        base = spec
    else:
        layout = get_layout(spec)
        if layout.name == "coco":
            base = HeatmapLayout("coco", 17, COCO_LIMBS, COCO_LEFT, COCO_RIGHT)
        else:
            pairs = _mirror_pairs(layout.joint_names) if layout.joint_names else ((), ())
            base = HeatmapLayout(layout.name, layout.num_node, tuple(layout.inward), *pairs)
    return HeatmapLayout(
        base.name,
        base.num_joints,
        base.limbs if limbs is None else tuple((int(a), int(b)) for a, b in limbs),
        base.left if left is None else tuple(int(j) for j in left),
        base.right if right is None else tuple(int(j) for j in right),
    )


# --------------------------------------------------------------------------------------------------
# geometry: PoseDecode, PoseCompact, Resize, crops, Flip
# --------------------------------------------------------------------------------------------------
def pose_decode(
    keypoint: np.ndarray, score: np.ndarray | None, frame_inds: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Keypoints (M, T, V, 2) and scores (M, T, V) at ``frame_inds`` (F,), as float32 (M, F, V, ...)."""
    frame_inds = np.asarray(frame_inds).reshape(-1)
    kp = keypoint[:, frame_inds].astype(np.float32)
    return kp, None if score is None else score[:, frame_inds].astype(np.float32)


def pose_compact(
    kp: np.ndarray,
    img_shape: tuple[int, int],
    padding: float = 0.25,
    threshold: float = 10,
    hw_ratio: float | tuple[float, float] | None = 1.0,
    allow_imgpad: bool = True,
) -> tuple[np.ndarray, tuple[int, int]]:
    """Shift keypoints into the padded box around all present joints; returns (kp, new img_shape).

    ``kp`` (M, F, V, 2) float32 is modified in place: NaN -> 0, then every non-zero x (y) minus the box's
    left (top). The box spans the non-zero coordinates of all persons and frames, widened by
    ``padding`` and made ``hw_ratio`` (h / w); a box narrower than ``threshold`` changes nothing.
    Float32 scalar arithmetic and ``int`` truncation as MMAction2's (numpy 2 rules).
    """
    h, w = img_shape
    kp[np.isnan(kp)] = 0.0
    kp_x, kp_y = kp[..., 0], kp[..., 1]
    nz_x, nz_y = kp_x != 0, kp_y != 0
    min_x = np.min(kp_x[nz_x], initial=np.inf)
    min_y = np.min(kp_y[nz_y], initial=np.inf)
    max_x = np.max(kp_x[nz_x], initial=-np.inf)
    max_y = np.max(kp_y[nz_y], initial=-np.inf)
    if max_x - min_x < threshold or max_y - min_y < threshold:
        return kp, (h, w)
    cx, cy = (max_x + min_x) / 2, (max_y + min_y) / 2
    half_w = (max_x - min_x) / 2 * (1 + padding)
    half_h = (max_y - min_y) / 2 * (1 + padding)
    if hw_ratio is not None:
        ratio = (hw_ratio, hw_ratio) if isinstance(hw_ratio, (int, float)) else tuple(hw_ratio)
        half_h = max(ratio[0] * half_w, half_h)
        half_w = max(1 / ratio[1] * half_h, half_w)
    x0, x1, y0, y1 = cx - half_w, cx + half_w, cy - half_h, cy + half_h
    if allow_imgpad:
        x0, y0, x1, y1 = int(x0), int(y0), int(x1), int(y1)
    else:
        x0, y0, x1, y1 = int(max(0, x0)), int(max(0, y0)), int(min(w, x1)), int(min(h, y1))
    kp_x[nz_x] -= x0
    kp_y[nz_y] -= y0
    return kp, (y1 - y0, x1 - x0)


def rescale_size(
    img_shape: tuple[int, int], scale: float | Sequence[int], keep_ratio: bool = True
) -> tuple[int, int]:
    """Resize's output (h, w): ``scale`` a factor, a (w, h) target, or with ``keep_ratio`` the largest size
    within the (long, short) edge limits (-1 = unlimited; ``(-1, 64)`` = short side 64)."""
    h, w = img_shape
    if not keep_ratio:
        new_w, new_h = scale
        return int(new_h), int(new_w)
    if isinstance(scale, (int, float)):
        factor = float(scale)
    else:
        edges = [np.inf if s == -1 else s for s in scale]
        factor = min(max(edges) / max(h, w), min(edges) / min(h, w))
    return int(h * factor + 0.5), int(w * factor + 0.5)


def resize(
    kp: np.ndarray, img_shape: tuple[int, int], scale: float | Sequence[int], keep_ratio: bool = True
) -> tuple[np.ndarray, tuple[int, int]]:
    """Scale all coordinates by (new_w / w, new_h / h) (a float32 pair); returns (kp, (new_h, new_w))."""
    h, w = img_shape
    new_h, new_w = rescale_size(img_shape, scale, keep_ratio)
    factor = np.array([new_w / w, new_h / h], dtype=np.float32)
    return kp * factor, (new_h, new_w)


def crop(kp: np.ndarray, box: tuple[int, int, int, int]) -> tuple[np.ndarray, tuple[int, int]]:
    """Subtract the box's (left, top) from every coordinate (missing joints too); float64 like MMAction2.

    ``box`` is (left, top, right, bottom); returns (kp, (bottom - top, right - left)).
    """
    left, top, right, bottom = box
    return kp - np.array([left, top], dtype=np.int64), (bottom - top, right - left)


def center_crop_box(img_shape: tuple[int, int], size: int | tuple[int, int]) -> tuple[int, int, int, int]:
    """CenterCrop's box for ``size`` (an int or (w, h)): offsets (img - size) // 2."""
    crop_w, crop_h = (size, size) if isinstance(size, int) else size
    h, w = img_shape
    left, top = (w - crop_w) // 2, (h - crop_h) // 2
    return left, top, left + crop_w, top + crop_h


def random_resized_crop_box(
    img_shape: tuple[int, int],
    area_range: tuple[float, float] = (0.08, 1.0),
    aspect_ratio_range: tuple[float, float] = (3 / 4, 4 / 3),
    rng: Any = np.random,
    py_rng: Any = random,
    max_attempts: int = 10,
) -> tuple[int, int, int, int]:
    """RandomResizedCrop's box: the first of ``max_attempts`` (area, aspect) candidates that fits, placed
    uniformly (``py_rng.randint``); if none fits, the centred square of side min(h, w)."""
    h, w = img_shape
    log_ratios = np.log(aspect_ratio_range[0]), np.log(aspect_ratio_range[1])
    aspect = np.exp(rng.uniform(*log_ratios, size=max_attempts))
    areas = rng.uniform(*area_range, size=max_attempts) * (h * w)
    cand_w = np.round(np.sqrt(areas * aspect)).astype(np.int32)
    cand_h = np.round(np.sqrt(areas / aspect)).astype(np.int32)
    for crop_w, crop_h in zip(cand_w.tolist(), cand_h.tolist()):
        if crop_h <= h and crop_w <= w:
            x0 = py_rng.randint(0, w - crop_w)
            y0 = py_rng.randint(0, h - crop_h)
            return x0, y0, x0 + crop_w, y0 + crop_h
    side = min(h, w)
    x0, y0 = (w - side) // 2, (h - side) // 2
    return x0, y0, x0 + side, y0 + side


def flip(
    kp: np.ndarray, score: np.ndarray | None, width: int, joint_order: np.ndarray
) -> tuple[np.ndarray, np.ndarray | None]:
    """Horizontal flip: every non-zero x becomes ``width - x``; joints permuted by ``joint_order``."""
    kp = kp.copy()
    kp_x = kp[..., 0]
    nz = kp_x != 0
    kp_x[nz] = width - kp_x[nz]
    kp = kp[:, :, joint_order]
    return kp, None if score is None else score[:, :, joint_order]


# --------------------------------------------------------------------------------------------------
# GeneratePoseTarget + FormatShape('NCTHW_Heatmap')
# --------------------------------------------------------------------------------------------------
def _window_starts(lo: np.ndarray, hi: np.ndarray, size: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel range [start, end) of windows reaching 3σ below ``lo`` and above ``hi`` (float32 arithmetic,
    truncation toward zero, clipped to 0..size)."""
    start = np.maximum(np.trunc(lo - 3 * sigma), 0).astype(np.int64)
    end = np.minimum(np.trunc(hi + 3 * sigma).astype(np.int64) + 1, size)
    return start, end


def _scatter_max(flat: np.ndarray, index: np.ndarray, values: np.ndarray, person: np.ndarray) -> None:
    """``flat[index] = max(flat[index], values)``; indices repeat only across persons, so one pass per
    person keeps every fancy-index assignment free of duplicates."""
    people = np.unique(person)
    for m in people:
        sel = person == m if len(people) > 1 else slice(None)
        idx, val = index[sel], values[sel]
        flat[idx] = np.maximum(flat[idx], val)


def _paint_points(
    flat: np.ndarray,
    base: np.ndarray,
    mu_x: np.ndarray,
    mu_y: np.ndarray,
    value: np.ndarray,
    person: np.ndarray,
    hw: tuple[int, int],
    sigma: float,
) -> None:
    """Gaussians ``value · exp(-|p - mu|² / 2σ²)`` in their ±3σ windows; ``base`` (P,) is the flat offset
    of each point's (view, channel, frame) map. float32 throughout, MMAction2's operation order."""
    H, W = hw
    x0, x1 = _window_starts(mu_x, mu_x, W, sigma)
    y0, y1 = _window_starts(mu_y, mu_y, H, sigma)
    keep = (x1 > x0) & (y1 > y0)
    if not keep.all():
        base, mu_x, mu_y, value, person = base[keep], mu_x[keep], mu_y[keep], value[keep], person[keep]
        x0, x1, y0, y1 = x0[keep], x1[keep], y0[keep], y1[keep]
    if not len(base):
        return
    offs = np.arange(max((x1 - x0).max(), (y1 - y0).max()))  # 5 for σ = 0.6
    xs = x0[:, None] + offs  # (P, w)
    ys = y0[:, None] + offs
    inside = (ys < y1[:, None])[:, :, None] & (xs < x1[:, None])[:, None, :]  # (P, w, w)
    dx = xs.astype(np.float32) - mu_x[:, None]
    dy = ys.astype(np.float32) - mu_y[:, None]
    patch = np.exp(-(dx[:, None, :] ** 2 + dy[:, :, None] ** 2) / 2 / sigma**2) * value[:, None, None]
    index = base[:, None, None] + ys[:, :, None] * W + xs[:, None, :]
    _scatter_max(
        flat, index[inside], patch[inside], np.broadcast_to(person[:, None, None], inside.shape)[inside]
    )


def _bucket(n: np.ndarray) -> np.ndarray:
    """Window extents rounded up to 4, 8, 12, 16, 24, 32, 48, 64, ... (limb windows are grouped by it)."""
    n = np.maximum(n, 1)
    step = np.maximum(4, 2 ** np.floor(np.log2(n)).astype(np.int64) // 2)
    return -(-n // step) * step


def _paint_limbs(
    flat: np.ndarray,
    base: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    score_a: np.ndarray,
    value: np.ndarray,
    person: np.ndarray,
    hw: tuple[int, int],
    sigma: float,
) -> None:
    """Limb heatmaps ``value · exp(-d² / 2σ²)``, d the distance to the segment a-b (a, b (P, 2) float32),
    in the ±3σ box around both ends; a limb shorter than 1 px is the keypoint Gaussian of a, drawn with
    ``score_a``. Distances in float32, the Gaussian in float64 (MMAction2's promotion). Limbs are
    grouped by window size and each group is computed on padded (P_g, h_g, w_g) windows."""
    H, W = hw
    x0, x1 = _window_starts(np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0]), W, sigma)
    y0, y1 = _window_starts(np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1]), H, sigma)
    d2_ab = (a[:, 0] - b[:, 0]) ** 2 + (a[:, 1] - b[:, 1]) ** 2
    drawn = (x1 > x0) & (y1 > y0)  # an empty box skips the limb, even a short one
    short = drawn & (d2_ab < 1)
    if short.any():
        _paint_points(flat, base[short], a[short, 0], a[short, 1], score_a[short], person[short], hw, sigma)
    rows = np.flatnonzero(drawn & ~short)
    key = _bucket(y1[rows] - y0[rows]) * 4096 + _bucket(x1[rows] - x0[rows])
    for k in np.unique(key):
        g = rows[key == k]
        ys = y0[g, None] + np.arange(k // 4096)  # (P_g, h_g)
        xs = x0[g, None] + np.arange(k % 4096)  # (P_g, w_g)
        inside = (ys < y1[g, None])[:, :, None] & (xs < x1[g, None])[:, None, :]
        yf, xf = ys.astype(np.float32)[:, :, None], xs.astype(np.float32)[:, None, :]
        ax, ay, bx, by = (c[g, None, None] for c in (a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
        d2ab = d2_ab[g, None, None]
        d2_start = (xf - ax) ** 2 + (yf - ay) ** 2
        d2_end = (xf - bx) ** 2 + (yf - by) ** 2
        coeff = (d2_start - d2_end + d2ab) / 2.0 / d2ab  # position of the projection along a -> b
        d2_line = (xf - (ax + coeff * (bx - ax))) ** 2 + (yf - (ay + coeff * (by - ay))) ** 2
        d2 = np.where(coeff <= 0, d2_start, np.where(coeff >= 1, d2_end, d2_line)).astype(np.float64)
        patch = np.exp(-d2 / 2.0 / sigma**2) * value[g, None, None].astype(np.float64)
        index = base[g, None, None] + ys[:, :, None] * W + xs[:, None, :]
        pers = np.broadcast_to(person[g, None, None], inside.shape)
        _scatter_max(flat, index[inside], patch[inside].astype(np.float32), pers[inside])


def generate_heatmaps(
    kp: np.ndarray,
    score: np.ndarray | None,
    img_shape: tuple[int, int],
    clip_len: int,
    *,
    sigma: float = 0.6,
    use_score: bool = True,
    with_kp: bool = True,
    with_limb: bool = False,
    layout: HeatmapLayout | None = None,
    double: bool = False,
    scaling: float = 1.0,
) -> np.ndarray:
    """GeneratePoseTarget + FormatShape('NCTHW_Heatmap'): (M, K·L, V, 2) keypoints -> float32 volumes
    (A·K, C, L, H, W).

    C = V keypoint channels and/or len(limbs) limb channels (keypoints first), H×W = ``img_shape``
    (times ``scaling``). Maps start at 0 and persons combine by maximum. A joint (a limb: its lower end
    score) with score below 1e-4 is not drawn; ``use_score=False`` draws every joint at 1. With
    ``double`` a mirrored copy (columns reversed, left/right channels swapped) follows the K views: A = 2.
    """
    layout = layout or get_heatmap_layout("coco")
    kp = kp.astype(np.float32)
    M, F, V = kp.shape[:3]
    if score is None or not use_score:
        score = np.ones((M, F, V), dtype=np.float32)
    score = score.astype(np.float32, copy=False)
    H, W = int(img_shape[0] * scaling + 0.5), int(img_shape[1] * scaling + 0.5)
    if scaling != 1:
        kp *= scaling
    if F % clip_len:
        raise ValueError(f"{F} frames are not a whole number of {clip_len}-frame clips")
    K, L = F // clip_len, clip_len
    num_c = (V if with_kp else 0) + (len(layout.limbs) if with_limb else 0)
    A = 2 if double else 1
    out = np.zeros((A, K, num_c, L, H, W), dtype=np.float32)
    flat = out[0].reshape(-1)
    clip, t = np.divmod(np.arange(F), L)
    frame_base = (clip * num_c * L + t) * (H * W)  # (F,) offset of channel 0 of frame f
    person = np.broadcast_to(np.arange(M)[:, None, None], (M, F, V))

    if with_kp:
        base = frame_base[None, :, None] + np.arange(V)[None, None, :] * (L * H * W)  # (1, F, V)
        sel = score >= EPS
        _paint_points(
            flat,
            np.broadcast_to(base, (M, F, V))[sel],
            kp[..., 0][sel],
            kp[..., 1][sel],
            score[sel],
            person[sel],
            (H, W),
            sigma,
        )
    if with_limb:
        ia = np.array([p[0] for p in layout.limbs], dtype=np.int64)
        ib = np.array([p[1] for p in layout.limbs], dtype=np.int64)
        first = V if with_kp else 0
        base = frame_base[None, :, None] + (first + np.arange(len(ia)))[None, None, :] * (L * H * W)
        s_a, s_b = score[:, :, ia], score[:, :, ib]  # (M, F, E)
        v = np.minimum(s_a, s_b)
        sel = v >= EPS
        E = len(ia)
        _paint_limbs(
            flat,
            np.broadcast_to(base, (M, F, E))[sel],
            kp[:, :, ia][sel],
            kp[:, :, ib][sel],
            s_a[sel],
            v[sel],
            np.broadcast_to(np.arange(M)[:, None, None], (M, F, E))[sel],
            (H, W),
            sigma,
        )
    if double:
        parts = [layout.joint_flip_order()] if with_kp else []
        if with_limb:
            parts.append(layout.limb_flip_order() + (V if with_kp else 0))
        order = np.concatenate(parts)
        out[1] = out[0][:, order, :, :, ::-1]
    return out.reshape(A * K, num_c, L, H, W)


# --------------------------------------------------------------------------------------------------
# the whole pipeline
# --------------------------------------------------------------------------------------------------
HEATMAP_KINDS = ("keypoint", "limb", "keypoint+limb")
CROPS = ("random_resized", "center", "none")


@dataclass(frozen=True)
class HeatmapPipeline:
    """PoseDecode -> PoseCompact -> Resize(short side) -> crop -> [Resize] -> [Flip] -> heatmaps.

    MMAction2's PoseC3D pipelines are two settings of it (after UniformSampleFrames):

    * train: ``crop='random_resized'`` (area ``area_range``), then Resize to ``input_size`` square,
      ``flip_ratio=0.5``;
    * val/test: ``crop='center'`` of ``input_size``; test adds ``double=True`` (mirrored views).

    ``heatmap`` selects keypoint channels (V), limb channels (len(limbs)) or both (keypoints first).
    Calling it returns the float32 volume (A·K, C, clip_len, H, W) (see :func:`generate_heatmaps`).
    """

    clip_len: int = 48
    heatmap: str = "keypoint"
    layout: HeatmapLayout = HeatmapLayout("coco", 17, COCO_LIMBS, COCO_LEFT, COCO_RIGHT)
    sigma: float = 0.6
    use_score: bool = True
    padding: float = 0.25
    threshold: float = 10
    hw_ratio: float | None = 1.0
    allow_imgpad: bool = True
    resize: int = 64
    crop: str = "center"
    input_size: int = 64
    area_range: tuple[float, float] = (0.56, 1.0)
    aspect_ratio_range: tuple[float, float] = (3 / 4, 4 / 3)
    flip_ratio: float = 0.0
    double: bool = False

    def __post_init__(self) -> None:
        if self.heatmap not in HEATMAP_KINDS:
            raise ConfigError(f"heatmap: expected one of {', '.join(HEATMAP_KINDS)}, got '{self.heatmap}'")
        if self.crop not in CROPS:
            raise ConfigError(f"crop: expected one of {', '.join(CROPS)}, got '{self.crop}'")
        for key in ("clip_len", "resize", "input_size"):
            if int(getattr(self, key)) < 1:
                raise ConfigError(f"{key}: must be a positive integer, got {getattr(self, key)}")
        if not 0 < self.area_range[0] <= self.area_range[1] <= 1:
            raise ConfigError(f"area_range: expected 0 < low <= high <= 1, got {list(self.area_range)}")

    @property
    def channels(self) -> int:
        """C of the volumes."""
        kinds = self.heatmap.split("+")
        return ("keypoint" in kinds) * self.layout.num_joints + ("limb" in kinds) * len(self.layout.limbs)

    def geometry(
        self,
        keypoint: np.ndarray,
        score: np.ndarray | None,
        img_shape: tuple[int, int],
        frame_inds: np.ndarray,
        rng: Any = np.random,
        py_rng: Any = random,
    ) -> tuple[np.ndarray, np.ndarray | None, tuple[int, int]]:
        """Keypoints (M, T, V, 2) -> sampled, compacted, resized, cropped (and flipped) (M, F, V, 2)."""
        kp, score = pose_decode(keypoint, score, frame_inds)
        kp, shape = pose_compact(
            kp, img_shape, self.padding, self.threshold, self.hw_ratio, self.allow_imgpad
        )
        kp, shape = resize(kp, shape, (-1, self.resize))
        if self.crop == "random_resized":
            box = random_resized_crop_box(shape, self.area_range, self.aspect_ratio_range, rng, py_rng)
            kp, shape = crop(kp, box)
            kp, shape = resize(kp, shape, (self.input_size, self.input_size), keep_ratio=False)
        elif self.crop == "center":
            kp, shape = crop(kp, center_crop_box(shape, self.input_size))
        if self.flip_ratio > 0 and rng.rand() < self.flip_ratio:
            kp, score = flip(kp, score, shape[1], self.layout.joint_flip_order())
        return kp, score, shape

    def __call__(
        self,
        keypoint: np.ndarray,
        score: np.ndarray | None,
        img_shape: tuple[int, int],
        frame_inds: np.ndarray,
        rng: Any = np.random,
        py_rng: Any = random,
    ) -> np.ndarray:
        """One sample's volume (A·K, C, clip_len, H, W); K = len(frame_inds) / clip_len clips."""
        kp, score, shape = self.geometry(keypoint, score, img_shape, frame_inds, rng, py_rng)
        kinds = self.heatmap.split("+")
        return generate_heatmaps(
            kp,
            score,
            shape,
            self.clip_len,
            sigma=self.sigma,
            use_score=self.use_score,
            with_kp="keypoint" in kinds,
            with_limb="limb" in kinds,
            layout=self.layout,
            double=self.double,
        )

    def mmaction2_steps(self) -> list[dict[str, Any]]:
        """The same pipeline as MMAction2 transform dicts (after UniformSampleFrames; for benchmarks)."""
        kinds = self.heatmap.split("+")
        steps: list[dict[str, Any]] = [
            dict(type="PoseDecode"),
            dict(type="PoseCompact", padding=self.padding, threshold=self.threshold, hw_ratio=self.hw_ratio,
                 allow_imgpad=self.allow_imgpad),
            dict(type="Resize", scale=(-1, self.resize)),
        ]  # fmt: skip
        if self.crop == "random_resized":
            steps.append(dict(type="RandomResizedCrop", area_range=self.area_range,
                              aspect_ratio_range=self.aspect_ratio_range))  # fmt: skip
            steps.append(dict(type="Resize", scale=(self.input_size, self.input_size), keep_ratio=False))
        elif self.crop == "center":
            steps.append(dict(type="CenterCrop", crop_size=self.input_size))
        if self.flip_ratio > 0:
            steps.append(dict(type="Flip", flip_ratio=self.flip_ratio, left_kp=list(self.layout.left),
                              right_kp=list(self.layout.right)))  # fmt: skip
        left_limb, right_limb = self.layout.limb_flip_pairs() if "limb" in kinds else ((), ())
        steps.append(dict(
            type="GeneratePoseTarget", sigma=self.sigma, use_score=self.use_score, with_kp="keypoint" in kinds,
            with_limb="limb" in kinds, skeletons=[list(p) for p in self.layout.limbs], double=self.double,
            left_kp=list(self.layout.left), right_kp=list(self.layout.right), left_limb=list(left_limb),
            right_limb=list(right_limb),
        ))  # fmt: skip
        steps.append(dict(type="FormatShape", input_format="NCTHW_Heatmap"))
        return steps
