"""Runs MMAction2's own PoseC3D transforms on request; started by ``bench_heatmap.py`` with the MMAction2
interpreter.

Not part of the project: it imports ``mmaction`` (installed only in the benchmark environment made by
``../shared/tools/mmaction2-venv.sh``) and is only ever started as a subprocess::

    /work/mmaction2-venv/bin/python benchmarks/mmaction2_heatmap_worker.py JOBS.npz

``JOBS.npz`` holds, per job ``j``: ``j/keypoint`` (M, T, V, 2), ``j/keypoint_score`` (M, T, V),
``j/img_shape``, ``j/frame_inds``, ``j/clip_len``, ``j/num_clips``, ``j/seed`` and ``j/pipeline`` (the
MMAction2 transform list after UniformSampleFrames, as JSON). The worker then reads job names from
stdin, one per line; for each it runs the pipeline once on a fresh copy of the sample, after
``np.random.seed(seed); random.seed(seed)``, and answers one JSON line: the wall and CPU seconds of
the pipeline and a checksum (sum and shape of the volume). An empty line ends it.
"""

from __future__ import annotations

import json
import random
import sys
import time

import numpy as np
from mmaction.datasets.transforms import (  # noqa: F401  (registers the transforms)
    formatting,
    pose_transforms,
    processing,
)
from mmaction.registry import TRANSFORMS
from mmengine.dataset import Compose


def build(steps: list[dict]) -> Compose:
    for step in steps:  # MMAction2 checks that these are tuples
        for key in ("scale", "area_range", "aspect_ratio_range"):
            if isinstance(step.get(key), list):
                step[key] = tuple(step[key])
    return Compose([TRANSFORMS.build(step) for step in steps])


def main(jobs_path: str) -> None:
    z = np.load(jobs_path)
    names = sorted({k.split("/")[0] for k in z.files})
    pipelines = {name: build(json.loads(str(z[f"{name}/pipeline"]))) for name in names}
    print(json.dumps({"ready": len(names)}), flush=True)
    for line in sys.stdin:
        name = line.strip()
        if not name:
            break
        shape = tuple(int(v) for v in z[f"{name}/img_shape"])
        sample = dict(
            keypoint=z[f"{name}/keypoint"].copy(),
            keypoint_score=z[f"{name}/keypoint_score"].copy(),
            img_shape=shape,
            original_shape=shape,
            total_frames=int(z[f"{name}/keypoint"].shape[1]),
            frame_inds=z[f"{name}/frame_inds"].copy(),
            clip_len=int(z[f"{name}/clip_len"]),
            num_clips=int(z[f"{name}/num_clips"]),
            modality="Pose",
            start_index=0,
            label=0,
        )
        seed = int(z[f"{name}/seed"])
        np.random.seed(seed)
        random.seed(seed)
        wall, cpu = time.perf_counter(), time.process_time()
        volume = pipelines[name](sample)["imgs"]
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        answer = dict(
            wall=wall, cpu=cpu, shape=list(volume.shape), sum=float(volume.astype(np.float64).sum())
        )
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
