"""Shared machinery of the data-generation scripts.

* :func:`run_pool`: run a function over tasks in worker processes (or inline for ``workers <= 1``)
  with a tqdm progress bar; an exception, Ctrl-C or SIGTERM terminates the workers at once.
* :class:`SplitWriter`: one split's ``(N, ...)`` float32 ``.npy`` (through :class:`utils.io.NpyWriter`)
  and its ``(names, labels)`` pickle. Worker processes fill rows with :func:`write_rows`; the split
  is published only when complete (array first, then labels), and dropped rows (bad input found
  after the rows were assigned) are squeezed out first.
* :class:`RunSummary`: what was written, skipped and why, printed at the end of every run, and the
  exit-code rule shared by all scripts.
* Logging to stderr that does not break progress bars.

Memory: nothing here keeps a whole array mapped. Workers open the output memmap for one task's
rows and close it again, so the resident set of every process is bounded by one task, whatever
the number of samples.
"""

from __future__ import annotations

import collections
import contextlib
import errno
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from utils.errors import ConfigError, DataError
from utils.io import NpyWriter, save_label_file, save_text
from utils.memory import GENDATA, keep_freed_memory

# concurrent.futures, multiprocessing, threading and json are imported where they are used: a run
# that needs no worker pool (a small folder) does not pay for loading them.
if TYPE_CHECKING:
    import concurrent.futures as cf
    import multiprocessing.context

    from graph.layouts import Layout

LOG = logging.getLogger("data_gen")

# Rows copied per step when a split is compacted or a stream is derived (bounded memory).
CHUNK_ROWS = 256


# -- logging ---------------------------------------------------------------------------------------
class _TqdmHandler(logging.Handler):
    """Write log records with ``tqdm.write`` so that they do not tear an active progress bar."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm = sys.modules.get("tqdm")  # imported only once a bar is shown (see progress)
            if tqdm is None:
                print(self.format(record), file=sys.stderr, flush=True)
            else:
                tqdm.tqdm.write(self.format(record), file=sys.stderr)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


def setup_logging(verbose: bool = False) -> None:
    """Send the ``data_gen`` logger to stderr as ``LEVEL: message`` lines (idempotent)."""
    if not any(isinstance(h, _TqdmHandler) for h in LOG.handlers):
        handler = _TqdmHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        LOG.addHandler(handler)
        LOG.propagate = False
    LOG.setLevel(logging.DEBUG if verbose else logging.INFO)


class _NoBar:
    """Stand-in for a hidden tqdm bar (stderr is not a terminal): saves importing tqdm."""

    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def update(self, n: int = 1) -> None:
        return None


def progress(total: int, desc: str, unit: str = "sample") -> Any:
    """A tqdm progress bar on stderr; hidden when stderr is not a terminal (logs, CI)."""
    if not sys.stderr.isatty():
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, dynamic_ncols=True)


def default_workers() -> int:
    """Worker processes used when none is asked for: one per CPU."""
    return max(1, os.cpu_count() or 1)


# -- worker pool -----------------------------------------------------------------------------------
# Below this many tasks, tasks run in the calling process: a pool costs more than it saves.
MIN_POOL_TASKS = 4


def _worker_init(parent: int) -> None:
    """Initialise a worker: no Ctrl-C handling of its own, and die with the parent process.

    Ctrl-C reaches the whole process group; only the main process handles it (and terminates the
    workers), so the workers do not print a traceback each. If the main process is killed (even
    with SIGKILL) the workers must not outlive it: Linux delivers SIGKILL to them
    (``PR_SET_PDEATHSIG``); elsewhere a watchdog thread checks for the parent once a second.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if _die_with_parent() and os.getppid() == parent:
        return
    if os.getppid() != parent:  # the parent died before the death signal was set up
        os._exit(1)

    import threading

    def watch() -> None:
        while os.getppid() == parent:
            threading.Event().wait(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def _die_with_parent() -> bool:
    """Ask Linux to SIGKILL this process when its parent exits; False where that is not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        return False


def _pool_context() -> multiprocessing.context.BaseContext:
    """``fork`` where it is safe and cheap (Linux, no torch threads in this process), else ``spawn``.

    Forked workers start in milliseconds and need no imports; spawned ones re-import everything.
    """
    import multiprocessing

    if sys.platform.startswith("linux") and "torch" not in sys.modules:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def run_pool(
    func: Callable[[Any], Any],
    tasks: Sequence[Any],
    workers: int,
    desc: str,
    total: int | None = None,
    weight: Callable[[Any], int] | None = None,
    unit: str = "sample",
) -> Iterator[Any]:
    """Yield ``func(task)`` for every task, in completion order, with a progress bar.

    ``weight(task)`` is how far a finished task moves the bar (default 1, ``total`` defaults to the
    sum). With ``workers <= 1`` or fewer than ``MIN_POOL_TASKS`` tasks they run in this process, in
    order. Otherwise they run in ``workers`` processes (``func`` must be a module-level function;
    forked on Linux, see :func:`_pool_context`); at most ``2 * workers`` tasks are in flight, so
    memory does not grow with the number of tasks. If the caller stops early, an exception occurs
    (in a worker too) or the run is interrupted, pending tasks are cancelled and the workers are
    terminated before the exception propagates; workers also end if this process is killed.
    """
    weight = weight or (lambda _task: 1)
    total = sum(weight(t) for t in tasks) if total is None else total
    with progress(total, desc, unit) as bar:
        if workers <= 1 or len(tasks) < MIN_POOL_TASKS:
            for task in tasks:
                result = func(task)
                bar.update(weight(task))
                yield result
            return
        import concurrent.futures as cf

        pool = cf.ProcessPoolExecutor(
            max_workers=min(workers, len(tasks)),
            mp_context=_pool_context(),
            initializer=_worker_init,
            initargs=(os.getpid(),),
        )
        try:
            pending: dict[cf.Future, Any] = {}
            queue = iter(tasks)
            for task in queue:
                pending[pool.submit(func, task)] = task
                if len(pending) >= 2 * workers:
                    break
            while pending:
                done, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    task = pending.pop(fut)
                    result = fut.result()  # re-raises a worker's exception here
                    bar.update(weight(task))
                    yield result
                    nxt = next(queue, None)
                    if nxt is not None:
                        pending[pool.submit(func, nxt)] = nxt
        except BaseException:
            _terminate(pool)
            raise
        else:
            pool.shutdown(wait=True)


def _terminate(pool: cf.ProcessPoolExecutor) -> None:
    """Cancel queued tasks and stop the worker processes now (not after their current task)."""
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
    for proc in processes:
        proc.join(timeout=5)


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into KeyboardInterrupt in this (main) process, so that cleanup code runs."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


# -- output splits ---------------------------------------------------------------------------------
def split_done(npy_path: Path, label_path: Path | None) -> bool:
    """A split is complete when its array (and label file, if it has one) exist."""
    return npy_path.is_file() and (label_path is None or label_path.is_file())


def remove_stale_temp_files(path: Path) -> None:
    """Delete the temporary files a killed run left for output ``path`` (``.{stem}.*.tmp{suffix}``)."""
    for stale in sorted(path.parent.glob(f".{path.stem}.*.tmp{path.suffix}")):
        LOG.info("removing %s, left by an interrupted run", stale)
        stale.unlink(missing_ok=True)


def _npy_layout(fd: int) -> tuple[int, np.dtype, tuple[int, ...]]:
    """(byte offset of the data, dtype, shape) of the C-ordered ``.npy`` file open as ``fd``."""
    with open(fd, "rb", closefd=False) as f:
        f.seek(0)
        version = np.lib.format.read_magic(f)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
        if fortran:
            raise DataError("expected a C-ordered .npy array")
        return f.tell(), dtype, shape


def _pwrite_all(fd: int, data: memoryview, offset: int) -> None:
    """``os.pwrite`` until every byte is written (a full disk raises OSError(ENOSPC))."""
    while len(data):
        written = os.pwrite(fd, data, offset)
        data, offset = data[written:], offset + written


def write_rows(npy_path: Path, rows: Iterable[tuple[int, np.ndarray]]) -> None:
    """Write ``array[row] = value`` into an existing ``.npy`` file.

    Plain ``pwrite`` calls, no memory map: a full disk is an ``OSError(ENOSPC)`` here, where writing
    through a map of a sparse file would kill the process with SIGBUS.
    """
    fd = os.open(npy_path, os.O_RDWR)
    try:
        start, dtype, shape = _npy_layout(fd)
        row_bytes = int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize
        for row, value in rows:
            value = np.ascontiguousarray(value, dtype=dtype)
            if value.shape != tuple(shape[1:]):
                raise ValueError(f"{npy_path}: row of shape {value.shape}, expected {tuple(shape[1:])}")
            try:
                _pwrite_all(fd, memoryview(value).cast("B"), start + row * row_bytes)
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, str(npy_path)) from None
    finally:
        os.close(fd)


def write_block(npy_path: Path, start: int, block: np.ndarray) -> None:
    """Write ``array[start : start + len(block)] = block`` into an existing ``.npy`` file (pwrite)."""
    write_rows(npy_path, enumerate(block, start))


def preallocate(path: Path) -> None:
    """Reserve the disk space of a (sparse) file now, so that a full disk fails at once.

    ``OSError(ENOSPC)`` before any work instead of after hours of it. File systems that cannot
    reserve space (rare) are left alone.
    """
    fd = os.open(path, os.O_WRONLY)
    try:
        size = os.fstat(fd).st_size
        if size and hasattr(os, "posix_fallocate"):
            try:
                os.posix_fallocate(fd, 0, size)
            except OSError as exc:
                if exc.errno in (errno.EOPNOTSUPP, errno.EINVAL, errno.ENOSYS):
                    return
                raise OSError(exc.errno, exc.strerror, str(path)) from None
    finally:
        os.close(fd)


def copy_rows(src: Path, dst: Path, keep: np.ndarray, desc: str) -> None:
    """Copy the rows ``keep`` (sorted indices) of ``src`` into rows ``0..len(keep)-1`` of ``dst``."""
    with progress(len(keep), desc) as bar:
        for start in range(0, len(keep), CHUNK_ROWS):
            idx = keep[start : start + CHUNK_ROWS]
            source = np.load(src, mmap_mode="r")
            block = np.asarray(source[idx])
            del source
            write_block(dst, start, block)
            bar.update(len(idx))


class SplitWriter:
    """One split's array ``npy_path`` of shape ``(len(names),) + sample_shape`` and its label file.

    ``open()`` creates the temporary array (``tmp_path``, for :func:`write_rows` in workers).
    ``publish(keep)`` renames it into place (squeezing out the rows not in ``keep`` first), then
    writes the label file for the kept rows. ``abort()`` removes the temporary file. Until
    ``publish`` returns, neither output file of the split exists in a new or changed form.
    """

    def __init__(
        self,
        npy_path: Path,
        label_path: Path,
        names: Sequence[str],
        labels: Sequence[int],
        sample_shape: Sequence[int],
    ) -> None:
        self.npy_path = Path(npy_path)
        self.label_path = Path(label_path)
        self.names = list(names)
        self.labels = [int(x) for x in labels]
        self.shape = (len(self.names), *sample_shape)
        self._writer: NpyWriter | None = None

    @property
    def tmp_path(self) -> Path:
        assert self._writer is not None and self._writer.tmp_path is not None, "open() first"
        return self._writer.tmp_path

    def open(self) -> None:
        remove_stale_temp_files(self.npy_path)
        remove_stale_temp_files(self.label_path)
        writer = NpyWriter(self.npy_path, self.shape)
        writer.__enter__()  # only the memmap header is touched in this process
        self._writer = writer
        try:
            preallocate(self.tmp_path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._writer is not None:
            writer, self._writer = self._writer, None
            writer.__exit__(Exception, None, None)  # "the block failed": removes the temporary file

    def publish(self, keep: np.ndarray) -> int:
        """Publish the rows ``keep`` (sorted row indices); returns how many were written."""
        keep = np.asarray(keep, dtype=np.int64)
        assert self._writer is not None, "open() first"
        assert len(keep) > 0, "nothing to publish; abort() instead"
        if len(keep) == len(self.names):
            writer, self._writer = self._writer, None
            writer.__exit__(None, None, None)  # flush and rename
        else:
            squeezed = NpyWriter(self.npy_path, (len(keep), *self.shape[1:]))
            with squeezed:
                assert squeezed.tmp_path is not None
                preallocate(squeezed.tmp_path)
                copy_rows(self.tmp_path, squeezed.tmp_path, keep, f"compacting {self.npy_path.name}")
            self.abort()
        save_label_file([self.names[i] for i in keep], [self.labels[i] for i in keep], self.label_path)
        return len(keep)


def open_npy(path: Path) -> np.memmap:
    """Memory-map an existing ``.npy`` read-only; DataError naming the file if it is not one."""
    try:
        return np.load(path, mmap_mode="r")
    except FileNotFoundError as exc:
        raise DataError(
            f"{path}: file not found (make it first: ntu_gendata.py, kinetics_gendata.py, ...)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: not a readable .npy array ({exc})") from exc


def derive_file(
    src: Path,
    dst: Path,
    transform: Callable[[np.ndarray], np.ndarray],
    desc: str,
    chunk_rows: int = CHUNK_ROWS // 2,
) -> int:
    """Write ``dst = transform(src)`` sample chunk by sample chunk; returns the number of samples.

    ``src`` is read through a short-lived memory map per chunk and ``dst`` written through
    :class:`utils.io.NpyWriter` (published only when complete), so memory stays at a few chunks
    whatever the file size. ``transform`` must keep the shape and work on (n, C, T, V, M).
    """
    remove_stale_temp_files(dst)
    source = open_npy(src)
    shape, dtype = source.shape, source.dtype
    del source
    if len(shape) != 5:
        raise DataError(f"{src}: expected a 5-D (N, C, T, V, M) array, got shape {shape}")
    writer = NpyWriter(dst, shape, dtype)
    with writer, progress(shape[0], desc) as bar:
        assert writer.tmp_path is not None
        preallocate(writer.tmp_path)
        for start in range(0, shape[0], chunk_rows):
            source = np.load(src, mmap_mode="r")
            block = np.asarray(source[start : start + chunk_rows])  # (n, C, T, V, M)
            del source
            write_block(writer.tmp_path, start, transform(block))
            bar.update(len(block))
    return shape[0]


# -- parallel generation into splits ---------------------------------------------------------------
Reader = Callable[..., tuple[np.ndarray, list[str]]]


@dataclass(frozen=True)
class SampleTask:
    """A chunk of samples for one worker: ``items[i] = (path, ((output index, row), ...), kwargs)``.

    ``reader(path, **options, **kwargs)`` returns ``(sample, warnings)`` or raises DataError; the
    sample is written into its row of every listed output (``outputs``: temporary ``.npy`` paths).
    """

    reader: Reader
    items: tuple[tuple[str, tuple[tuple[int, int], ...], dict[str, Any]], ...]
    outputs: tuple[str, ...]
    options: tuple[tuple[str, Any], ...] = ()


def process_task(task: SampleTask) -> list[tuple[str, str | None, list[str]]]:
    """Worker body: ``[(path, error message or None, warnings), ...]`` for the task's samples."""
    options = dict(task.options)
    results = []
    rows: dict[int, list[tuple[int, np.ndarray]]] = {}
    for path, targets, kwargs in task.items:
        try:
            sample, notes = task.reader(path, **options, **kwargs)
        except DataError as exc:
            results.append((path, str(exc), []))
            continue
        for output, row in targets:
            rows.setdefault(output, []).append((row, sample))
        results.append((path, None, notes))
    for output, values in rows.items():
        write_rows(Path(task.outputs[output]), values)
    return results


def write_splits(
    summary: RunSummary,
    writers: dict[str, SplitWriter],
    items: Sequence[tuple[str, Sequence[tuple[str, int]]]],
    reader: Reader,
    options: dict[str, Any],
    workers: int,
    desc: str,
    chunk_size: int = 8,
    item_options: dict[str, dict[str, Any]] | None = None,
) -> None:
    """Read every item once (in worker processes) into its rows of the splits, then publish them.

    ``items``: ``(path, [(split name, row), ...])`` for every input file, in output order;
    ``reader(path, **options, **item_options[path])`` reads one.
    A file that fails to read is reported in ``summary`` and its rows are dropped from every split.
    With ``summary.strict`` a single bad input (including ones already reported) publishes
    nothing. On any exception or interruption nothing new is published and temporary files go.
    """
    names = list(writers)
    if summary.strict and summary.bad:  # already failed (bad names, missing folders): read nothing
        for name in names:
            summary.split(name).status = "aborted"
        return
    index = {name: i for i, name in enumerate(names)}
    bad_rows: dict[str, list[int]] = {name: [] for name in names}
    targets = {path: [(index[split], row) for split, row in tgt] for path, tgt in items}
    try:
        for writer in writers.values():
            writer.open()
        outputs = tuple(str(writers[name].tmp_path) for name in names)
        paths = list(targets)
        tasks = [
            SampleTask(
                reader,
                tuple(
                    (p, tuple(targets[p]), (item_options or {}).get(p, {})) for p in paths[k : k + chunk_size]
                ),
                outputs,
                tuple(sorted(options.items())),
            )
            for k in range(0, len(paths), chunk_size)
        ]
        for results in run_pool(process_task, tasks, workers, desc, len(paths), lambda t: len(t.items)):
            for path, error, notes in results:
                for note in notes:
                    summary.add_warning(note)
                if error is not None:
                    summary.add_bad(error)
                    for i, row in targets[path]:
                        bad_rows[names[i]].append(row)
                        summary.split(names[i]).skipped["bad file"] += 1
        if summary.strict and summary.bad:
            for name in names:
                summary.split(name).status = "aborted"
            return
        for name, writer in writers.items():
            rep = summary.split(name)
            keep = np.setdiff1d(np.arange(len(writer.names)), bad_rows[name])
            if len(keep) == 0:
                rep.status = "empty"
                continue
            rep.written = writer.publish(keep)
            rep.status = "written"
            LOG.debug("wrote %s (%d samples)", writer.npy_path, rep.written)
    finally:
        for writer in writers.values():
            writer.abort()  # removes the temporary file of every split not published


# -- run summary -----------------------------------------------------------------------------------
@dataclass
class SplitReport:
    """Outcome of one output split (e.g. ``xsub/train``)."""

    name: str
    status: str = "pending"  # written | exists | empty | aborted | pending
    candidates: int = 0
    written: int = 0
    skipped: collections.Counter = field(default_factory=collections.Counter)


@dataclass
class RunSummary:
    """Everything a run reports at the end; ``exit_code`` applies the shared rule."""

    title: str
    splits: dict[str, SplitReport] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)  # one-line messages naming the file (and line)
    warnings: list[str] = field(default_factory=list)
    skipped: collections.Counter = field(default_factory=collections.Counter)  # reason -> count
    strict: bool = False

    def split(self, name: str) -> SplitReport:
        return self.splits.setdefault(name, SplitReport(name))

    def add_bad(self, message: str) -> None:
        self.bad.append(message)
        LOG.error("%s", message)

    def add_warning(self, message: str) -> None:
        self.warnings.append(message)
        LOG.warning("%s", message)

    @property
    def usable(self) -> bool:
        """Every requested split has data: written now or already complete."""
        return bool(self.splits) and all(s.status in ("written", "exists") for s in self.splits.values())

    def exit_code(self) -> int:
        """0 when every split has data (and, with ``strict``, no input was bad); 1 otherwise."""
        if not self.usable or (self.strict and self.bad):
            return 1
        return 0

    def log(self) -> None:
        """Print the end-of-run summary (per split, skip reasons, bad files)."""
        lines = [f"{self.title} summary:"]
        for rep in self.splits.values():
            if rep.status == "exists":
                lines.append(f"  {rep.name}: already complete, skipped (use --overwrite to regenerate)")
                continue
            count = (
                f"{rep.written}" if rep.written == rep.candidates else f"{rep.written} of {rep.candidates}"
            )
            reasons = ", ".join(f"{n} {r}" for r, n in sorted(rep.skipped.items()))
            state = "" if rep.status == "written" else f" [{rep.status}]"
            lines.append(
                f"  {rep.name}: {count} samples written{state}"
                + (f" (skipped: {reasons})" if reasons else "")
            )
        if self.skipped:
            lines.append("  not used: " + ", ".join(f"{n} {r}" for r, n in sorted(self.skipped.items())))
        if self.warnings:
            lines.append(f"  {len(self.warnings)} warning(s)")
        if self.bad:
            lines.append(f"  {len(self.bad)} bad input(s), skipped:")
            lines.extend(f"    {m}" for m in self.bad)
        if self.strict and self.bad:
            lines.append("  --strict: nothing was published because of the bad input above")
        LOG.info("%s", "\n".join(lines))


def add_common_arguments(parser: Any, workers: bool = True) -> None:
    """Flags every generator shares: --workers (if it has workers), --strict, --overwrite, --verbose."""
    if workers:
        parser.add_argument(
            "--workers",
            type=int,
            default=default_workers(),
            help="worker processes (default: one per CPU); 1 runs everything in this process",
        )
    parser.add_argument(
        "--strict",
        action="store_true",
        help="publish nothing and exit 1 if any input is bad (default: report and skip it)",
    )
    parser.add_argument("--overwrite", action="store_true", help="regenerate outputs that already exist")
    parser.add_argument("--verbose", action="store_true", help="debug logging")


def cli(run: Callable[[], RunSummary]) -> int:
    """Run a generator from ``main``: one-line errors, SIGTERM/Ctrl-C cleanup, exit code.

    Bad input or options (DataError, ConfigError) log one line and give 1. The machine failing the
    run (an output folder that cannot be written, a full disk, a worker killed) prints one
    ``error:`` line naming the path and gives 2. In every case nothing unfinished is published and
    the temporary files are gone; splits completed earlier stay.
    """
    keep_freed_memory(**GENDATA)
    try:
        with sigterm_as_interrupt():
            summary = run()
    except KeyboardInterrupt:
        LOG.error(
            "interrupted: unfinished outputs were not published; rerun the same command to complete them"
        )
        return 130
    except (DataError, ConfigError) as exc:
        LOG.error("%s", exc)
        return 1
    except OSError as exc:
        print(f"error: {os_error_line(exc)}", file=sys.stderr)
        return 2
    except Exception as exc:
        pool_module = sys.modules.get("concurrent.futures.process")  # loaded once a pool ran
        if pool_module is None or not isinstance(exc, pool_module.BrokenProcessPool):
            raise
        print(
            "error: a worker process died (out of memory?); nothing unfinished was published; "
            "rerun, e.g. with --workers 1",
            file=sys.stderr,
        )
        return 2
    return summary.exit_code()


def os_error_line(exc: OSError) -> str:
    """One line for a failed file operation: the path, what went wrong, what was kept."""
    path = exc.filename if exc.filename is not None else "output"
    reason = exc.strerror or str(exc)
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return (
            f"{path}: {reason} (disk full); nothing unfinished was published and its temporary "
            "files were removed; free some space (or choose another output folder) and rerun"
        )
    return f"{path}: {reason}; cannot write the outputs there (choose another output folder)"


# -- preprocessing records --------------------------------------------------------------------------
# Every generator writes ``{out_folder}/preprocess.json`` = {reader, options}: ``reader(path, **options)``
# turns one raw clip into exactly one row of that dataset (predict.py classifies raw clips with it).
OPTIONS_FILE = "preprocess.json"


def record_options(
    summary: RunSummary, out_folder: str | os.PathLike, reader: str, options: Mapping[str, Any]
) -> None:
    """Write ``{out_folder}/preprocess.json``: the reader and the options that reproduce one row.

    Warns when splits kept from an earlier run were made with other options.
    """
    import json

    plain = {key: _plain(value) for key, value in options.items()}
    path = Path(out_folder) / OPTIONS_FILE
    kept = [rep.name for rep in summary.splits.values() if rep.status == "exists"]
    if kept and path.is_file():
        try:
            _, before = load_options(out_folder)
        except DataError:
            before = {}
        changed = sorted(k for k in set(plain) | set(before) if plain.get(k) != before.get(k))
        if changed:
            summary.add_warning(
                f"{path}: the kept split(s) {', '.join(kept)} were made with other {', '.join(changed)}; "
                "rerun with --overwrite so that every split is made the same way"
            )
    lines = [
        f"    {json.dumps(key)}: {json.dumps(value)}" for key, value in plain.items()
    ]  # one option a line
    text = f'{{\n  "reader": {json.dumps(reader)},\n  "options": {{\n' + ",\n".join(lines) + "\n  }\n}\n"
    save_text(text, path)


def _plain(value: Any) -> Any:
    """JSON-ready form of an option value (layouts as a name or a mapping, tuples as lists)."""
    layouts = sys.modules.get("graph.layouts")  # a Layout can only exist once that module is loaded
    if layouts is not None and isinstance(value, layouts.Layout):
        return _layout_dict(value)
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    return value


def load_options(out_folder: str | os.PathLike) -> tuple[str, dict[str, Any]]:
    """``(reader dotted path, keyword options)`` recorded by a generator in ``preprocess.json``.

    ``reader(path, **options)`` then turns one raw clip into a row of that dataset.
    """
    import json

    path = Path(out_folder) / OPTIONS_FILE
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
        return str(obj["reader"]), dict(obj["options"])
    except OSError as exc:
        raise DataError(
            f"{path}: cannot read ({exc.strerror or exc}); was the dataset made by a converter?"
        ) from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: expected {{reader, options}} ({exc})") from exc


def _layout_dict(layout: Layout) -> dict[str, Any] | str:
    from graph.layouts import get_layout

    if layout.name in ("ntu_rgb_d", "openpose", "nw_ucla", "coco") and get_layout(layout.name) == layout:
        return layout.name
    spec: dict[str, Any] = {
        "name": layout.name,
        "num_node": layout.num_node,
        "edges": [list(e) for e in layout.inward],
        "center": layout.center,
    }
    if layout.bone_root is not None:
        spec["bone_root"] = layout.bone_root
    if layout.joint_names:
        spec["joint_names"] = list(layout.joint_names)
    return spec
