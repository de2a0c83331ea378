"""``feeders.feeder.Feeder``: the dataset behind every config (2s-AGCN's arguments and more).

On disk: ``data_path`` is a float32 ``.npy`` of shape (N, C, T, V, M) (read memory-mapped) and
``label_path`` a pickle ``(sample_names, labels)`` (read with a restricted unpickler).

``__getitem__(i)`` returns ``(data, label, index)`` with data a float32 array (C, T, V, M), or
(K, C, T, V, M) when a temporal sampler draws K clips per sample (SGN's test-time sampling).

Per-sample pipeline, in order: on-the-fly stream (``stream: bone | joint_motion | bone_motion``, from
joint data, identical to the files ``data_gen/gen_bone_data.py`` and ``gen_motion_data.py`` write) →
``normalization`` → ``random_shift`` → ``random_choose`` / padding to ``window_size`` → ``random_move``
→ ``sampler`` (e.g. ``feeders.sgn.SegmentSampler`` options given as ``sampler: {...}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from feeders import tools
from feeders.streams import STREAMS, bone_parents, make_stream
from graph.layouts import Layout, get_layout
from utils.errors import DataError
from utils.io import load_label_file
from utils.registry import FEEDERS

_STREAM_IN_NAME = re.compile(r"_data_(joint_motion|bone_motion|joint|bone)\.npy$")


def stream_of_file(path: str | Path) -> str | None:
    """The stream a 2s-AGCN file name implies (``val_data_bone.npy`` -> ``bone``), else None."""
    match = _STREAM_IN_NAME.search(str(path))
    return match.group(1) if match else None


class SampleTransform:
    """The per-sample pipeline of :class:`Feeder`, usable on its own (``predict.py`` uses it on raw clips).

    ``(x (C, T, V, M), index) -> float32 (C, T', V, M')`` or ``(K, C, T', V, M')`` with a multi-clip
    sampler; see the module docstring for the order of the steps.
    """

    def __init__(
        self,
        stream: str = "joint",
        parents: np.ndarray | None = None,
        score_channel: int | None = None,
        mean_std: tuple[np.ndarray, np.ndarray] | None = None,
        random_shift: bool = False,
        random_choose: bool = False,
        random_move: bool = False,
        window_size: int = -1,
        sampler: Mapping[str, Any] | None = None,
    ) -> None:
        if stream not in STREAMS:
            raise DataError(f"stream: unknown stream '{stream}'; expected one of {', '.join(STREAMS)}")
        if stream.startswith("bone") and parents is None:
            raise DataError(f"stream '{stream}' needs the skeleton layout (feeder argument 'layout')")
        self.stream, self.parents, self.score_channel = stream, parents, score_channel
        self.mean_std = mean_std
        self.random_shift, self.random_choose, self.random_move = random_shift, random_choose, random_move
        self.window_size = int(window_size)
        self.sampler = None
        if sampler:
            from feeders.sgn import build_sampler

            self.sampler = build_sampler(sampler, score_channel)  # the score is not a coordinate

    def stream_of(self, joint: np.ndarray) -> np.ndarray:
        """The configured stream of a joint sample (float32)."""
        x = np.asarray(joint, dtype=np.float32)
        if self.stream != "joint":
            x = make_stream(x, self.stream, score_channel=self.score_channel, parents=self.parents)
        return x

    def __call__(self, joint: np.ndarray, index: int = 0, name: str = "sample") -> np.ndarray:
        x = np.array(self.stream_of(joint), copy=True)
        if not np.isfinite(x).all():
            raise DataError(f"{name} contains NaN or inf")
        if self.mean_std is not None:
            x = (x - self.mean_std[0]) / self.mean_std[1]
        if self.random_shift:
            x = tools.random_shift(x)
        if self.random_choose:
            x = tools.random_choose(x, self.window_size)
        elif self.window_size > 0:
            x = tools.auto_pading(x, self.window_size)
        if self.random_move:
            x = tools.random_move(x)
        if self.sampler is not None:
            x = self.sampler(x, index)
        return np.ascontiguousarray(x, dtype=np.float32)


@FEEDERS.register("skeleton", aliases=("feeders.feeder.Feeder",))
class Feeder(Dataset):
    """Skeleton dataset over a (N, C, T, V, M) ``.npy`` and a ``(names, labels)`` pickle.

    Args (2s-AGCN): data_path, label_path, random_choose, random_shift, random_move, window_size,
        normalization, debug (first 100 samples), use_mmap.
    Args (added):
        stream: ``joint`` (the file as it is), or ``bone``, ``joint_motion``, ``bone_motion`` computed on
            the fly from a joint file.
        layout: skeleton layout for bones (name or custom mapping); the engine fills it from the
            model's graph when not given.
        score_channel: index of a confidence channel that bone/motion must not subtract (2D input).
        indices: use only these sample indices (the engine carves validation splits this way).
        sampler: options of a temporal sampler class applied last (see ``feeders.sgn``).
    """

    def __init__(
        self,
        data_path: str,
        label_path: str,
        random_choose: bool = False,
        random_shift: bool = False,
        random_move: bool = False,
        window_size: int = -1,
        normalization: bool = False,
        debug: bool = False,
        use_mmap: bool = True,
        stream: str = "joint",
        layout: str | Mapping[str, Any] | Layout | None = None,
        score_channel: int | None = None,
        indices: Sequence[int] | None = None,
        sampler: Mapping[str, Any] | None = None,
    ) -> None:
        self.data_path = str(data_path)
        self.label_path = str(label_path)
        self.window_size = int(window_size)
        self.normalization = bool(normalization)
        self.debug = bool(debug)
        self.use_mmap = bool(use_mmap)
        self.stream = stream
        self.layout = get_layout(layout) if layout is not None else None
        self._load(indices)
        parents = None
        if stream.startswith("bone") and self.layout is not None:
            if self.layout.num_node != self.data.shape[3]:
                raise DataError(
                    f"{self.data_path}: data has V={self.data.shape[3]} joints but layout "
                    f"'{self.layout.name}' has {self.layout.num_node}"
                )
            parents = bone_parents(self.layout)
        self.transform = SampleTransform(
            stream=stream,
            parents=parents,
            score_channel=score_channel,
            random_shift=bool(random_shift),
            random_choose=bool(random_choose),
            random_move=bool(random_move),
            window_size=self.window_size,
            sampler=sampler,
        )
        if self.normalization:
            self.mean_map, self.std_map = self._mean_std()
            self.transform.mean_std = (self.mean_map, self.std_map)

    # ------------------------------------------------------------------------------------------
    def _load(self, indices: Sequence[int] | None) -> None:
        for key, path in (("data_path", self.data_path), ("label_path", self.label_path)):
            if not Path(path).is_file():
                raise DataError(f"{key}: file not found: {path}")
        names, labels = load_label_file(self.label_path)
        if Path(self.data_path).stat().st_size == 0:
            raise DataError(
                f"{self.data_path}: the data file is empty (0 bytes); expected an (N, C, T, V, M) .npy"
            )
        try:
            data = np.load(self.data_path, mmap_mode="r" if self.use_mmap else None, allow_pickle=False)
        except (ValueError, OSError, EOFError) as exc:
            raise DataError(
                f"{self.data_path}: not a readable .npy file ({exc or type(exc).__name__})"
            ) from None
        # float32 is the format; float16/float64 files are accepted on purpose and converted per sample
        if not np.issubdtype(data.dtype, np.floating):
            raise DataError(
                f"{self.data_path}: holds {data.dtype} values; expected floating-point (N, C, T, V, M) data (float32)"
            )
        if data.ndim != 5:
            raise DataError(f"{self.data_path}: expected an array (N, C, T, V, M), got shape {data.shape}")
        if len(data) != len(labels):
            raise DataError(
                f"{self.data_path} has {len(data)} samples but {self.label_path} lists {len(labels)} labels"
            )
        if labels and min(labels) < 0:
            i = int(np.argmin(labels))
            raise DataError(f"{self.label_path}: sample '{names[i]}' has a negative label {labels[i]}")
        order = np.arange(len(labels))
        if indices is not None:
            order = np.asarray(indices, dtype=np.int64)
            if order.size and (order.min() < 0 or order.max() >= len(labels)):
                raise DataError(f"indices: out of range for the {len(labels)} samples of {self.data_path}")
        if self.debug:
            order = order[:100]
        self._order = order
        self.data = data
        self.sample_name = [names[i] for i in order]
        self.label = [labels[i] for i in order]

    def _mean_std(self) -> tuple[np.ndarray, np.ndarray]:
        """(C, 1, V, 1) mean over N, T, M and std over all (N·T·M) rows, computed in chunks."""
        N, C, T, V, M = len(self), *self.data.shape[1:]
        total = np.zeros((C, V))
        total_sq = np.zeros((C, V))
        for start in range(0, N, 256):
            rows = range(start, min(N, start + 256))
            chunk = np.stack([self.transform.stream_of(self.data[self._order[i]]) for i in rows]).astype(
                np.float64
            )
            total += chunk.sum(axis=(0, 2, 4))
            total_sq += (chunk**2).sum(axis=(0, 2, 4))
        count = N * T * M
        mean = total / count
        std = np.sqrt(np.maximum(total_sq / count - mean**2, 0))
        return mean.reshape(C, 1, V, 1).astype(np.float32), std.reshape(C, 1, V, 1).astype(np.float32)

    # ------------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.label)

    @property
    def shape(self) -> tuple[int, ...]:
        """(N, C, T, V, M) of the stored data (N after ``indices``/``debug``)."""
        return (len(self), *self.data.shape[1:])

    def __getitem__(self, index: int) -> tuple[np.ndarray, int, int]:
        i = int(self._order[index])
        x = self.transform(self.data[i], i, f"{self.data_path}: sample {self.sample_name[index]}")
        return x, self.label[index], index

    def top_k(self, score: np.ndarray, top_k: int) -> float:
        """Fraction of samples whose label is among the ``top_k`` highest scores (2s-AGCN API)."""
        rank = score.argsort()
        hit = [label in rank[i, -top_k:] for i, label in enumerate(self.label)]
        return sum(hit) * 1.0 / len(hit)
