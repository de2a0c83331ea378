"""SGN/ImpSGNv2 clip sampling: the checked examples of shared/golden/sgn_sampling.md and its structure."""

import numpy as np
import pytest

from feeders.sgn import (
    SegmentSampler,
    build_sampler,
    drop_empty_frames,
    even_indices,
    rotation_matrix,
    segment_indices,
    split_persons,
)
from utils.errors import ConfigError


def two_person_clip(presence, C=3, V=4):
    """(C, T, V, 2) clip; frame t has person m iff presence[t][m]; values encode (t, m)."""
    x = np.zeros((C, len(presence), V, 2), np.float32)
    for t, persons in enumerate(presence):
        for m in persons:
            x[:, t, :, m] = 10 * (t + 1) + m + 1
    return x


def test_two_to_one_matches_reference_example():
    # frames (both, actor 1 only, empty, actor 2 only, both) -> [a1, a2, a1, a2, a1, a2]
    x = two_person_clip([(0, 1), (0,), (), (1,), (0, 1)])
    y = split_persons(drop_empty_frames(x))
    assert y.shape == (3, 6, 4, 1)
    assert y[0, :, 0, 0].tolist() == [11, 12, 21, 42, 51, 52]


def test_two_to_one_actor_counts_example():
    # actors per frame (2, 1, 2) -> [a1, a2, a1, a1, a2]
    y = split_persons(two_person_clip([(0, 1), (0,), (0, 1)]))
    assert [int(v) % 10 for v in y[0, :, 0, 0]] == [1, 2, 1, 1, 2]


def test_short_sequences_are_padded_then_taken_in_order():
    x = two_person_clip([(0,)] * 7)
    out = SegmentSampler(seg=20)(x)
    assert out.shape == (3, 20, 4, 1)
    assert out[0, :7, 0, 0].tolist() == [10 * (t + 1) + 1 for t in range(7)]
    assert not out[:, 7:].any()


def test_segment_indices_example_and_range():
    rng = np.random.default_rng(0)
    for _ in range(50):
        idx = segment_indices(45, 20, rng, random=True)  # d = 2: frame 2i or 2i + 1; 40..44 never used
        assert all(i in (2 * k, 2 * k + 1) for k, i in enumerate(idx))
    assert segment_indices(39, 20, rng, random=True).tolist() == list(range(20))  # d = 1
    assert segment_indices(100, 20, None, random=False).tolist() == [5 * k + 2 for k in range(20)]


def test_sampling_is_uniform_within_segments():
    rng = np.random.default_rng(1)
    counts = np.bincount(
        np.concatenate([segment_indices(80, 20, rng, True) for _ in range(4000)]), minlength=80
    )
    per_offset = counts.reshape(20, 4).sum(0) / 4000 / 20
    np.testing.assert_allclose(per_offset, 0.25, atol=0.02)


def test_even_segments_cover_the_whole_clip():
    rng = np.random.default_rng(3)
    seen = np.zeros(39, bool)
    for _ in range(300):
        idx = even_indices(39, 20, rng, random=True)  # segments of 1 or 2 frames over all 39
        bounds = np.arange(21) * 39 // 20
        assert ((idx >= bounds[:-1]) & (idx < bounds[1:])).all()
        seen[idx] = True
    assert seen.all()  # SGN's rule never reaches frames 20..38 of this clip
    middle = even_indices(100, 20, None, random=False)
    assert middle.tolist() == [5 * k + 2 for k in range(20)]  # same as SGN when L divides evenly
    assert even_indices(7, 20, None, random=True).tolist() == [k * 7 // 20 for k in range(20)]


def test_even_segments_repeat_short_clips_instead_of_padding():
    x = two_person_clip([(0,)] * 7 + [()] * 5)  # 7 frames, then padding that is dropped
    out = SegmentSampler(seg=20, segments="even")(x)
    assert out.shape == (3, 20, 4, 1)
    values = out[0, :, 0, 0].tolist()
    assert values == sorted(values) and set(values) == {10 * (t + 1) + 1 for t in range(7)}
    with pytest.raises(ConfigError, match="sampler.segments"):
        SegmentSampler(segments="uniform")


def test_test_time_clips_are_reproducible_per_sample():
    x = np.random.default_rng(2).normal(size=(3, 90, 25, 2)).astype(np.float32)
    sampler = SegmentSampler(seg=20, num_clips=5, deterministic=True)
    a, b = sampler(x, index=7), sampler(x, index=7)
    assert a.shape == (5, 3, 20, 25, 1)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, sampler(x, index=8))
    assert not all(np.array_equal(a[0], a[k]) for k in range(1, 5))


def test_keep_persons_mode():
    x = two_person_clip([(0, 1), (), (0,), (0, 1)] * 10)
    out = SegmentSampler(seg=5, persons="keep", random=False)(x)
    assert out.shape == (3, 5, 4, 2)


@pytest.mark.parametrize(
    "angles,vector,expected",
    [
        ((0, 0, 0.3), (1, 0, 0), (np.cos(0.3), -np.sin(0.3), 0)),
        ((0.3, 0, 0), (0, 1, 0), (0, np.cos(0.3), -np.sin(0.3))),
        ((0, 0.3, 0), (1, 0, 0), (np.cos(0.3), 0, np.sin(0.3))),
    ],
)
def test_rotation_sign_convention(angles, vector, expected):
    np.testing.assert_allclose(rotation_matrix(*angles) @ np.array(vector, float), expected, atol=1e-12)


def test_rotation_keeps_zero_frames_and_lengths():
    x = np.zeros((3, 40, 25, 1), np.float32)
    x[:, :30] = np.random.default_rng(0).normal(size=(3, 30, 25, 1))
    out = SegmentSampler(seg=40, random=False, rotation=0.5)(x)  # d = 1: all 40 frames, in order
    assert not out[:, 30:].any()
    np.testing.assert_allclose(
        np.linalg.norm(out[:, :30], axis=0), np.linalg.norm(x[:, :30], axis=0), rtol=1e-5
    )


def test_per_axis_rotation_ranges_and_scale():
    x = np.random.default_rng(1).normal(size=(3, 20, 25, 1)).astype(np.float32)
    yaw = SegmentSampler(seg=20, random=False, rotation=[0, 1.0, 0], deterministic=True)(x)
    np.testing.assert_allclose(yaw[1], x[1], rtol=0, atol=0)  # a rotation about y keeps every y
    assert not np.allclose(yaw[0], x[0])
    np.testing.assert_allclose(np.linalg.norm(yaw, axis=0), np.linalg.norm(x, axis=0), rtol=1e-5)
    scaled = [
        SegmentSampler(seg=20, random=False, scale=0.5, deterministic=True, seed=s)(x) for s in range(20)
    ]
    ratios = [float(np.linalg.norm(c) / np.linalg.norm(x)) for c in scaled]
    assert all(0.5 <= r <= 1.5 for r in ratios) and max(ratios) - min(ratios) > 0.3
    np.testing.assert_allclose(scaled[0] / ratios[0], x, rtol=1e-5, atol=1e-5)  # no rotation: pure scale
    # a scalar range draws exactly what the same list would
    a = SegmentSampler(seg=20, rotation=0.4, deterministic=True)(x, 3)
    b = SegmentSampler(seg=20, rotation=[0.4, 0.4, 0.4], deterministic=True)(x, 3)
    np.testing.assert_array_equal(a, b)
    for bad in ({"rotation": [0.1, 0.2]}, {"rotation": -1}, {"scale": 1.5}):
        with pytest.raises(ConfigError, match="sampler."):
            build_sampler(bad)


def test_minmax_normalization_maps_each_axis_to_unit_range_and_keeps_padding():
    x = np.zeros((3, 30, 25, 1), np.float32)
    x[:, :12] = np.random.default_rng(2).normal(size=(3, 12, 25, 1)) * [[[[1.0]]], [[[5.0]]], [[[0.1]]]] + 7
    out = SegmentSampler(seg=30, random=False, normalize="minmax")(x)  # d = 1: frames in order
    body = out[:, :12]
    np.testing.assert_allclose(body.min(axis=(1, 2, 3)), -1, atol=1e-6)
    np.testing.assert_allclose(body.max(axis=(1, 2, 3)), 1, atol=1e-6)
    assert not out[:, 12:].any()  # padding stays empty
    # an affine map per axis: the order of the values along each axis is kept
    np.testing.assert_array_equal(np.argsort(body[1].ravel()), np.argsort(x[1, :12].ravel()))
    with pytest.raises(ConfigError, match="sampler.normalize"):
        build_sampler({"normalize": "zscore"})


def test_unknown_sampler_option():
    with pytest.raises(ConfigError, match="did you mean 'num_clips'"):
        build_sampler({"num_clip": 5})


def test_2d_rotation_turns_the_image_plane_by_the_z_angle_only():
    x = np.random.default_rng(3).normal(size=(2, 20, 17, 1)).astype(np.float32)
    out = SegmentSampler(seg=20, random=False, rotation=[1.0, 1.0, 0.5], deterministic=True, seed=4)(x)
    # the angle the sampler drew for z (the same draw as for 3D data: three angles, z last)
    az = np.random.default_rng([4, 0]).uniform(-np.array([1.0, 1.0, 0.5]), [1.0, 1.0, 0.5], size=3)[2]
    expected = np.einsum("ij,jtvm->itvm", rotation_matrix(0, 0, az)[:2, :2], x.astype(np.float64))
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    # a true rotation: lengths and the angles between joints are kept (no foreshortening from x, y)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), np.linalg.norm(x, axis=0), rtol=1e-5)
    gram = np.einsum("ctvm,ctwm->tvw", out, out)
    np.testing.assert_allclose(gram, np.einsum("ctvm,ctwm->tvw", x, x), rtol=1e-4, atol=1e-4)
    # rotations about x and y need depth: 2D data are left as they are
    same = SegmentSampler(seg=20, random=False, rotation=[1.0, 1.0, 0.0], deterministic=True)(x)
    np.testing.assert_allclose(same, x, rtol=1e-6)


def test_the_score_channel_is_not_rotated_scaled_or_normalised():
    x = np.random.default_rng(5).normal(size=(3, 20, 17, 1)).astype(np.float32)
    x[2] = np.abs(x[2])  # a confidence channel
    options = {"seg": 20, "random": False, "rotation": 0.5, "scale": 0.3, "deterministic": True}
    with_score = build_sampler(options, score_channel=2)(x)
    np.testing.assert_array_equal(with_score[2], x[2])
    assert not np.allclose(with_score[:2], x[:2])
    mm = build_sampler({"seg": 20, "random": False, "normalize": "minmax"}, score_channel=2)(x)
    np.testing.assert_array_equal(mm[2], x[2])
    np.testing.assert_allclose(mm[:2].min(axis=(1, 2, 3)), -1, atol=1e-6)
    # without the score channel the third channel is z: rotated with x and y
    as_3d = build_sampler(options)(x)
    assert not np.allclose(as_3d[2], x[2])


def test_persons_auto_split_for_one_slot_keep_for_more():
    x = two_person_clip([(0, 1), (0,), (0, 1)] * 10)
    assert SegmentSampler(seg=5, random=False)(x).shape == (3, 5, 4, 1)  # SGN's default: split
    assert SegmentSampler(seg=5, random=False, num_person=1)(x).shape == (3, 5, 4, 1)
    assert SegmentSampler(seg=5, random=False, num_person=2)(x).shape == (3, 5, 4, 2)
    with pytest.raises(ConfigError, match="sampler.persons: expected 'auto', 'split' or 'keep'"):
        build_sampler({"persons": "both"})
