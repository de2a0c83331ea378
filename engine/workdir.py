"""A run's ``work_dir``: created writable, held by one run at a time, never silently reused or destroyed.

* A run holds ``<work_dir>/.lock`` (an advisory ``flock``) for its whole life, training and testing;
  a second run on the same folder stops at once with the first one's process id instead of mixing
  its files into the folder (``--overwrite`` included: a folder in use is never moved away).
* A folder "holds a run" when it has a checkpoint or a metrics table. A run that failed before its
  first checkpoint (missing data, a typo in the config) leaves only its log, so the same command
  works next time.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from utils.cli import os_error_message
from utils.errors import ConfigError

try:  # POSIX; on other systems runs are not locked
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = ".lock"
RUN_MARKERS = ("checkpoint.pt", "metrics.csv")  # what a run leaves once it has done an epoch


def holds_run(work_dir: Path) -> list[str]:
    """The files that show ``work_dir`` holds a (started) training run; empty if none."""
    return [name for name in RUN_MARKERS if (work_dir / name).exists()]


def make_writable_dir(path: Path, key: str = "work_dir") -> None:
    """Create ``path`` (and parents); a one-line ConfigError if it cannot be created or written."""
    for parent in (path, *path.parents):
        if parent.exists() and not parent.is_dir():
            raise ConfigError(f"{key}: cannot create {path}: {parent} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(os_error_message(exc, f"{key}: cannot create the folder")) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: {path} is not writable; choose a folder you can write to")


class RunLock:
    """Exclusive hold on a work_dir for one run (``with RunLock(path): ...``)."""

    def __init__(self, work_dir: str | Path, key: str = "work_dir") -> None:
        self.work_dir = Path(work_dir)
        self.key = key
        self._file: IO[str] | None = None

    def acquire(self) -> RunLock:
        make_writable_dir(self.work_dir, self.key)
        if fcntl is None:
            return self
        path = self.work_dir / LOCK_NAME
        f = open(path, "a+", encoding="utf-8")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            f.seek(0)
            owner = f.read().strip() or "unknown"
            f.close()
            raise ConfigError(
                f"{self.key}: {self.work_dir} is in use by another run ({owner}); wait for it to finish, "
                "or choose another --work-dir"
            ) from None
        f.seek(0)
        f.truncate()
        f.write(f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
                fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.contextmanager
def training_dir(work_dir: str | Path, resume: str | None, overwrite: bool) -> Iterator[str | None]:
    """Hold ``work_dir`` for a training run; yields the ``resume`` to use.

    A folder holding a run is an error unless ``resume`` (continue it) or ``overwrite`` (the old
    folder is renamed ``<name>.old-<time>``, never deleted). ``resume='auto'`` without a checkpoint
    starts afresh (yields None).
    """
    work_dir = Path(work_dir)
    lock = RunLock(work_dir).acquire()
    try:
        previous = holds_run(work_dir)
        if resume == "auto" and not (work_dir / "checkpoint.pt").exists():
            if previous:
                raise ConfigError(
                    f"--resume auto: {work_dir} has {', '.join(previous)} but no checkpoint.pt to continue "
                    "from; pass --overwrite to start afresh"
                )
            resume = None  # nothing to continue: a fresh run
        if previous and not resume:
            if not overwrite:
                raise ConfigError(
                    f"work_dir: {work_dir} already holds a run ({', '.join(previous)}); pass --resume to "
                    "continue it, --overwrite to start afresh (the old folder is kept under a new name), "
                    "or choose another --work-dir"
                )
            backup = work_dir.with_name(f"{work_dir.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                work_dir.rename(backup)  # still locked by us: nobody writes into it meanwhile
            except OSError as exc:
                raise ConfigError(
                    os_error_message(exc, f"--overwrite: cannot move {work_dir} aside")
                ) from None
            lock.release()
            lock = RunLock(work_dir).acquire()
            print(f"work_dir: moved the previous run to {backup}")
        yield resume
    finally:
        lock.release()
