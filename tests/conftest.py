"""Shared test helpers. Everything the suite needs lives in tests/fixtures; ../shared is optional."""

from __future__ import annotations

import os
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
SHARED = ROOT.parent / "shared"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Tests run with the thread count CI has; keeps results independent of the machine's core count.
os.environ.setdefault("OMP_NUM_THREADS", "2")


def extract_fixture(archive: Path, dest: Path) -> Path:
    """Extract a fixture tarball (raw recordings) into ``dest`` and return ``dest``."""
    with tarfile.open(archive) as tar:
        tar.extractall(dest, filter="data")
    return dest


@pytest.fixture(scope="session")
def ntu_raw(tmp_path_factory) -> Path:
    """Folder with ``raw/*.skeleton`` (17 golden NTU files) and ``samples_with_missing_skeletons.txt``."""
    return extract_fixture(FIXTURES / "ntu_gendata" / "raw.tar.xz", tmp_path_factory.mktemp("ntu_raw"))


@pytest.fixture(scope="session")
def kinetics_raw(tmp_path_factory) -> Path:
    """Folder with ``raw/kinetics_{train,val}/*.json`` and the two label JSON files."""
    return extract_fixture(FIXTURES / "kinetics_gendata" / "raw.tar.xz", tmp_path_factory.mktemp("kin_raw"))


def golden(name: str) -> dict[str, np.ndarray]:
    """Arrays of a fixture ``.npz`` under tests/fixtures, e.g. ``golden('ntu_gendata/expected_xsub.npz')``."""
    with np.load(FIXTURES / name) as z:
        return {k: z[k] for k in z.files}


def shared_or_skip(relative: str) -> Path:
    """Path under ../shared, or skip the test when ../shared is not beside the checkout."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"../shared/{relative} not available")
    return path


def make_tiny_dataset(
    folder: Path,
    n: int = 8,
    shape: tuple[int, int, int, int] = (3, 16, 25, 2),
    num_class: int = 4,
    seed: int = 0,
    prefix: str = "train",
    learnable: bool = True,
) -> tuple[Path, Path]:
    """Write ``{prefix}_data_joint.npy`` (n, C, T, V, M) and ``{prefix}_label.pkl`` into ``folder``.

    With ``learnable`` the class shifts the mean of channel 0, so a model can fit the data quickly.
    """
    from utils.io import save_label_file

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    labels = [i % num_class for i in range(n)]
    data = rng.normal(size=(n, *shape)).astype(np.float32)
    if learnable:
        for i, y in enumerate(labels):
            data[i, 0] += 2.0 * y
    data_path, label_path = folder / f"{prefix}_data_joint.npy", folder / f"{prefix}_label.pkl"
    np.save(data_path, data)
    save_label_file([f"S{i:03d}_{prefix}.skeleton" for i in range(n)], labels, label_path)
    return data_path, label_path


TINY_SHAPE = (3, 12, 25, 2)  # (C, T, V, M) of the tiny engine-test samples


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    """A tiny 4-class NTU-shaped dataset: 16 training and 8 validation samples (engine tests)."""
    folder = tmp_path_factory.mktemp("tiny")
    make_tiny_dataset(folder, n=16, shape=TINY_SHAPE, num_class=4, seed=0, prefix="train")
    make_tiny_dataset(folder, n=8, shape=TINY_SHAPE, num_class=4, seed=1, prefix="val")
    return folder
