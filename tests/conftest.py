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
