"""Data generation when the machine fails it: unwritable outputs, a full disk, a killed parent.

Each case must end in one ``error:`` line naming the path, exit code 2, no temporary file left and
every split published before intact. Also: the data_gen modules import each other without cycles.
"""

from __future__ import annotations

import ast
import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from data_gen import common
from data_gen import ntu_gendata as ntu

SAMPLE_BYTES = 3 * 300 * 25 * 2 * 4  # one (3, 300, 25, 2) float32 row


def all_files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def argv(raw: Path, out: Path, *extra: str) -> list[str]:
    return ["--data_path", str(raw), "--out_folder", str(out), "--ignored_sample_path", "", *extra]


def error_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


@pytest.fixture
def published(ntu_raw, tmp_path):
    """xsub/val generated and published in ``tmp_path / 'out'``; returns (raw, out, its bytes)."""
    out = tmp_path / "out"
    assert ntu.main(argv(ntu_raw / "raw", out, "--benchmark", "xsub", "--part", "val", "--workers", "1")) == 0
    return ntu_raw / "raw", out, (out / "xsub" / "val_data_joint.npy").read_bytes()


def test_unwritable_output_folder_is_one_error_line(ntu_raw, tmp_path, capsys):
    (tmp_path / "afile").write_text("not a folder")
    out = tmp_path / "afile" / "out"
    capsys.readouterr()
    assert ntu.main(argv(ntu_raw / "raw", out, "--benchmark", "xsub", "--workers", "1")) == 2
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: ") and str(tmp_path / "afile") in lines[0], err
    assert "Traceback" not in err and all_files(tmp_path) == ["afile"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_full_disk_when_reserving_space(published, monkeypatch, capsys, workers):
    raw, out, before = published

    def no_space(fd, offset, length):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "posix_fallocate", no_space)
    capsys.readouterr()
    assert ntu.main(argv(raw, out, "--benchmark", "xsub", "xview", "--workers", workers)) == 2
    err = capsys.readouterr().err
    lines = error_lines(err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "No space left on device (disk full)" in lines[0] and ".tmp.npy" in lines[0]
    assert "nothing unfinished was published" in lines[0]
    # the split published before is intact; nothing else and no temporary file is there
    assert [f for f in all_files(out) if not f.endswith("preprocess.json")] == [
        "xsub/val_data_joint.npy",
        "xsub/val_label.pkl",
    ]
    assert (out / "xsub" / "val_data_joint.npy").read_bytes() == before


def test_full_disk_while_writing_rows(published, monkeypatch, capsys):
    """Space reserved but the disk fills anyway (a copy-on-write file system): the write fails cleanly."""
    raw, out, before = published
    real = os.pwrite
    calls = []

    def fill_up(fd, data, offset):
        calls.append(offset)
        if len(calls) > 3:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data, offset)

    monkeypatch.setattr(os, "pwrite", fill_up)
    capsys.readouterr()
    assert ntu.main(argv(raw, out, "--benchmark", "xsub", "--part", "train", "--workers", "1")) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and "(disk full)" in lines[0] and "train_data_joint" in lines[0], lines
    assert [f for f in all_files(out) if not f.endswith("preprocess.json")] == [
        "xsub/val_data_joint.npy",
        "xsub/val_label.pkl",
    ]
    assert (out / "xsub" / "val_data_joint.npy").read_bytes() == before


def test_write_rows_checks_the_row_shape(tmp_path):
    path = tmp_path / "a.npy"
    np.save(path, np.zeros((3, 2, 4), dtype=np.float32))
    common.write_rows(path, [(1, np.arange(8).reshape(2, 4)), (2, np.ones((2, 4)))])
    np.testing.assert_array_equal(
        np.load(path), [np.zeros((2, 4)), np.arange(8).reshape(2, 4), np.ones((2, 4))]
    )
    with pytest.raises(ValueError, match=r"a\.npy: row of shape \(8,\), expected \(2, 4\)"):
        common.write_rows(path, [(0, np.zeros(8))])


def _can_mount_tmpfs(tmp_path: Path) -> bool:
    if not sys.platform.startswith("linux") or shutil.which("unshare") is None:
        return False
    probe = tmp_path / "probe"
    probe.mkdir()
    cmd = ["unshare", "-rm", "sh", "-c", f"mount -t tmpfs -o size=64k tmpfs {probe}"]
    return subprocess.run(cmd, capture_output=True).returncode == 0


def test_real_full_disk(ntu_raw, tmp_path):
    """A 1.5 MB tmpfs (in a private mount namespace): val (7 rows) fits, train (10 rows) does not.

    Writing through a memory map would die with SIGBUS here; the space is reserved up front instead.
    """
    if not _can_mount_tmpfs(tmp_path):
        pytest.skip("cannot mount a small tmpfs here (needs Linux user namespaces)")
    disk = tmp_path / "disk"
    disk.mkdir()
    script = tmp_path / "run.py"
    script.write_text(
        "import subprocess, sys\n"
        f"cmd = [sys.executable, {str(ROOT / 'data_gen' / 'ntu_gendata.py')!r}, '--data_path', "
        f"{str(ntu_raw / 'raw')!r}, '--out_folder', {str(disk / 'out')!r}, '--ignored_sample_path', '',"
        " '--benchmark', 'xsub', '--workers', '2', '--part']\n"
        "first = subprocess.run(cmd + ['val'], capture_output=True, text=True)\n"
        "before = open(" + repr(str(disk / "out" / "xsub" / "val_data_joint.npy")) + ", 'rb').read()\n"
        "second = subprocess.run(cmd + ['train'], capture_output=True, text=True)\n"
        "after = open(" + repr(str(disk / "out" / "xsub" / "val_data_joint.npy")) + ", 'rb').read()\n"
        "import os\n"
        f"files = sorted(os.path.join(d, f) for d, _, fs in os.walk({str(disk / 'out')!r}) for f in fs)\n"
        "print(repr((first.returncode, second.returncode, second.stderr, before == after, len(before), files)))\n"
    )
    cmd = [
        "unshare",
        "-rm",
        "sh",
        "-c",
        f"mount -t tmpfs -o size=1500k tmpfs {disk} && {sys.executable} {script}",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    first, second, err, same, size, files = ast.literal_eval(proc.stdout.strip().splitlines()[-1])
    assert first == 0 and size > 7 * SAMPLE_BYTES
    assert second == 2, err
    lines = error_lines(err)
    assert len(lines) == 1 and "(disk full)" in lines[0] and "Bus error" not in err, err
    assert same and [Path(f).name for f in files] == [
        "preprocess.json",
        "val_data_joint.npy",
        "val_label.pkl",
    ]


def test_a_dead_worker_is_one_error_line(capsys):
    def broken():
        raise BrokenProcessPool("a process in the pool was terminated abruptly")

    assert common.cli(broken) == 2
    lines = error_lines(capsys.readouterr().err)
    assert len(lines) == 1 and lines[0].startswith("error: a worker process died"), lines


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc (Linux)")
def test_workers_end_when_the_parent_is_killed(ntu_raw, tmp_path):
    raw = tmp_path / "raw"
    raw.mkdir()
    sources = sorted((ntu_raw / "raw").glob("*.skeleton"))
    for i in range(300):  # enough work that the pool is still busy when the parent dies
        os.link(
            sources[i % len(sources)],
            raw / f"S001C00{i % 3 + 1}P{i // 3 % 40 + 1:03d}R001A{i // 120 + 1:03d}.skeleton",
        )
    cmd = [
        sys.executable,
        str(ROOT / "data_gen" / "ntu_gendata.py"),
        *argv(raw, tmp_path / "out", "--workers", "2"),
    ]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        workers: list[int] = []
        while len(workers) < 2:
            assert proc.poll() is None and time.monotonic() < deadline, "the pool never started"
            workers = _children(proc.pid)
            time.sleep(0.02)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 10
        while any(_alive(w) for w in workers) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(w) for w in workers), "worker processes outlived their parent"
    finally:
        for pid in [proc.pid, *_children(proc.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def _imports(path: Path) -> set[str]:
    """data_gen modules that ``path`` imports anywhere (TYPE_CHECKING blocks and functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("data_gen"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("data_gen"))
    return found


def test_data_gen_modules_import_each_other_without_cycles():
    modules = {f"data_gen.{p.stem}": p for p in (ROOT / "data_gen").glob("*.py") if p.stem != "__init__"}
    graph = {
        name: sorted(m for m in _imports(path) if m in modules and m != name)
        for name, path in modules.items()
    }
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in graph[node]:
            assert state.get(nxt) != 1, "import cycle: " + " -> ".join([*stack, node, nxt])
            if nxt not in state:
                visit(nxt, [*stack, node])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
