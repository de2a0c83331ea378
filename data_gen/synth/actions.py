"""The actions: one motion generator per class of ``resources/labels/synthetic.txt``."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from data_gen.synth.body import Ctx, Performer, walk
from data_gen.synth.geometry import arc_curve, keyframes, ramp, window
from utils.errors import ConfigError

LABEL_MAP = Path(__file__).resolve().parents[1] / "resources" / "labels" / "synthetic.txt"


# -- the actions ---------------------------------------------------------------------------------------
# Each returns the performers of one take (one or two), all with the clock set by c.start(...).


def _wave(c: Ctx, both: bool) -> list[Performer]:
    f = c.u(1.5, 2.5) * c.speed
    cycles = c.n(2, 4)
    up = c.u(0.3, 0.5) / c.speed
    pre = c.idle()
    act = 2 * up + cycles / f
    t = c.start(pre + act + c.idle())
    p = c.person()
    k, dom = c.k, c.dom
    parallel = c.chance(0.4)
    phase = 2 * np.pi * f * (t - pre - up)
    sides = [dom, -dom] if both else [dom]
    for i, s in enumerate(sides):
        amp = c.amp * (1.0 if i == 0 else c.u(0.3, 1.0))
        delay = 0.0 if i == 0 else c.u(0.0, 0.3) / c.speed
        lateral = c.u(0.08, 0.16) * k * amp * np.sin(phase + (0.0 if i == 0 else c.u(-0.5, 0.5)))
        off = np.zeros((len(t), 3))
        off[:, 0] = s * c.u(0.06, 0.2) * k + (lateral if parallel else s * lateral)
        high = c.u(0.0, 0.38) if c.chance(0.7) else c.u(-0.25, 0.0)  # above the head, or a low "bye"
        off[:, 1] = (high if i == 0 else c.u(-0.3, 0.3)) * k + 0.02 * k * np.sin(2 * phase)
        off[:, 2] = -c.u(0.05, 0.25) * k
        w = window(t, pre + delay, pre + act, up)
        p.arm(s, p.shoulder(s) + p.torso(off), w, pole=[s * 1.0, -0.8, 0.3])
    if not both and c.chance(0.25):  # the other hand comes up too, but does not wave
        s = -dom
        hold = p.shoulder(s) + p.torso([s * c.u(0.05, 0.2) * k, c.u(-0.3, 0.1) * k, -c.u(0.1, 0.3) * k])
        p.arm(s, hold, window(t, pre + c.u(0.0, 0.3), pre + act, up), pole=[s * 1.0, -0.8, 0.3])
    p.side = p.side - dom * 0.04 * window(t, pre, pre + act, up)
    return [p]


def _clap(c: Ctx) -> list[Performer]:
    f = c.u(1.8, 3.0) * c.speed
    claps = c.n(3, 6)
    rise = c.u(0.25, 0.4) / c.speed
    pre = c.idle()
    act = 2 * rise + claps / f
    t = c.start(pre + act + c.idle())
    p, k = c.person(), c.k
    w = window(t, pre, pre + act, rise)
    sep = 0.035 * k + c.u(0.04, 0.25) * k * c.amp * 0.5 * (1.0 - np.cos(2 * np.pi * f * (t - pre - rise)))
    centre = p.spine_top() + p.torso([0.0, -c.u(-0.05, 0.3) * k, -c.u(0.22, 0.4) * k])
    one_hand = c.chance(0.3)  # one palm held still, the other claps onto it
    for s in (1, -1):
        target = centre.copy()
        if one_hand:
            target[:, 0] += s * (0.0175 * k + (sep - 0.035 * k) * (s == c.dom))
        else:
            target[:, 0] += s * sep / 2
        p.arm(s, target, w, pole=[s * 0.8, -0.6, 0.5])
    return [p]


def _rub(c: Ctx) -> list[Performer]:
    f = c.u(1.5, 3.0) * c.speed
    strokes = c.n(3, 6)
    rise = c.u(0.25, 0.4) / c.speed
    pre = c.idle()
    act = 2 * rise + strokes / f
    t = c.start(pre + act + c.idle())
    p, k = c.person(), c.k
    w = window(t, pre, pre + act, rise)
    r = c.u(0.02, 0.08) * k * c.amp
    phi = 2 * np.pi * f * (t - pre)
    centre = p.spine_top() + p.torso([0.0, -c.u(0.05, 0.32) * k, -c.u(0.2, 0.35) * k])
    lateral = c.chance(0.4)
    for s in (1, -1):
        target = centre.copy()
        if lateral:  # palms slide sideways past each other
            target[:, 0] += s * (0.035 * k + 0.5 * r * (1 + np.sin(phi)))
            target[:, 1] += s * 0.5 * r * np.cos(phi)
        else:
            target[:, 0] += s * 0.035 * k
            target[:, 1] += s * r * np.sin(phi)
            target[:, 2] += s * 0.5 * r * np.cos(phi)
        p.arm(s, target, w, pole=[s * 0.9, -0.5, 0.6])
    p.nod = p.nod + c.u(0.0, 0.25) * w  # looking at the hands
    return [p]


def _kick(c: Ctx) -> list[Performer]:
    s = c.dom if c.chance(0.85) else -c.dom
    kicks = c.n(1, 2)
    fast = 1.0 / np.sqrt(c.speed)
    pre = c.idle()
    segs = []
    t0 = pre
    for _ in range(kicks):
        wind, strike, back, gap = (
            c.u(0.2, 0.4) / c.speed,
            c.u(0.14, 0.28) * fast,
            c.u(0.3, 0.5) / c.speed,
            c.u(0.15, 0.4),
        )
        segs.append((t0, wind, strike, back, c.u(0.08, 0.55) * c.k * c.amp, c.u(0.25, 0.6) * c.k))
        t0 += wind + strike + back + gap
    t = c.start(t0 + c.idle())
    p = c.person()
    base = p.ankle[s].copy()
    w_all = np.zeros(len(t))
    for t1, wind, strike, back, height, reach in segs:
        times = [t1, t1 + wind, t1 + wind + strike, t1 + wind + strike + 0.05, t1 + wind + strike + back]
        up = keyframes(t, times, [0, 0.15 * c.k, height, height, 0])
        fwd = keyframes(t, times, [0, -0.08 * c.k, reach, reach * 0.9, 0])
        p.ankle[s][:, 1] += up
        p.ankle[s][:, 2] -= fwd
        p.foot_pitch[s] += keyframes(t, times, [0, -0.3, 0.6, 0.6, 0])
        w_all = np.maximum(w_all, window(t, t1, times[-1], 0.25 / c.speed))
    if c.chance(0.3):  # the kicking foot lands in front and the body follows
        t1, wind, strike, back, _, reach = segs[-1]
        land = ramp(t, t1 + wind + strike, back)
        p.ankle[s][:, 2] -= 0.6 * reach * land
        p.pelvis[:, 2] -= 0.3 * reach * land
    p.ankle[s][:, 1] = np.maximum(p.ankle[s][:, 1], base[:, 1])
    p.lean = p.lean - c.u(0.0, 0.2) * w_all
    p.pelvis[:, 0] -= s * 0.05 * c.k * w_all
    p.pelvis[:, 2] += 0.04 * c.k * w_all
    if c.chance(0.6):  # arms out for balance
        for a in (1, -1):
            p.arm(a, p.rest_hand(a) + p.torso([a * 0.12 * c.k, 0.1 * c.k, -0.05 * c.k]), w_all)
    return [p]


def _step_forward(c: Ctx) -> list[Performer]:
    s = c.dom if c.chance(0.7) else -c.dom
    length = c.u(0.25, 0.5) * c.k * np.sqrt(c.amp)
    lift = (c.u(0.04, 0.15) if c.chance(0.75) else c.u(0.15, 0.3)) * c.k  # some raise the knee high
    step, hold = c.u(0.4, 0.7) / c.speed, c.u(0.3, 0.8) / c.speed
    follow = c.chance(0.5)  # bring the other foot forward; otherwise step back again
    pre = c.idle()
    end = pre + step + hold + step
    t = c.start(end + c.idle())
    p, k = c.person(), c.k
    p.ankle[s][:, 2] -= length * ramp(t, pre, step)
    p.ankle[s][:, 1] += lift * np.sin(np.pi * np.clip((t - pre) / step, 0, 1))
    t2 = pre + step + hold
    if follow:
        p.ankle[-s][:, 2] -= length * ramp(t, t2, step)
        p.ankle[-s][:, 1] += lift * np.sin(np.pi * np.clip((t - t2) / step, 0, 1))
        p.pelvis[:, 2] -= length * keyframes(t, [pre, pre + step, t2, t2 + step], [0, 0.55, 0.55, 1.0])
    else:
        p.ankle[s][:, 2] += length * ramp(t, t2, step)
        p.ankle[s][:, 1] += lift * np.sin(np.pi * np.clip((t - t2) / step, 0, 1))
        p.pelvis[:, 2] -= 0.5 * length * window(t, pre, t2 + step, step)
    w = window(t, pre, end, step)
    for a in (1, -1):  # arms swing opposite to the stepping leg
        p.arm(a, p.rest_hand(a) + p.torso([0.0, 0.03 * k, a * s * 0.12 * k * c.amp]), w)
    return [p]


def _squat(c: Ctx) -> list[Performer]:
    reps = 1 if c.chance(0.6) else 2
    pre = c.idle()
    keys_t, keys_v = [0.0, pre], [0.0, 0.0]
    for _ in range(reps):
        down, hold, up, gap = (c.u(*r) / c.speed for r in ((0.5, 0.9), (0.1, 0.5), (0.5, 0.9), (0.1, 0.3)))
        t0 = keys_t[-1]
        keys_t += [t0 + down, t0 + down + hold, t0 + down + hold + up, t0 + down + hold + up + gap]
        keys_v += [1.0, 1.0, 0.0, 0.0]
    t = c.start(keys_t[-1] + c.idle())
    p, k = c.person(), c.k
    w = keyframes(t, keys_t, keys_v)
    depth = c.u(0.15, 0.45) * k * c.amp
    p.pelvis[:, 1] -= depth * w
    p.pelvis[:, 2] += c.u(0.25, 0.5) * depth * w
    p.lean = p.lean + c.u(0.2, 0.55) * w
    arms = c.rng.choice(3)  # forward, hands on knees, hanging
    wa = window(t, pre * 0.6, keys_t[-1], 0.4 / c.speed)
    for s in (1, -1):
        if arms == 0:
            p.arm(
                s, p.shoulder(s) + p.torso([s * 0.1 * k, -0.02 * k, -0.92 * p.b.arm]), wa, pole=[s, -0.5, 0.3]
            )
        elif arms == 1:
            knee = p.pelvis + np.array([s * p.b.hip_w, -0.3 * k, -0.2 * k])
            p.arm(s, knee, w, pole=[s * 0.8, 0.0, 0.8])
    return [p]


def _sit_down(c: Ctx) -> list[Performer]:
    pre = c.idle()
    down = c.u(0.8, 1.4) / c.speed
    seated = c.u(0.5, 1.3)
    t = c.start(pre + down + seated)
    p, k = c.person(), c.k
    b = p.b
    w = ramp(t, pre, down)
    seat = c.u(0.4, 0.62) * k
    drop = b.pelvis_height - (seat + 0.08 * k)
    back = c.u(0.12, 0.28) * k
    p.pelvis[:, 1] -= drop * ramp(t, pre + 0.1 * down, 0.9 * down)
    p.pelvis[:, 2] += back * w
    bend = c.u(0.25, 0.6)
    p.lean = p.lean + keyframes(
        t, [pre, pre + 0.6 * down, pre + down, pre + down + 0.4], [0, bend, bend * 0.5, 0.1]
    )
    for s in (1, -1):
        thigh = p.pelvis + np.array([s * (b.hip_w + 0.02 * k), 0.02 * k, -0.25 * k])
        if c.chance(0.65):
            p.arm(s, thigh, ramp(t, pre + 0.5 * down, 0.5 * down), pole=[s * 0.6, -0.3, 1.0])
    return [p]


def _punch(c: Ctx) -> list[Performer]:
    n = c.n(1, 3)
    alternate = c.chance(0.4)
    fast = 1.0 / np.sqrt(c.speed)
    raise_t = c.u(0.25, 0.45) / c.speed
    pre = c.idle()
    t0 = pre + raise_t
    hits = []
    for i in range(n):
        s = c.dom if (not alternate or i % 2 == 0) else -c.dom
        out, back, gap = c.u(0.11, 0.35) * fast, c.u(0.18, 0.4) * fast, c.u(0.15, 0.45) / c.speed
        hits.append((s, t0, out, back))
        t0 += out + back + gap
    end = t0 + raise_t
    t = c.start(end + c.idle())
    p, k = c.person(), c.k
    guard = window(t, pre, end, raise_t)
    twist = np.zeros(len(t))
    ext = {1: np.zeros(len(t)), -1: np.zeros(len(t))}
    height = c.u(-0.1, 0.08) * k
    for s, t1, out, back in hits:
        e = keyframes(t, [t1, t1 + out, t1 + out + 0.04, t1 + out + 0.04 + back], [0, 1, 1, 0])
        ext[s] = np.maximum(ext[s], e)
        twist += s * c.u(0.05, 0.35) * e
    p.twist = twist
    low_guard = c.u(0.0, 0.25) * k  # some keep the fists at the chest
    no_guard = c.chance(0.3)  # others punch from a hanging arm
    for s in (1, -1):
        sh = p.shoulder(s)
        chin = sh + p.torso([-s * 0.1 * k, 0.1 * k - low_guard, -0.2 * k])
        if no_guard:
            chin = p.rest_hand(s) + p.torso([0.0, 0.1 * k, -0.1 * k])
        hit = sh + p.torso([-s * 0.03 * k, height, -0.97 * p.b.arm])
        e = ext[s][:, None]
        p.arm(s, chin + e * (hit - chin), guard, pole=[s * 0.9, -0.7, 0.4])
        p.fist[s] = guard
    return [p]


def _reach(c: Ctx) -> list[Performer]:
    s = c.dom if c.chance(0.85) else -c.dom
    go, hold, ret = c.u(0.3, 1.0) / c.speed, c.u(0.3, 0.8) / c.speed, c.u(0.5, 1.0) / c.speed
    pre = c.idle()
    end = pre + go + hold + ret
    t = c.start(end + c.idle())
    p, k = c.person(), c.k
    w = keyframes(t, [pre, pre + go, pre + go + hold, end], [0, 1, 1, 0])
    p.lean = p.lean + c.u(0.0, 0.25) * w
    off = np.array([s * c.u(-0.05, 0.2) * k, c.u(-0.35, 0.25) * k, -c.u(0.82, 0.97) * p.b.arm])
    target = p.shoulder(s) + p.torso(off)
    target[:, 1] += 0.02 * k * np.sin(2 * np.pi * 1.5 * t) * (w > 0.95)
    p.arm(s, target, w, pole=[s * 0.6, -0.8, 0.4])
    p.fist[s] = 0.8 * window(t, pre + go * 0.9, pre + go + hold, 0.1)
    return [p]


def _handshake(c: Ctx) -> list[Performer]:
    k2 = (c.bodies[0].k + c.bodies[1].k) / 2
    final = c.u(0.62, 0.78) * k2
    approach = c.chance(0.6)
    steps = [c.u(0.1, 0.25) * k2 if approach else 0.0 for _ in range(2)]
    lat = c.u(0.08, 0.16) * k2
    f, shakes = c.u(1.8, 2.8) * c.speed, c.n(2, 4)
    reach, release = c.u(0.3, 0.5) / c.speed, c.u(0.3, 0.5) / c.speed
    period = c.u(0.35, 0.5) / c.speed
    pre = c.idle()
    t_meet = pre + (2 * period if approach else 0.0) + reach
    t_end = t_meet + shakes / f
    step_back = approach and c.chance(0.3)
    t = c.start(t_end + release + (2 * period if step_back else 0.0) + c.idle())
    c.pair = (2 * lat, final + sum(steps))
    height = 0.58 * (c.bodies[0].height + c.bodies[1].height) / 2
    amp = c.u(0.025, 0.06)
    shake = amp * np.sin(2 * np.pi * f * (t - t_meet)) * window(t, t_meet, t_end, 0.5 / f)
    people = []
    for i in range(2):
        p = c.person(i)
        if approach:
            walk(p, pre, steps[i], period, lead=1)
        if step_back:
            walk(p, t_end + release, -0.6 * steps[i], period, lead=-1)
        meet = np.zeros((len(t), 3))
        meet[:, 0] = lat  # the midpoint, in each person's own frame
        meet[:, 1] = height + shake
        meet[:, 2] = -(steps[i] + final / 2)  # midway between the two, after their steps
        w = window(t, t_meet - reach, t_end + release, reach, release)
        p.arm(1, meet, w, pole=[0.8, -0.8, 0.3])
        p.lean = p.lean + 0.08 * w
        people.append(p)
    return people


def _push(c: Ctx) -> list[Performer]:
    dist = c.u(0.55, 0.8) * c.k
    lat = c.u(-0.05, 0.05)
    pre = c.idle()
    reach, shove = c.u(0.3, 0.5) / c.speed, c.u(0.2, 0.35)
    t_hit = pre + reach
    t_end = t_hit + shove
    recover = c.u(0.6, 1.0) / c.speed
    t = c.start(t_end + recover + c.idle())
    c.pair = (lat, dist)
    a, b = c.person(0), c.person(1)
    k = c.k
    push_d = c.u(0.15, 0.45) * b.b.k
    w = window(t, pre, t_end + recover * 0.6, reach, recover * 0.6)
    moved = ramp(t, t_hit, shove)
    # person 1 is shoved back (its +z), leans back, steps back and flails
    b.pelvis[:, 2] += push_d * moved
    for s in (1, -1):
        b.ankle[s][:, 2] += push_d * ramp(t, t_hit + (0.05 if s == 1 else 0.2), 0.3)
        b.ankle[s][:, 1] += 0.05 * np.sin(
            np.pi * np.clip((t - t_hit - (0.05 if s == 1 else 0.2)) / 0.3, 0, 1)
        )
    b.lean = b.lean - c.u(0.05, 0.3) * window(t, t_hit, t_end + recover, 0.15, recover)
    flail = window(t, t_hit, t_end + recover, 0.15, recover * 0.8)
    for s in (1, -1):
        if c.chance(0.7):
            b.arm(s, b.shoulder(s) + b.torso([s * 0.25 * k, -0.2 * k, -0.3 * k]), flail, pole=[s, -0.5, 0.5])
    # person 0 pushes one or both hands to the partner's chest and leans in
    a.lean = a.lean + c.u(0.05, 0.3) * w
    if c.chance(0.5):
        walk(a, t_hit, 0.5 * push_d, 0.35, lead=c.dom)
    chest_h = c.u(0.66, 0.76) * b.b.height
    hands = (1, -1) if c.chance(0.7) else (c.dom,)
    for s in hands:
        hit = np.zeros((len(t), 3))
        hit[:, 0] = lat + s * (0.8 if len(hands) == 2 else 0.2) * b.b.shoulder_w
        hit[:, 1] = chest_h
        hit[:, 2] = -dist + 0.12 * b.b.k - push_d * moved
        a.arm(s, hit, w, pole=[s * 0.6, -0.8, 0.5])
        a.fist[s] = 0.2 * w
    return [a, b]


def _jump(c: Ctx) -> list[Performer]:
    reps = c.n(1, 3)
    pre = c.idle()
    jumps = []
    t0 = pre
    for _ in range(reps):
        crouch, flight, land, gap = c.u(0.25, 0.45) / c.speed, c.u(0.25, 0.42), 0.25 / c.speed, c.u(0.1, 0.4)
        jumps.append((t0, crouch, flight, land))
        t0 += crouch + flight + land + gap
    t = c.start(t0 + c.idle())
    p, k = c.person(), c.k
    arms_up = c.chance(0.6)
    swing = np.zeros(len(t))
    for t1, crouch, flight, land in jumps:
        h = 9.81 * flight**2 / 8.0 * c.amp
        to, td = t1 + crouch, t1 + crouch + flight
        dip = c.u(0.06, 0.18) * k
        p.pelvis[:, 1] += keyframes(
            t, [t1, to - 0.06, to, td, td + 0.1, td + land], [0, -dip, 0.02, 0.02, -0.7 * dip, 0]
        )
        air = h * arc_curve(t, to, flight)
        p.pelvis[:, 1] += air
        for s in (1, -1):
            p.ankle[s][:, 1] += air * 0.85
            p.foot_pitch[s] -= 0.5 * arc_curve(t, to, flight)
        p.lean = p.lean + keyframes(t, [t1, to - 0.06, to, td, td + land], [0, 0.35, 0.05, 0.05, 0])
        swing += keyframes(t, [t1, to - 0.06, to + 0.1, td, td + land], [0, -1, 1, 0.6, 0])
    fwd, back = np.clip(swing, 0, 1)[:, None], np.clip(-swing, 0, 1)[:, None]
    for s in (1, -1):
        rest = p.rest_hand(s)
        if arms_up:
            ahead = p.shoulder(s) + p.torso([s * 0.1 * k, 0.2 * k, -0.35 * k])
        else:
            ahead = rest + p.torso([0.0, 0.12 * k, -0.3 * k])
        behind = rest + p.torso([s * 0.05 * k, 0.05 * k, 0.3 * k])
        p.arm(s, rest + fwd * (ahead - rest) + back * (behind - rest), 1.0, pole=[s * 0.35, -0.3, 1.0])
    return [p]


def _hop(c: Ctx) -> list[Performer]:
    lifted = -c.dom if c.chance(0.7) else c.dom
    stand = -lifted
    hops = c.n(2, 5)
    f = c.u(1.6, 2.6) * c.speed
    lift_t = c.u(0.3, 0.5) / c.speed
    pre = c.idle()
    t_hop = pre + lift_t
    t_end = t_hop + hops / f
    t = c.start(t_end + lift_t + c.idle())
    p, k = c.person(), c.k
    w = window(t, pre, t_end + lift_t, lift_t)
    p.ankle[lifted][:, 1] += c.u(0.12, 0.35) * k * w
    p.ankle[lifted][:, 2] += c.u(0.05, 0.3) * k * w
    p.foot_pitch[lifted] -= 0.6 * w
    p.pelvis[:, 0] += stand * c.u(0.04, 0.08) * k * w
    h = c.u(0.04, 0.12) * k * c.amp
    air = np.zeros(len(t))
    for i in range(hops):
        air += arc_curve(t, t_hop + i / f, 0.45 / f)
    p.pelvis[:, 1] += h * air - 0.03 * k * (w - air.clip(0, 1)) * (t > t_hop) * (t < t_end)
    p.ankle[stand][:, 1] += h * air
    p.side = p.side + stand * 0.05 * w
    if c.chance(0.7):  # arms out for balance
        out = c.u(0.15, 0.45)
        for s in (1, -1):
            p.arm(
                s, p.shoulder(s) + p.torso([s * out * k, -0.35 * k, -0.05 * k]), w, pole=[s * 0.3, -0.2, 1.0]
            )
    return [p]


def _hug(c: Ctx) -> list[Performer]:
    k2 = (c.bodies[0].k + c.bodies[1].k) / 2
    final = c.u(0.3, 0.42) * k2
    steps = [c.u(0.2, 0.4) * k2 for _ in range(2)]
    lat = c.u(-0.05, 0.05)
    period = c.u(0.35, 0.5) / c.speed
    wrap, hold, release = c.u(0.4, 0.7) / c.speed, c.u(0.5, 1.2) / c.speed, c.u(0.4, 0.6) / c.speed
    pre = c.idle()
    t_wrap = pre + 2 * period
    t_rel = t_wrap + wrap + hold
    step_back = c.chance(0.4)
    t = c.start(t_rel + release + (2 * period if step_back else 0.0) + c.idle())
    c.pair = (lat, final + sum(steps))
    high = c.chance(0.5)
    people = []
    for i in range(2):
        p = c.person(i)
        other = c.bodies[1 - i]
        walk(p, pre, steps[i], period, lead=1 if i == 0 else -1)
        if step_back:
            walk(p, t_rel + release, -0.5 * steps[i], period, lead=-1)
        w = window(t, t_wrap - 0.3 * period, t_rel + release, wrap, release)
        p.lean = p.lean + c.u(0.08, 0.2) * w
        p.side = p.side + (0.06 if i == 0 else -0.06) * w
        y = other.height * (0.74 if high == (i == 0) else 0.62)
        for s in (1, -1):
            back = np.zeros((len(t), 3))
            back[:, 0] = lat + s * 0.7 * other.shoulder_w * (0.8 if high == (i == 0) else 1.0)
            back[:, 1] = y + (0.03 * np.sin(2 * np.pi * 2.0 * (t - t_wrap)) if s == 1 else 0.0)
            back[:, 2] = -(final + steps[i]) - 0.12 * other.k  # behind the partner's back
            p.arm(s, back, w, pole=[s * 1.0, -0.5, 0.2])
        people.append(p)
    return people


def add_nuisance(c: Ctx, p: Performer, alone: bool) -> None:
    """Movements unrelated to the action: a free hand to the face, head, hip or belly; looking around;
    a slow turn or a side step (one-person actions only)."""
    t, k = p.t, p.b.k
    dur = t[-1]
    for _ in range(int(c.rng.random() < 0.6) + int(c.rng.random() < 0.2)):
        kind = c.n(0, 3 if alone else 1)
        t0 = c.u(0.0, max(dur - 0.8, 0.05))
        w = window(t, t0, t0 + c.u(0.8, 2.0), 0.3)
        free = [s for s in (1, -1) if p.hand[s] is None]
        if kind == 0 and free:
            s = free[int(c.rng.integers(len(free)))]
            spots = [
                p.spine_top() + p.torso([s * 0.03 * k, 0.14 * k, -0.12 * k]),  # chin / face
                p.spine_top() + p.torso([s * 0.09 * k, 0.3 * k, -0.02 * k]),  # scratch the head
                p.pelvis + p.torso([s * (p.b.hip_w + 0.1 * k), 0.04 * k, 0.0]),  # hand on the hip
                p.spine_top() + p.torso([s * 0.05 * k, -0.33 * k, -0.17 * k]),  # hand on the belly
            ]
            p.arm(s, spots[int(c.rng.integers(4))], w, pole=[s * 0.8, -0.4, 0.6])
        elif kind <= 1:
            p.head_yaw = p.head_yaw + c.u(-0.7, 0.7) * w  # look around
            p.nod = p.nod + c.u(-0.2, 0.3) * w
        elif kind == 2:
            p.turn = p.turn + c.u(-0.5, 0.5) * ramp(t, t0, c.u(0.5, 1.5))  # turn the whole body
        else:
            s = 1 if c.rng.random() < 0.5 else -1
            side = c.u(0.08, 0.2) * k * s
            p.ankle[s][:, 0] += side * ramp(t, t0, 0.4)
            p.ankle[s][:, 1] += 0.04 * k * np.sin(np.pi * np.clip((t - t0) / 0.4, 0, 1))
            p.pelvis[:, 0] += 0.5 * side * ramp(t, t0, 0.6)


@dataclass(frozen=True)
class Action:
    """A class of the synthetic dataset: its motion generator and number of performers."""

    name: str
    persons: int
    make: Callable[[Ctx], list[Performer]]


ACTIONS: dict[str, Action] = {
    a.name: a
    for a in (
        Action("wave one hand", 1, lambda c: _wave(c, both=False)),
        Action("wave both hands", 1, lambda c: _wave(c, both=True)),
        Action("clap", 1, _clap),
        Action("rub hands", 1, _rub),
        Action("kick", 1, _kick),
        Action("step forward", 1, _step_forward),
        Action("squat", 1, _squat),
        Action("sit down", 1, _sit_down),
        Action("punch", 1, _punch),
        Action("reach out", 1, _reach),
        Action("handshake", 2, _handshake),
        Action("push", 2, _push),
        Action("jump", 1, _jump),
        Action("hop on one leg", 1, _hop),
        Action("hug", 2, _hug),
    )
}


def load_class_names(path: str | os.PathLike = LABEL_MAP) -> list[str]:
    """Class names in label order (label 0 first), checked against the known actions."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: label map not found")
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    unknown = [n for n in names if n not in ACTIONS]
    if unknown:
        raise ConfigError(
            f"{path}: no motion generator for class {unknown[0]!r}; known: {', '.join(ACTIONS)}"
        )
    if len(set(names)) != len(names):
        raise ConfigError(f"{path}: duplicate class names")
    return names
