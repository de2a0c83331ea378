"""SGN denoising (``data_gen/denoise.py``, ``ntu_gendata --denoise``): rules, quirks, golden files, CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import FIXTURES

from data_gen import denoise as dn
from data_gen import ntu_gendata as ntu
from data_gen.common import setup_logging
from feeders.sgn import SegmentSampler
from utils.errors import ConfigError, DataError
from utils.io import load_label_file, load_pickle

setup_logging()

NO_BODY = "S007C001P017R001A021.skeleton"  # 45 frames, none lists a body; not in the golden ignore list
REAPPEARS = "S002C001P006R002A050.skeleton"  # a body present in 136 of 156 frames, over frames 0..155


# -- a tiny writer of the official .skeleton layout ------------------------------------------------------
def write_skeleton(path: Path, num_frames: int, bodies: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """``bodies[id] = (frame indices, joints (n, 25, 3))``; frames list bodies in dict order; CRLF lines."""
    per_frame: list[list[tuple[str, np.ndarray]]] = [[] for _ in range(num_frames)]
    for body_id, (frames, joints) in bodies.items():
        for f, xyz in zip(frames, joints):
            per_frame[f].append((body_id, xyz))
    lines = [str(num_frames)]
    for listed in per_frame:
        lines.append(str(len(listed)))
        for body_id, xyz in listed:
            lines += [f"{body_id} 0 1 1 1 1 0 -0.03 0.02 2", "25"]
            lines += [f"{x:.7g} {y:.7g} {z:.7g} 268.3 248.6 996.3 648 0.8 -0.2 -0.4 0.4 2" for x, y, z in xyz]
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode())
    return path


def person(n: int, amp: float, seed: int = 0, offset: float = 0.0) -> np.ndarray:
    """(n, 25, 3) upright skeleton-like points (1.6 m tall, 0.3 m wide) swaying with amplitude ``amp``."""
    rng = np.random.default_rng(seed)
    base = np.stack([0.15 * np.cos(np.arange(25)), np.linspace(-0.8, 0.8, 25), np.full(25, 3.0)], axis=1)
    sway = amp * np.sin(0.4 * np.arange(n) + rng.uniform(0, 6))[:, None, None] * np.array([1.0, 0.5, 0.2])
    jitter = rng.normal(0, 0.005, size=(n, 25, 3))
    return np.round(base + sway + jitter + [offset, 0, 0], 4)


def furniture(n: int, offset: float = 1.0) -> np.ndarray:
    """(n, 25, 3) wide, flat points (x-extent 2 m, y-extent 0.2 m): noisy by the spread rule."""
    base = np.stack([np.linspace(-1, 1, 25), 0.1 * np.sin(np.arange(25)), np.full(25, 3.5)], axis=1)
    return np.round(base + np.linspace(0, 0.01, n)[:, None, None] + [offset, 0, 0], 4)


def f32(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype=np.float64).astype(np.float32)


def actor(sample: np.ndarray, m: int) -> np.ndarray:
    """(T, 25, 3) of person slot ``m`` of a (3, T, 25, 2) sample."""
    return sample[..., m].transpose(1, 2, 0)


def denoised(path: Path, **kwargs) -> tuple[np.ndarray, dn.DenoiseInfo]:
    return dn.sgn_sample(ntu.read_skeleton(path, body_ids=True), **kwargs)


ID_A, ID_B, ID_C, ID_D, ID_E = (f"7205759403793{k:04d}" for k in (1111, 2222, 3333, 4444, 5555))


# -- single body, translation ----------------------------------------------------------------------------
def test_single_body_is_not_denoised_only_compacted_and_translated(tmp_path):
    joints = person(8, 0.1)  # 8 frames: the length rule would remove it, but one body is never denoised
    path = write_skeleton(tmp_path / "one.skeleton", 11, {ID_A: (np.arange(3, 11), joints)})
    sample, info = denoised(path)
    assert sample.shape == (3, 300, 25, 2) and sample.dtype == np.float32
    assert info.empty_frames == 3 and info.frames == 8 and info.actor1 == (ID_A,)
    origin = f32(joints[0, 1])
    np.testing.assert_array_equal(actor(sample, 0)[:8], f32(joints) - origin)  # empty frames dropped
    assert not sample[:, 8:].any() and not sample[..., 1].any()
    assert np.all(actor(sample, 0)[0, 1] == 0)
    raw, _ = denoised(path, translation=False)
    np.testing.assert_array_equal(actor(raw, 0)[:8], f32(joints))


def test_single_body_zero_frame_is_kept_and_shifted_like_sgn(tmp_path):
    joints = person(20, 0.1)
    joints[5] = 0  # a frame listing the body with all-zero coordinates
    sample, info = denoised(write_skeleton(tmp_path / "zero.skeleton", 20, {ID_A: (np.arange(20), joints)}))
    assert info.frames == 20 and info.missing_frames == 0  # removal of missing frames: multi-body files only
    np.testing.assert_array_equal(actor(sample, 0)[5], np.broadcast_to(-f32(joints[0, 1]), (25, 3)))


# -- length rule ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("noise_frames", [11, 12])
def test_bodies_present_in_at_most_11_frames_are_noise(tmp_path, noise_frames):
    main = person(40, 0.3, seed=1)
    noise = person(noise_frames, 0.0, seed=2, offset=1.0)
    frames = np.arange(35, 35 + noise_frames)  # overlaps the end of the main body, then outlasts it
    path = write_skeleton(
        tmp_path / "len.skeleton", 35 + noise_frames, {ID_A: (np.arange(40), main), ID_B: (frames, noise)}
    )
    sample, info = denoised(path)
    np.testing.assert_array_equal(actor(sample, 0)[:40], f32(main) - f32(main[0, 1]))
    if noise_frames == 11:
        assert info.removed_by_length == (ID_B,) and info.actor2 == ()
        # the frames only the noise body was in are now empty: removed (multi-body file)
        assert info.missing_frames == 6 and info.frames == 40
        assert not sample[:, 40:].any() and not sample[..., 1].any()
    else:
        assert info.removed_by_length == () and info.actor2 == (ID_B,)
        assert info.missing_frames == 0 and info.frames == 47
        np.testing.assert_array_equal(actor(sample, 1)[35:47], f32(noise) - f32(main[0, 1]))


def test_no_body_outlasting_the_length_rule_is_an_error(tmp_path):
    path = write_skeleton(
        tmp_path / "S001C001P001R001A001.skeleton",
        10,
        {ID_A: (np.arange(10), person(10, 0.1)), ID_B: (np.arange(5), person(5, 0.1))},
    )
    with pytest.raises(
        DataError, match=r"S001C001P001R001A001\.skeleton: no body is present in more than 11 frames"
    ):
        ntu.read_sample(path, denoise=True)


# -- spread rule -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("noisy", "total", "removed"), [(143, 205, True), (113, 162, False), (69, 100, False)]
)
def test_spread_rule_ratio_threshold(tmp_path, noisy, total, removed):
    # 143 / 205 = 0.697561 and 113 / 162 = 0.697531: the closest ratios either side of 0.69754
    main = person(total, 0.3, seed=1)
    other = person(total, 0.05, seed=2, offset=1.0)
    other[:noisy] = furniture(noisy)  # x-extent > 0.8 x y-extent in `noisy` of its frames
    frames = np.arange(total)
    path = write_skeleton(tmp_path / "spr.skeleton", total, {ID_A: (frames, other), ID_B: (frames, main)})
    sample, info = denoised(path)
    assert info.removed_by_spread == ((ID_A,) if removed else ())
    assert info.actor1 == (ID_B,) and info.actor2 == (() if removed else (ID_A,))
    assert sample[..., 1].any() != removed


def test_spread_test_boundary_compares_in_float64():
    frames = np.zeros((5, 25, 3), dtype=np.float32)
    frames[:, 1, 1] = [1.0, 1.0, 1.0, 0.625, 1.0]  # y-extent per frame
    frames[:, 1, 0] = f32([0.75, 0.8, 0.9, 0.5, 0.5])  # x-extent per frame
    # float32(0.8) = 0.80000001 > 0.8 * 1.0 in float64 (NumPy 1.x promotion): noisy; 0.5 == 0.8 * 0.625: valid
    np.testing.assert_array_equal(dn.spread_valid(frames), [True, False, False, True, True])


def test_spread_rule_runs_body_by_body_while_more_than_one_is_left(tmp_path):
    bodies = {ID_A: (np.arange(30), furniture(30, 0.0)), ID_B: (np.arange(30), furniture(30, 2.0))}
    bodies[ID_C] = (np.arange(30), furniture(30, 4.0))
    sample, info = denoised(write_skeleton(tmp_path / "three.skeleton", 30, bodies))
    assert info.removed_by_spread == (ID_A, ID_B) and info.actor1 == (ID_C,)  # the last one is kept
    np.testing.assert_array_equal(
        actor(sample, 0)[:30], f32(furniture(30, 4.0)) - f32(furniture(30, 4.0)[0, 1])
    )


def test_spread_rule_lowers_the_motion_of_partly_noisy_bodies(tmp_path):
    calm = person(100, 0.02, seed=1)  # listed first; 30 wild noisy frames give it the largest raw motion
    calm[::10] = furniture(10, offset=3.0)
    calm[5::10] = furniture(10, offset=-3.0)
    calm[1::10] = furniture(10, offset=3.0)
    lively = person(100, 0.3, seed=2, offset=1.0)
    seq = ntu.read_skeleton(
        write_skeleton(
            tmp_path / "mot.skeleton", 100, {ID_A: (np.arange(100), calm), ID_B: (np.arange(100), lively)}
        ),
        body_ids=True,
    )
    bodies, _ = dn.collect_bodies(seq)
    assert bodies[0].motion > bodies[1].motion  # before the spread rule the calm body would be actor 1
    survivors, _, by_spread = dn.denoise_bodies(bodies)
    valid = dn.spread_valid(bodies[0].joints)
    assert by_spread == () and valid.sum() == 70
    assert [b.body_id for b in survivors] == [ID_B, ID_A]
    assert survivors[1].motion == dn.motion_of(f32(calm)[valid]) < bodies[1].motion == survivors[0].motion
    assert bodies[0].motion > bodies[1].motion  # the inputs are left as they were


# -- motion order and actor assignment ------------------------------------------------------------------
def test_two_actors_in_motion_order(tmp_path):
    slow, fast = person(50, 0.05, seed=1), person(50, 0.4, seed=2, offset=1.0)
    path = write_skeleton(
        tmp_path / "two.skeleton", 50, {ID_A: (np.arange(50), slow), ID_B: (np.arange(50), fast)}
    )
    sample, info = denoised(path)
    assert info.actor1 == (ID_B,) and info.actor2 == (ID_A,)
    origin = f32(fast[0, 1])
    np.testing.assert_array_equal(actor(sample, 0)[:50], f32(fast) - origin)
    np.testing.assert_array_equal(actor(sample, 1)[:50], f32(slow) - origin)


def _motions_descending(path: Path, order: list[str]) -> None:
    bodies, _ = dn.collect_bodies(ntu.read_skeleton(path, body_ids=True))
    by_id = {b.body_id: b.motion for b in bodies}
    assert [by_id[i] for i in order] == sorted(by_id.values(), reverse=True)  # the test's premise


@pytest.mark.parametrize("c_start", [40, 39])  # after actor 1's interval, or touching its last frame
def test_non_overlapping_body_joins_actor_1(tmp_path, c_start):
    a, b, c = person(40, 0.5, seed=1), person(80, 0.3, seed=2, offset=1.0), person(80 - c_start, 0.1, seed=3)
    bodies = {ID_C: (np.arange(c_start, 80), c), ID_B: (np.arange(80), b), ID_A: (np.arange(40), a)}
    bodies[ID_D] = (np.arange(10, 26), person(16, 0.02, seed=4))  # inside actor 1's grown interval [0, 79]
    path = write_skeleton(tmp_path / "merge.skeleton", 80, bodies)
    _motions_descending(path, [ID_A, ID_B, ID_C, ID_D])
    sample, info = denoised(path)
    assert info.actor1 == (ID_A, ID_C) and info.actor2 == (ID_B,) and info.discarded == (ID_D,)
    origin = f32(a[0, 1])
    one = actor(sample, 0)
    np.testing.assert_array_equal(one[:c_start], f32(a[:c_start]) - origin)
    np.testing.assert_array_equal(one[c_start:80], f32(c) - origin)  # the later body overwrites frame 39
    np.testing.assert_array_equal(actor(sample, 1)[:80], f32(b) - origin)


def test_overlapping_bodies_are_discarded_and_actor_2_starts_at_frame_0(tmp_path):
    a, b = person(80, 0.6, seed=1), person(30, 0.4, seed=2, offset=1.0)
    f, c, d = person(14, 0.3, seed=3), person(16, 0.2, seed=4), person(31, 0.1, seed=5, offset=-1.0)
    bodies = {
        ID_A: (np.arange(80), a),
        ID_B: (np.arange(20, 50), b),  # overlaps actor 1 -> actor 2; actor 2's interval becomes [0, 49]
        ID_E: (np.arange(2, 16), f),  # before B, but inside actor 2's [0, 49] (the virtual start) -> out
        ID_C: (np.arange(30, 46), c),  # overlaps both -> out
        ID_D: (np.arange(49, 80), d),  # touches actor 2's end -> actor 2
    }
    path = write_skeleton(tmp_path / "four.skeleton", 80, bodies)
    _motions_descending(path, [ID_A, ID_B, ID_E, ID_C, ID_D])
    sample, info = denoised(path)
    assert info.actor1 == (ID_A,) and info.actor2 == (ID_B, ID_D) and info.discarded == (ID_E, ID_C)
    two, origin = actor(sample, 1), f32(a[0, 1])
    assert not two[:20].any()
    np.testing.assert_array_equal(two[20:49], f32(b[:29]) - origin)
    np.testing.assert_array_equal(two[49:80], f32(d) - origin)


# -- missing frames, the interval quirk, translation -----------------------------------------------------
def test_interval_quirk_shifts_a_reappearing_body_and_fix_intervals_does_not(tmp_path):
    a = person(60, 0.5, seed=1)
    b_frames = np.r_[0:20, 35:60]  # gone in frames 20..34
    b = person(45, 0.1, seed=2, offset=1.0)
    path = write_skeleton(tmp_path / "gap.skeleton", 60, {ID_A: (np.arange(60), a), ID_B: (b_frames, b)})
    origin = f32(a[0, 1])
    quirk, info = denoised(path)
    assert info.actor2 == (ID_B,)
    np.testing.assert_array_equal(actor(quirk, 1)[:45], f32(b) - origin)  # rows 0..44: frames shifted
    assert not actor(quirk, 1)[45:].any()
    fixed, _ = denoised(path, fix_intervals=True)
    np.testing.assert_array_equal(actor(fixed, 1)[b_frames], f32(b) - origin)
    assert not actor(fixed, 1)[20:35].any() and not actor(fixed, 1)[60:].any()
    np.testing.assert_array_equal(actor(fixed, 0), actor(quirk, 0))


def test_translation_origin_is_actor_1_first_frame_and_missing_actors_stay_zero(tmp_path):
    a, b = person(40, 0.5, seed=1), person(40, 0.1, seed=2, offset=1.0)
    noise = person(5, 0.0, seed=3)  # alone in frames 50..54: removed by length, then the frames go
    bodies = {ID_B: (np.arange(40), b), ID_A: (np.arange(10, 50), a), ID_C: (np.arange(50, 55), noise)}
    sample, info = denoised(write_skeleton(tmp_path / "tr.skeleton", 55, bodies))
    assert (
        info.actor1 == (ID_A,) and info.actor2 == (ID_B,) and info.missing_frames == 5 and info.frames == 50
    )
    origin = f32(a[0, 1])  # actor 1's joint 1 in frame 10, its first frame
    one, two = actor(sample, 0), actor(sample, 1)
    assert not one[:10].any() and not two[40:].any() and not sample[:, 50:].any()  # re-zeroed, padding
    np.testing.assert_array_equal(one[10:50], f32(a) - origin)
    np.testing.assert_array_equal(two[:40], f32(b) - origin)
    assert np.all(one[10, 1] == 0)


@pytest.mark.parametrize(
    ("frames", "zero", "message"),
    [
        ([0, 0, 1, 2], False, "bodyID 72057594037931111 has 4 rows but only 3 frames"),  # listed twice
        ([0, 1, 2], True, "actor 1 is all zero; SGN's translation has no origin"),
    ],
)
def test_samples_sgn_cannot_make_are_errors(tmp_path, frames, zero, message):
    joints = person(len(frames), 0.1) * (not zero)
    path = write_skeleton(tmp_path / "S001C001P001R001A001.skeleton", 3, {ID_A: (np.array(frames), joints)})
    with pytest.raises(DataError, match=rf"S001C001P001R001A001\.skeleton: {message}"):
        ntu.read_sample(path, denoise=True)


def test_files_with_no_body_are_reported(ntu_raw):
    with pytest.raises(DataError, match=rf"{NO_BODY}: no body in any of the 45 frames"):
        ntu.read_sample(ntu_raw / "raw" / NO_BODY, denoise=True)


# -- golden raw files -----------------------------------------------------------------------------------
def oracle(path: Path, fix_intervals: bool = False) -> np.ndarray | None:
    """SGN's three steps written from the reference description with plain loops (no shared code)."""
    lines = path.read_text().splitlines()
    pos, valid, bodies = 1, -1, {}
    for _ in range(int(lines[0])):
        count = int(lines[pos])
        pos += 1
        if count == 0:
            continue
        valid += 1
        for _ in range(count):
            body_id = lines[pos].split()[0]
            xyz = np.array([lines[pos + 2 + j].split()[:3] for j in range(25)], dtype=np.float32)
            pos += 27
            body = bodies.setdefault(body_id, {"joints": [], "interval": [], "true": []})
            body["interval"].append(body["interval"][-1] + 1 if body["interval"] else valid)
            body["true"].append(valid)
            body["joints"].append(xyz)
    if not bodies:
        return None
    num_frames = valid + 1
    for body in bodies.values():
        body["joints"] = np.vstack(body["joints"])  # (n * 25, 3)
        body["motion"] = np.sum(np.var(body["joints"], axis=0))
        body["rows"] = (
            body["true"] if fix_intervals else list(range(body["interval"][0], body["interval"][-1] + 1))
        )
    several = len(bodies) > 1
    if several:
        bodies = {k: v for k, v in bodies.items() if len(v["interval"]) > 11}
        for body_id in list(bodies):
            if len(bodies) == 1:
                break
            frames = bodies[body_id]["joints"].reshape(-1, 25, 3)
            ok = [
                i for i, fr in enumerate(frames) if float(np.ptp(fr[:, 0])) <= 0.8 * float(np.ptp(fr[:, 1]))
            ]
            if len(ok) == len(frames):
                continue
            if (len(frames) - len(ok)) / len(frames) >= 0.69754:
                del bodies[body_id]
            else:
                bodies[body_id]["motion"] = min(
                    bodies[body_id]["motion"], np.sum(np.var(frames[ok].reshape(-1, 3), axis=0))
                )
    order = sorted(bodies.values(), key=lambda v: v["motion"], reverse=True)
    width = 75 if len(order) == 1 else 150
    out = np.zeros((num_frames, width), dtype=np.float32)
    spans = [(order[0]["rows"][0], order[0]["rows"][-1]), (0, 0)]
    for k, body in enumerate(order):
        s, e = body["rows"][0], body["rows"][-1]
        for slot in (0, 1):  # actor 1's columns, else actor 2's, else discarded
            if k == 0 or min(spans[slot][1], e) - max(spans[slot][0], s) <= 0:
                for row, values in zip(body["rows"], body["joints"].reshape(-1, 75)):
                    out[row, 75 * slot : 75 * slot + 75] = values
                spans[slot] = (min(s, spans[slot][0]), max(e, spans[slot][1]))
                break
    if several:
        out = out[out.sum(axis=1) != 0]
    first = next(t for t in range(len(out)) if np.any(out[t, :75] != 0))
    origin = out[first, 3:6].copy()
    moved = out.copy()
    for t in range(len(out)):
        moved[t] -= np.tile(origin, width // 3)
        for m in range(width // 75):
            if out[t, 75 * m : 75 * m + 75].sum() == 0 and width == 150:
                moved[t, 75 * m : 75 * m + 75] = 0
    padded = np.zeros((300, 150), dtype=np.float32)
    padded[: len(moved), :width] = moved
    return padded.reshape(300, 2, 25, 3).transpose(3, 0, 2, 1)


@pytest.fixture(scope="module")
def denoised_run(ntu_raw, tmp_path_factory):
    out = tmp_path_factory.mktemp("ntu_denoised")
    summary = ntu.gendata(
        ntu_raw / "raw",
        out,
        ignored_sample_path=ntu_raw / "samples_with_missing_skeletons.txt",
        workers=2,
        denoise=True,
    )
    return out, summary


@pytest.mark.parametrize("bench", ["xsub", "xview"])
@pytest.mark.parametrize("part", ["train", "val"])
def test_golden_files_through_denoise_match_the_loop_oracle(ntu_raw, denoised_run, bench, part):
    out, summary = denoised_run
    names, labels = load_label_file(out / bench / f"{part}_label.pkl")
    expected = load_pickle(FIXTURES / "ntu_gendata" / f"{bench}_{part}_label.pkl")
    keep = [i for i, n in enumerate(expected[0]) if n != NO_BODY]  # the one file SGN cannot use
    assert names == [expected[0][i] for i in keep] and labels == [expected[1][i] for i in keep]
    data = np.load(out / bench / f"{part}_data_joint.npy")
    assert data.shape == (len(names), 3, 300, 25, 2) and data.dtype == np.float32
    for name, sample in zip(names, data):
        np.testing.assert_array_equal(sample, oracle(ntu_raw / "raw" / name), err_msg=name)
        first = np.flatnonzero(sample[..., 0].any(axis=(0, 2)))[0]
        assert np.all(sample[:, first, 1, 0] == 0)  # actor 1's joint 1 in its first frame is the origin
        assert SegmentSampler(seg=20)(sample).shape == (3, 20, 25, 1)  # the SGN sampler reads it
    assert summary.exit_code() == 0 and len(summary.bad) == 1 and NO_BODY in summary.bad[0]


def test_golden_denoise_outcomes(ntu_raw):
    """Frame counts and actor counts of the 15 usable golden files (NTU60 mutual actions: A050-A060)."""
    results = {}
    for path in sorted((ntu_raw / "raw").glob("*.skeleton")):
        try:
            _, info = denoised(path)
        except DataError:
            results[path.name] = None
            continue
        results[path.name] = (info.frames, 1 + bool(info.actor2))
    assert [n for n, r in results.items() if r is None] == ["S003C002P004R002A019.skeleton", NO_BODY]
    for name, (frames, actors) in ((n, r) for n, r in results.items() if r):
        assert 30 <= frames <= 300
        if int(name[17:20]) >= 50:
            assert actors == 2, name
    assert results["S003C002P004R001A033.skeleton"] == (108, 1)  # its 12 empty frames dropped
    assert results["S005C001P011R002A059.skeleton"] == (90, 2)  # 5 bodies -> 2 actors
    assert sum(r[1] == 2 for r in results.values() if r) == 8


def test_golden_reappearing_body_with_and_without_fix_intervals(ntu_raw):
    path = ntu_raw / "raw" / REAPPEARS
    quirk, info = denoised(path)
    fixed, _ = denoised(path, fix_intervals=True)
    for sample, fix in ((quirk, False), (fixed, True)):
        np.testing.assert_array_equal(sample, oracle(path, fix_intervals=fix))
    one = quirk[..., 0].any(axis=(0, 2))  # actor 1 = the body with 136 rows over 156 frames
    assert info.frames == 156 and one.sum() == 136 and one[:136].all()
    assert fixed[..., 0].any(axis=(0, 2))[:156].sum() == 136 and fixed[..., 0].any(axis=(0, 2))[155]


# -- API and command line -------------------------------------------------------------------------------
def test_read_sample_api_and_option_checks(ntu_raw, tmp_path):
    path = ntu_raw / "raw" / "S006C001P012R001A060.skeleton"
    sample, notes = ntu.read_sample(path, denoise=True)
    assert notes == [] and sample.shape == (3, 300, 25, 2)
    np.testing.assert_array_equal(sample, oracle(path))
    raw, _ = ntu.read_sample(path, denoise=True, normalize=False)
    np.testing.assert_array_equal(raw, denoised(path, translation=False)[0])
    short, notes = ntu.read_sample(path, denoise=True, max_frame=50)
    np.testing.assert_array_equal(short, sample[:, :50])
    assert notes == [f"{path}: 75 frames after SGN denoising, keeping the first 50"]
    with pytest.raises(ConfigError, match="fix_intervals only applies with denoise=True"):
        ntu.read_sample(path, fix_intervals=True)
    with pytest.raises(ConfigError, match="denoise_fix_intervals needs denoise=True"):
        ntu.gendata(ntu_raw / "raw", tmp_path, denoise_fix_intervals=True)
    with pytest.raises(ValueError, match="needs bodyIDs"):
        dn.sgn_sample(ntu.read_skeleton(path))


def test_cli_denoise_flags(ntu_raw, denoised_run, tmp_path):
    argv = ["--data_path", str(ntu_raw / "raw"), "--out_folder", str(tmp_path), "--workers", "1"]
    argv += [
        "--ignored_sample_path",
        str(ntu_raw / "samples_with_missing_skeletons.txt"),
        "--benchmark",
        "xview",
    ]
    assert ntu.main([*argv, "--denoise"]) == 0
    for part in ("train", "val"):
        np.testing.assert_array_equal(
            np.load(tmp_path / "xview" / f"{part}_data_joint.npy"),
            np.load(denoised_run[0] / "xview" / f"{part}_data_joint.npy"),
        )
    assert ntu.main([*argv, "--denoise", "--denoise-fix-intervals", "--part", "val", "--overwrite"]) == 0
    names, _ = load_label_file(tmp_path / "xview" / "val_label.pkl")  # camera 1: xview val
    data = np.load(tmp_path / "xview" / "val_data_joint.npy")
    assert REAPPEARS in names
    np.testing.assert_array_equal(
        data[names.index(REAPPEARS)], oracle(ntu_raw / "raw" / REAPPEARS, fix_intervals=True)
    )
    with pytest.raises(SystemExit) as exc:
        ntu.main([*argv, "--denoise-fix-intervals"])
    assert exc.value.code == 2
