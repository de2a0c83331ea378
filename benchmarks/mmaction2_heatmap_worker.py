"""Times MMAction2's own PoseC3D transforms; run by ``bench_heatmap.py`` with the MMAction2 interpreter.

Not part of the project: it imports ``mmaction`` (installed only in the benchmark environment made by
``../shared/tools/mmaction2-venv.sh``) and is only ever started as a subprocess::

    /work/mmaction2-venv/bin/python benchmarks/mmaction2_heatmap_worker.py JOBS.npz RESULT.json

``JOBS.npz`` holds, per job ``j``: ``j/keypoint`` (M, T, V, 2), ``j/keypoint_score`` (M, T, V),
``j/img_shape``, ``j/frame_inds`` and ``j/pipeline`` (the MMAction2 transform list after
UniformSampleFrames as JSON), ``j/repeats`` and ``j/seed``. For each job the pipeline runs ``repeats``
times from a fresh copy of the sample (seeded ``np.random`` and ``random`` each time); the result lists
the seconds of every run and a checksum (sum and shape of the volume) to compare with ours.
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


def main(jobs_path: str, out_path: str) -> None:
    z = np.load(jobs_path)
    names = sorted({k.split("/")[0] for k in z.files})
    results = {}
    for name in names:
        steps = json.loads(str(z[f"{name}/pipeline"]))
        pipeline = Compose([TRANSFORMS.build(dict(s)) for s in steps])
        repeats, seed = int(z[f"{name}/repeats"]), int(z[f"{name}/seed"])
        times, volume = [], None
        for _ in range(repeats):
            sample = dict(
                keypoint=z[f"{name}/keypoint"].copy(),
                keypoint_score=z[f"{name}/keypoint_score"].copy(),
                img_shape=tuple(int(v) for v in z[f"{name}/img_shape"]),
                original_shape=tuple(int(v) for v in z[f"{name}/img_shape"]),
                total_frames=int(z[f"{name}/keypoint"].shape[1]),
                frame_inds=z[f"{name}/frame_inds"].copy(),
                clip_len=int(z[f"{name}/clip_len"]),
                num_clips=int(z[f"{name}/num_clips"]),
                modality="Pose",
                start_index=0,
                label=0,
            )
            np.random.seed(seed)
            random.seed(seed)
            start = time.perf_counter()
            out = pipeline(sample)
            times.append(time.perf_counter() - start)
            volume = out["imgs"]
        results[name] = dict(
            times=times, shape=list(volume.shape), sum=float(volume.astype(np.float64).sum())
        )
    with open(out_path, "w", encoding="utf-8") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
