"""PoseC3D's input: 2D keypoints -> pseudo-heatmap volumes, vectorised over persons, frames and joints.

The steps and their arithmetic are MMAction2 1.2.0's: ``PoseDecode`` (:mod:`feeders.pose_pipeline`),
``PoseCompact``, ``Resize``, ``RandomResizedCrop`` / ``CenterCrop``, ``Flip``, ``GeneratePoseTarget`` and
``FormatShape('NCTHW_Heatmap')``, so volumes equal MMAction2's for the same frame indices and random
draws (float32 dtypes, truncations, window cut-offs and the float64 steps after a crop included).
Each step is a function on arrays:

* keypoints ``kp`` are (M, F, V, 2) (x, y in pixels; a joint at exactly (0, 0) counts as missing in
  ``pose_compact`` and ``flip``), scores (M, F, V); F = K·L frames of K clips of L frames, kept together
  until :func:`generate_heatmaps`;
* ``img_shape`` is (h, w) in pixels;
* random steps draw from ``rng`` (a ``numpy.random.RandomState`` or the ``numpy.random`` module) and
  ``py_rng`` (a ``random.Random`` or the ``random`` module), in MMAction2's order: the same draws as
  MMAction2 after ``np.random.seed(s); random.seed(s)`` when given ``RandomState(s)`` / ``Random(s)``.

:func:`generate_heatmaps` paints every Gaussian at once: a keypoint's window is at most 5 x 5 pixels
(σ = 0.6), so all (person, frame, joint) windows are one (5, 5, P) array; limb windows are grouped by
size. Persons combine by maximum. The result is laid out directly as (A·K, C, L, H, W) (A = 2 with the
mirrored ``double`` views, written at mirrored positions), i.e. FormatShape's ``NCTHW_Heatmap``
without a transpose or a copy.

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

from feeders.pose_pipeline import pose_decode
from graph.layouts import get_layout
from utils.errors import ConfigError

EPS = 1e-4  # scores below this are not painted (GeneratePoseTarget's eps)
CHUNK = 1 << 16  # padded limb-window pixels computed at once

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
# geometry: PoseCompact, Resize, crops, Flip
# --------------------------------------------------------------------------------------------------
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
# Windows are computed as (h, w, P) arrays: P (the windows) innermost, so that every NumPy loop runs
# over the long axis.


def _window(lo: np.ndarray, hi: np.ndarray, size: int, sigma: float) -> tuple[np.ndarray, np.ndarray]:
    """Pixel range [start, end) reaching 3σ below ``lo`` and above ``hi`` (float32 arithmetic, truncation
    toward zero, clipped to 0..size), as MMAction2 computes it."""
    start = np.maximum(np.trunc(lo - 3 * sigma), 0).astype(np.int64)
    end = np.minimum(np.trunc(hi + 3 * sigma).astype(np.int64) + 1, size)
    return start, end


class _Canvas:
    """The output volume as a flat array, and where each (frame, channel) map and its mirror image start.

    ``base[f, c]`` is the flat offset of frame f's map of channel c in view half 0; with ``double`` the
    mirrored half gets every value again at column W - 1 - x of channel ``flip_order[c]``, which is
    exactly MMAction2's reversed and channel-swapped copy (no copy pass needed).
    """

    def __init__(self, out: np.ndarray, flip_order: np.ndarray | None) -> None:
        A, K, C, L, H, W = out.shape
        self.flat, self.W = out.reshape(-1), W
        clip, t = np.divmod(np.arange(K * L), L)
        frame_base = (clip[:, None] * C * L + t[:, None]) * (H * W)  # (F, 1)
        self.base = frame_base + np.arange(C)[None, :] * (L * H * W)  # (F, C)
        self.mirror = None
        if flip_order is not None:
            self.mirror = out[0].size + frame_base + np.asarray(flip_order)[None, :] * (L * H * W)

    def paint(self, frame: np.ndarray, chan: np.ndarray, ys: np.ndarray, xs: np.ndarray, values: np.ndarray,
              keep: np.ndarray) -> None:  # fmt: skip
        """Maximum of ``values`` (float32, those of the kept pixels in order) into the maps (frame[p],
        chan[p]) at rows ys (h, P) and columns xs (w, P) where ``keep`` (h, w, P); windows of several
        persons in one map combine by maximum."""
        rows = ys[:, None, :] * self.W
        targets = [(self.base, xs)] + ([(self.mirror, self.W - 1 - xs)] if self.mirror is not None else [])
        for base, cols in targets:
            index = (base[frame, chan] + rows + cols[None, :, :])[keep]
            np.maximum.at(self.flat, index, values)


def _paint_points(canvas: _Canvas, frame: np.ndarray, chan: np.ndarray, mu: np.ndarray, value: np.ndarray,
                  hw: tuple[int, int], sigma: float) -> None:  # fmt: skip
    """Gaussians ``value · exp(-|p - mu|² / 2σ²)`` (mu (P, 2) float32) in their ±3σ windows, all at once
    (5 × 5 × P for σ = 0.6); float32 with MMAction2's rounding."""
    H, W = hw
    x0, x1 = _window(mu[:, 0], mu[:, 0], W, sigma)
    y0, y1 = _window(mu[:, 1], mu[:, 1], H, sigma)
    drawn = np.flatnonzero((x1 > x0) & (y1 > y0))
    if not len(drawn):
        return
    frame, chan, mu, value = frame[drawn], chan[drawn], mu[drawn], value[drawn]
    x0, x1, y0, y1 = x0[drawn], x1[drawn], y0[drawn], y1[drawn]
    offs = np.arange(max((x1 - x0).max(), (y1 - y0).max()))[:, None]
    xs, ys = x0 + offs, y0 + offs  # (w, P)
    keep = (ys < y1)[:, None, :] & (xs < x1)[None, :, :]  # (w, w, P)
    dx2 = (xs.astype(np.float32) - mu[:, 0]) ** 2
    dy2 = (ys.astype(np.float32) - mu[:, 1]) ** 2
    # -(d²) / 2 / σ² == d² / -(2σ²) exactly (halving is exact): one division instead of three operations
    patch = np.exp((dx2[None, :, :] + dy2[:, None, :]) / -(2 * sigma**2)) * value
    canvas.paint(frame, chan, ys, xs, patch[keep], keep)


def _limb_groups(h: np.ndarray, w: np.ndarray) -> list[tuple[np.ndarray, int, int]]:
    """Windows grouped by padded size: (members, h_g, w_g), extents rounded up to 4, 8, 12, 16, 24, 32, ...,
    each group split so that its padded pixels stay near ``CHUNK`` (temporaries in the CPU cache)."""

    def bucket(n: np.ndarray) -> np.ndarray:
        step = np.maximum(4, 2 ** np.floor(np.log2(np.maximum(n, 1))).astype(np.int64) // 2)
        return -(-n // step) * step

    key = bucket(h) * 4096 + bucket(w)
    order = np.argsort(key, kind="stable")
    keys, starts = np.unique(key[order], return_index=True)
    groups = []
    for k, lo, hi in zip(keys.tolist(), starts.tolist(), [*starts[1:].tolist(), len(order)]):
        gh, gw = k // 4096, k % 4096
        step = max(1, CHUNK // (gh * gw))
        groups += [(order[i : min(i + step, hi)], gh, gw) for i in range(lo, hi, step)]
    return groups


def _paint_limbs(canvas: _Canvas, frame: np.ndarray, chan: np.ndarray, a: np.ndarray, b: np.ndarray,
                 score_a: np.ndarray, value: np.ndarray, hw: tuple[int, int], sigma: float) -> None:  # fmt: skip
    """Limb heatmaps ``value · exp(-d² / 2σ²)``, d the distance to the segment a-b (a, b (P, 2) float32),
    in the ±3σ box around both ends; a limb shorter than 1 px is the keypoint Gaussian of a, drawn with
    ``score_a``. Distances in float32 and the Gaussian in float64 (MMAction2's type promotion); pixels
    so far from the segment that the float32 value is 0 are skipped. Limbs are grouped by window size
    and each group is computed on padded (h_g, w_g, P_g) windows."""
    H, W = hw
    x0, x1 = _window(np.minimum(a[:, 0], b[:, 0]), np.maximum(a[:, 0], b[:, 0]), W, sigma)
    y0, y1 = _window(np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1]), H, sigma)
    d2_ab = (a[:, 0] - b[:, 0]) ** 2 + (a[:, 1] - b[:, 1]) ** 2
    drawn = (x1 > x0) & (y1 > y0)  # an empty box skips the limb, even a short one
    short = drawn & (d2_ab < 1)
    if short.any():
        _paint_points(canvas, frame[short], chan[short], a[short], score_a[short], hw, sigma)
    rows = np.flatnonzero(drawn & ~short)
    # v·exp(-d² / 2σ²) is 0 in float32 below 2^-150 (about e^-104): such pixels change nothing
    cut = (2 * sigma**2 * (np.log(np.maximum(value, 1e-30).astype(np.float64)) + 110.0)).astype(np.float32)
    twice_d2ab = 2 * d2_ab  # (x / 2) / d == x / (2d) exactly: halving and doubling are exact
    for members, gh, gw in _limb_groups(y1[rows] - y0[rows], x1[rows] - x0[rows]):
        g = rows[members]
        ys = y0[g] + np.arange(gh)[:, None]  # (h_g, P_g)
        xs = x0[g] + np.arange(gw)[:, None]  # (w_g, P_g)
        yf, xf = ys.astype(np.float32)[:, None, :], xs.astype(np.float32)[None, :, :]
        ax, ay, bx, by = a[g, 0], a[g, 1], b[g, 0], b[g, 1]
        d2_start = (xf - ax) ** 2 + (yf - ay) ** 2  # (h_g, w_g, P_g)
        d2_end = (xf - bx) ** 2 + (yf - by) ** 2
        coeff = (d2_start - d2_end + d2_ab[g]) / twice_d2ab[g]  # where the projection falls along a -> b
        d2_line = (xf - (ax + coeff * (bx - ax))) ** 2 + (yf - (ay + coeff * (by - ay))) ** 2
        d2 = np.where(coeff <= 0, d2_start, np.where(coeff >= 1, d2_end, d2_line))
        keep = (ys < y1[g])[:, None, :] & (xs < x1[g])[None, :, :] & (d2 <= cut[g])
        v = np.broadcast_to(value[g], keep.shape)[keep].astype(np.float64)
        values = (np.exp(d2[keep].astype(np.float64) / -(2 * sigma**2)) * v).astype(np.float32)
        canvas.paint(frame[g], chan[g], ys, xs, values, keep)


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
    (MMAction2 swaps only the keypoint channels when both kinds are drawn; here both are swapped.)
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
    num_kp = V if with_kp else 0
    num_c = num_kp + (len(layout.limbs) if with_limb else 0)
    flip_order = None
    if double:
        parts = [layout.joint_flip_order()] if with_kp else []
        if with_limb:
            parts.append(layout.limb_flip_order() + num_kp)
        flip_order = np.concatenate(parts)
    out = np.zeros((2 if double else 1, F // clip_len, num_c, clip_len, H, W), dtype=np.float32)
    canvas = _Canvas(out, flip_order)
    if with_kp:
        sel = score >= EPS  # (M, F, V)
        frame, chan = np.broadcast_to(np.arange(F)[:, None], (F, V)), np.broadcast_to(np.arange(V), (F, V))
        _paint_points(canvas, np.broadcast_to(frame, sel.shape)[sel], np.broadcast_to(chan, sel.shape)[sel],
                      kp[sel], score[sel], (H, W), sigma)  # fmt: skip
    if with_limb:
        ia = np.array([p[0] for p in layout.limbs], dtype=np.int64)
        ib = np.array([p[1] for p in layout.limbs], dtype=np.int64)
        E = len(ia)
        s_a = score[:, :, ia]  # (M, F, E)
        v = np.minimum(s_a, score[:, :, ib])
        sel = v >= EPS
        frame = np.broadcast_to(np.arange(F)[:, None], (M, F, E))[sel]
        chan = np.broadcast_to(num_kp + np.arange(E), (M, F, E))[sel]
        _paint_limbs(
            canvas, frame, chan, kp[:, :, ia][sel], kp[:, :, ib][sel], s_a[sel], v[sel], (H, W), sigma
        )
    return out.reshape(-1, num_c, clip_len, H, W)


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
        kp = pose_decode(keypoint, frame_inds)
        score = None if score is None else pose_decode(score, frame_inds)
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
