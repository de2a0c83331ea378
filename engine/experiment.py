"""One experiment, one file: data generation, every model x stream x fold x seed trained and tested,
the fusions, and one report. ``experiment.py`` is the command line over this module.

An experiment file (YAML, read with ``safe_load``; unknown keys are errors)::

    name: nw-ucla                               # outputs in <work_root>/<name>/
    work_root: ./work_dir/experiments           # default
    data:                                       # optional; a list runs in order
      - generator: ucla_gendata                 # a data_gen/ script from GENERATORS below
        args: {data_path: ../shared/data/nw-ucla, out_folder: ./data/nw-ucla}
        creates: ./data/nw-ucla/val_label.pkl   # skipped when this exists
    runs:                                       # one entry per model
      - model: impsgnv2                         # a name for tables and fusion filters
        train: config/nw-ucla/train_{stream}_impsgnv2.yaml
        test: config/nw-ucla/test_{stream}_impsgnv2.yaml
        streams: [joint, bone, joint_motion, bone_motion]
        set: {num_epoch: 40}                    # overrides for this model's runs ({stream} etc. substituted)
        seeds: [1, 2, 3]                        # optional: this model's seeds (default: the top-level seeds)
    set: {num_worker: 0}                        # overrides for every run
    seeds: [1]                                  # each seed is a full repetition
    folds: [fold0, fold1]                       # optional: k folds or named splits ...
    fold_data: ./data/sbu/{fold}                # ... each fold's data folder (replaces the configs')
    fusion:                                     # fused per fold and seed, then averaged over them
      - {name: all 1:1}
      - {name: 4s, preset: 4s}
      - {name: impsgnv2 4s, models: [impsgnv2], preset: 4s}
      - {name: searched, search: true}          # weights chosen on the validation split
      - {name: 4s seeds, preset: 4s, seed_ensemble: true}  # each stream averaged over its seeds, then fused
    parallel: {jobs: auto, threads: auto}       # runs at once x threads each

Each training run lives in ``<work_root>/<name>/<fold>/seed<seed>/<model>_<stream>/`` with its weights
under ``.../weights/``, its test in ``<model>_test_<stream>/``, its log in ``<name>/logs/``. A rerun
skips finished runs (``train_summary.json``, ``test_summary.json``) and resumes interrupted ones
(``--resume``). The report is ``<name>/report.md`` and ``report.html``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import shlex
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from utils.errors import ConfigError, DataError, closest, unknown_key_message

ROOT = Path(__file__).resolve().parents[1]
TRAIN_DONE = "train_summary.json"
BEST_VAL_SCORES = "best_val_score.pkl"  # engine.run writes it with the -best.pt weights
TEST_DONE = "test_summary.json"
# Data generators an experiment may run: a fixed table of this project's scripts, run as commands.
GENERATORS = {
    "synthetic": "data_gen/synthetic.py",
    "ntu_gendata": "data_gen/ntu_gendata.py",
    "kinetics_gendata": "data_gen/kinetics_gendata.py",
    "ucla_gendata": "data_gen/ucla_gendata.py",
    "custom_gendata": "data_gen/custom_gendata.py",
    "gen_bone_data": "data_gen/gen_bone_data.py",
    "gen_motion_data": "data_gen/gen_motion_data.py",
    "openpose_to_kinetics": "data_gen/openpose_to_kinetics.py",
}
OPTIONAL_GENERATORS = {"mmaction_convert": "data_gen/mmaction_convert.py"}
TOP_KEYS = {"name", "work_root", "data", "runs", "set", "seeds", "folds", "fold_data", "fusion", "parallel"}
RUN_KEYS = {"model", "train", "test", "streams", "set", "seeds"}
DATA_KEYS = {"generator", "args", "creates"}
FUSION_KEYS = {"name", "models", "streams", "preset", "weights", "softmax", "search", "seed_ensemble"}
PARALLEL_KEYS = {"jobs", "threads", "gpus_per_run"}


# ---------------------------------------------------------------------------------------------
# the experiment file
@dataclass
class DataStep:
    generator: str
    args: dict[str, Any]
    creates: str | None = None

    def command(self) -> list[str]:
        script = GENERATORS.get(self.generator) or OPTIONAL_GENERATORS.get(self.generator)
        return [sys.executable, script, *_flags(self.args)]


@dataclass
class ModelRuns:
    model: str
    train: str
    test: str | None
    streams: list[str]
    set: dict[str, Any] = field(default_factory=dict)
    seeds: list[int] | None = None  # None: the experiment's seeds


@dataclass
class FusionSpec:
    name: str
    models: list[str] | None = None
    streams: list[str] | None = None
    preset: str | None = None
    weights: list[float] | None = None
    softmax: bool = False
    search: bool = False
    # one fusion of every seed per fold: each (model, stream)'s scores averaged over its seeds (its
    # weight split evenly among them), instead of one fusion per seed averaged afterwards
    seed_ensemble: bool = False


@dataclass
class Experiment:
    name: str
    path: Path
    work_root: Path
    data: list[DataStep]
    runs: list[ModelRuns]
    set: dict[str, Any]
    seeds: list[int]
    folds: list[str]
    fold_data: str | None
    fusion: list[FusionSpec]
    jobs: int
    threads: int
    gpus_per_run: int

    @property
    def root(self) -> Path:
        return self.work_root / self.name

    def seeds_of(self, runs: ModelRuns) -> list[int]:
        return self.seeds if runs.seeds is None else runs.seeds

    @property
    def all_seeds(self) -> list[int]:
        """The experiment's seeds, then any further seeds that only some models run."""
        extra = sorted({s for mr in self.runs for s in self.seeds_of(mr)} - set(self.seeds))
        return [*self.seeds, *extra]


def _flags(args: Mapping[str, Any]) -> list[str]:
    """``{data_path: x, benchmark: [a, b], overwrite: true}`` -> ``--data_path x --benchmark a b --overwrite``."""
    out: list[str] = []
    for key, value in args.items():
        flag = f"--{key}"
        if value is True:
            out.append(flag)
        elif value is False or value is None:
            continue
        elif isinstance(value, (list, tuple)):
            out += [flag, *map(str, value)]
        else:
            out += [flag, str(value)]
    return out


def _check_keys(obj: Any, valid: set[str], where: str) -> dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise ConfigError(f"{where}: expected a mapping, got {type(obj).__name__}")
    for key in obj:
        if key not in valid:
            raise ConfigError(unknown_key_message(str(key), valid, where))
    return dict(obj)


def _seed_list(value: Any, where: str) -> list[int]:
    seeds = [value] if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(seeds, list)
        or not seeds
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)
    ):
        raise ConfigError(f"{where}: expected a list of integers, got {value!r}")
    if len(set(seeds)) != len(seeds):
        raise ConfigError(f"{where}: each seed once, got {value!r}")
    return list(seeds)


def _auto_jobs(jobs: Any, gpus_per_run: int) -> int:
    if jobs not in (None, "auto"):
        if not isinstance(jobs, int) or jobs < 1:
            raise ConfigError(f"parallel.jobs: expected a positive integer or auto, got {jobs!r}")
        return jobs
    try:
        import torch

        gpus = torch.cuda.device_count()
    except ImportError:  # pragma: no cover
        gpus = 0
    if gpus:
        return max(1, gpus // max(gpus_per_run, 1))
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    # small skeleton models use few cores well: two runs at once beat one run with every core
    return max(1, min(2, cores))


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file; every problem is a one-line ConfigError naming the key."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not a valid YAML experiment file ({exc})".splitlines()[0]) from None
    top = _check_keys(raw, TOP_KEYS, str(path))
    where = lambda key: f"{path}: {key}"  # noqa: E731
    if not isinstance(top.get("name"), str) or not top["name"].strip():
        raise ConfigError(f"{where('name')}: expected a name for the experiment (its output folder)")
    steps = top.get("data") or []
    steps = [steps] if isinstance(steps, Mapping) else steps
    data = []
    for i, step in enumerate(steps):
        step = _check_keys(step, DATA_KEYS, where(f"data[{i}]"))
        gen = step.get("generator")
        if gen not in GENERATORS and gen not in OPTIONAL_GENERATORS:
            hint = closest(str(gen), GENERATORS)
            raise ConfigError(
                f"{where(f'data[{i}].generator')}: unknown generator {gen!r}"
                + (f"; did you mean '{hint}'?" if hint else "")
                + f" (known: {', '.join(sorted(GENERATORS))})"
            )
        data.append(DataStep(gen, dict(step.get("args") or {}), step.get("creates")))
    runs = []
    for i, entry in enumerate(top.get("runs") or []):
        entry = _check_keys(entry, RUN_KEYS, where(f"runs[{i}]"))
        for key in ("model", "train"):
            if not isinstance(entry.get(key), str):
                raise ConfigError(f"{where(f'runs[{i}].{key}')}: expected a string")
        streams = entry.get("streams") or ["joint"]
        if isinstance(streams, str):
            streams = [streams]
        for s in streams:
            for key in ("train", "test"):
                if entry.get(key) is not None and not (ROOT / entry[key].format(stream=s)).is_file():
                    cfg = entry[key].format(stream=s)
                    if not Path(cfg).is_file():
                        raise ConfigError(f"{where(f'runs[{i}].{key}')}: no config file {cfg} (stream {s})")
        own_seeds = None
        if "seeds" in entry:
            own_seeds = _seed_list(entry["seeds"], where(f"runs[{i}].seeds"))
        runs.append(
            ModelRuns(
                entry["model"],
                entry["train"],
                entry.get("test"),
                list(streams),
                dict(entry.get("set") or {}),
                own_seeds,
            )
        )
    if not runs:
        raise ConfigError(f"{where('runs')}: expected at least one model with its train (and test) config")
    names = [r.model for r in runs]
    if len(set(names)) != len(names):
        raise ConfigError(f"{where('runs')}: model names must be distinct, got {names}")
    seeds = _seed_list(top.get("seeds", [1]), where("seeds"))
    folds = top.get("folds") or ["main"]
    if isinstance(folds, int):
        folds = [f"fold{k}" for k in range(folds)]
    folds = [str(f) for f in folds]
    fold_data = top.get("fold_data")
    if len(folds) > 1 and not (isinstance(fold_data, str) and "{fold}" in fold_data):
        raise ConfigError(f"{where('fold_data')}: several folds need a data folder pattern with {{fold}}")
    fusion = []
    for i, spec in enumerate(top.get("fusion") or [{"name": "all streams 1:1"}]):
        spec = _check_keys(spec, FUSION_KEYS, where(f"fusion[{i}]"))
        if not isinstance(spec.get("name"), str):
            raise ConfigError(f"{where(f'fusion[{i}].name')}: expected a name for the fusion row")
        if spec.get("seed_ensemble") and spec.get("search"):
            raise ConfigError(
                f"{where(f'fusion[{i}]')}: search and seed_ensemble together are not supported "
                "(each seed has its own validation split); use one of them"
            )
        fusion.append(FusionSpec(**spec))
    par = _check_keys(top.get("parallel") or {}, PARALLEL_KEYS, where("parallel"))
    gpus_per_run = int(par.get("gpus_per_run", 1))
    jobs = _auto_jobs(par.get("jobs", "auto"), gpus_per_run)
    threads = par.get("threads", "auto")
    if threads in (None, "auto"):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // jobs)
    for key, value in (("set", top.get("set")),):
        if value is not None and not isinstance(value, Mapping):
            raise ConfigError(f"{where(key)}: expected a mapping of config keys to values")
    return Experiment(
        name=top["name"].strip(),
        path=path,
        work_root=Path(top.get("work_root", "./work_dir/experiments")),
        data=data,
        runs=runs,
        set=dict(top.get("set") or {}),
        seeds=list(seeds),
        folds=folds,
        fold_data=fold_data,
        fusion=fusion,
        jobs=jobs,
        threads=int(threads),
        gpus_per_run=gpus_per_run,
    )


# ---------------------------------------------------------------------------------------------
# the runs
@dataclass
class Run:
    """One model x stream x fold x seed: a training and (optionally) a test."""

    model: str
    stream: str
    fold: str
    seed: int
    train_config: str
    test_config: str | None
    overrides: dict[str, Any]
    folder: Path  # <root>/<fold>/seed<seed>

    @property
    def key(self) -> str:
        return f"{self.fold}/seed{self.seed}/{self.model}_{self.stream}"

    @property
    def train_dir(self) -> Path:
        return self.folder / f"{self.model}_{self.stream}"

    @property
    def test_dir(self) -> Path:
        return self.folder / f"{self.model}_test_{self.stream}"

    @property
    def weights_prefix(self) -> Path:
        return self.folder / "weights" / f"{self.model}_{self.stream}"


def plan(exp: Experiment) -> list[Run]:
    """Every run of the experiment, in a stable order (fold, seed, model, stream)."""
    out = []
    for fold in exp.folds:
        for seed in exp.all_seeds:
            for mr in exp.runs:
                if seed not in exp.seeds_of(mr):
                    continue
                for stream in mr.streams:
                    out.append(
                        Run(
                            mr.model,
                            stream,
                            fold,
                            seed,
                            mr.train.format(stream=stream),
                            mr.test.format(stream=stream) if mr.test else None,
                            _substitute(
                                {**exp.set, **mr.set}, model=mr.model, stream=stream, fold=fold, seed=seed
                            ),
                            exp.root / fold / f"seed{seed}",
                        )
                    )
    return out


def _substitute(values: Any, **fields: Any) -> Any:
    """``{stream}``, ``{model}``, ``{fold}``, ``{seed}`` in override values (strings, nested lists/dicts)."""
    if isinstance(values, str):
        for key, value in fields.items():
            values = values.replace("{" + key + "}", str(value))
        return values
    if isinstance(values, Mapping):
        return {k: _substitute(v, **fields) for k, v in values.items()}
    if isinstance(values, list):
        return [_substitute(v, **fields) for v in values]
    return values


def _set_args(values: Mapping[str, Any]) -> list[str]:
    """``{a.b: 1}`` -> ``['--set', 'a.b=1']`` (values as YAML flow text)."""
    if not values:
        return []
    items = []
    for key, value in values.items():
        text = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
        if text.endswith("\n..."):
            text = text[: -len("\n...")]
        items.append(f"{key}={text.removesuffix('...').strip()}")
    return ["--set", *items]


def _fold_overrides(exp: Experiment, run: Run, config: str, phase: str) -> dict[str, Any]:
    """Data paths of ``config`` moved into the fold's data folder (same file names)."""
    if exp.fold_data is None or "{fold}" not in exp.fold_data:
        return {}
    folder = Path(exp.fold_data.format(fold=run.fold))
    cfg = yaml.safe_load((ROOT / config if (ROOT / config).is_file() else Path(config)).read_text())
    out = {}
    for block in ("train_feeder_args", "val_feeder_args", "test_feeder_args"):
        args = cfg.get(block) or {}
        for key in ("data_path", "label_path"):
            if key in args:
                out[f"{block}.{key}"] = str(folder / Path(args[key]).name)
    return out


def train_command(exp: Experiment, run: Run) -> list[str]:
    main = [sys.executable, str(ROOT / "main.py")]
    if exp.gpus_per_run > 1:
        main = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            f"--nproc_per_node={exp.gpus_per_run}",
            str(ROOT / "main.py"),
        ]
    overrides = {**run.overrides, **_fold_overrides(exp, run, run.train_config, "train")}
    return [
        *main,
        "--config",
        run.train_config,
        "--work-dir",
        str(run.train_dir),
        "--model-saved-name",
        str(run.weights_prefix),
        "--seed",
        str(run.seed),
        "--resume",
        *_set_args(overrides),
    ]


def test_weights(run: Run) -> Path | None:
    """The weights a finished training chose: ``-best.pt`` when it selected a best epoch, else the last."""
    done = run.train_dir / TRAIN_DONE
    if not done.is_file():
        return None
    summary = json.loads(done.read_text())
    chosen = summary.get("best_weights") or summary.get("weights")
    return Path(chosen) if chosen else None


def _selects_best(run: Run) -> bool:
    """Whether the training keeps a ``-best.pt`` (``model_selection`` val or test)."""
    if "model_selection" in run.overrides:
        return run.overrides["model_selection"] in ("val", "test")
    path = ROOT / run.train_config if (ROOT / run.train_config).is_file() else Path(run.train_config)
    cfg = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return cfg.get("model_selection", "last") in ("val", "test")


def test_command(exp: Experiment, run: Run) -> list[str]:
    guess = f"{run.weights_prefix}-best.pt" if _selects_best(run) else f"{run.weights_prefix}-*-*.pt"
    weights = test_weights(run) or Path(guess)
    keep = {
        k: v
        for k, v in run.overrides.items()
        if not k.startswith(("train_feeder_args", "val_feeder_args", "num_epoch"))
    }
    overrides = {**keep, **_fold_overrides(exp, run, run.test_config, "test")}
    return [
        sys.executable,
        str(ROOT / "main.py"),
        "--config",
        run.test_config,
        "--work-dir",
        str(run.test_dir),
        "--weights",
        str(weights),
        "--seed",
        str(run.seed),
        *_set_args(overrides),
    ]


def train_done(run: Run) -> bool:
    return (run.train_dir / TRAIN_DONE).is_file()


def test_done(run: Run) -> bool:
    summary = run.test_dir / TEST_DONE
    weights = test_weights(run)
    if not summary.is_file() or weights is None or not weights.is_file():
        return False
    return summary.stat().st_mtime >= weights.stat().st_mtime


def shell(cmd: Sequence[str]) -> str:
    """The command as one copy-pasteable line, relative to the repository root where possible."""
    parts = []
    for i, part in enumerate(cmd):
        if i == 0 and part == sys.executable:
            parts.append("python")
            continue
        if part.startswith(str(ROOT) + os.sep):
            part = os.path.relpath(part, ROOT)
        parts.append(shlex.quote(part))
    return " ".join(parts)


# ---------------------------------------------------------------------------------------------
# executing
@dataclass
class Task:
    run: Run
    phase: str  # train | test
    cmd: list[str]
    log: Path
    proc: subprocess.Popen | None = None
    start: float = 0.0
    seconds: float = 0.0
    code: int | None = None


def _progress(task: Task) -> str:
    """What a running task has done so far: epochs from metrics.csv (training)."""
    if task.phase != "train":
        return "testing"
    metrics = task.run.train_dir / "metrics.csv"
    try:
        lines = metrics.read_text().strip().splitlines()
        epochs = max(0, len(lines) - 1)
    except OSError:
        epochs = 0
    return f"epoch {epochs} done"


class Runner:
    """Runs the tasks ``jobs`` at a time with ``threads`` CPU threads each, printing progress."""

    def __init__(self, exp: Experiment, echo=None, heartbeat: float = 60.0) -> None:
        self.exp = exp
        self.echo = echo or (lambda line: print(line, flush=True))  # progress reaches a log file at once
        self.heartbeat = heartbeat
        self.commands: list[str] = []
        self.times: dict[str, float] = {}

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["OMP_NUM_THREADS"] = str(self.exp.threads)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def run_data(self) -> None:
        for step in self.exp.data:
            cmd = step.command()
            self.commands.append(shell(cmd))
            if step.creates and Path(step.creates).exists():
                self.echo(f"data: {step.creates} exists; skipping {step.generator}")
                continue
            log = self.exp.root / "logs" / f"data_{step.generator}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            self.echo(f"data: {shell(cmd)}")
            t0 = time.time()
            with open(log, "w", encoding="utf-8") as f:
                code = subprocess.call(cmd, cwd=ROOT, stdout=f, stderr=subprocess.STDOUT, env=self.env())
            if code != 0:
                tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-5:]
                raise DataError(
                    f"data generation failed ({step.generator}, exit {code}); see {log}: " + " | ".join(tail)
                )
            self.echo(f"data: {step.generator} done in {time.time() - t0:.0f} s (log {log})")

    def _start(self, task: Task, env: dict[str, str]) -> None:
        task.log.parent.mkdir(parents=True, exist_ok=True)
        log = open(task.log, "a", encoding="utf-8")
        log.write(f"\n$ {shell(task.cmd)}\n")
        log.flush()
        self.commands.append(shell(task.cmd))
        task.proc = subprocess.Popen(task.cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, env=env)
        task.proc.log_file = log  # type: ignore[attr-defined]
        task.start = time.time()
        self.echo(f"start {task.phase:5s} {task.run.key}")

    def _finish(self, task: Task, code: int, failed: list[Task]) -> None:
        task.proc.log_file.close()  # type: ignore[attr-defined]
        task.code, task.seconds = code, time.time() - task.start
        self.times[f"{task.phase} {task.run.key}"] = task.seconds
        if code == 0:
            self.echo(f"done  {task.phase:5s} {task.run.key} in {task.seconds / 60:.1f} min{_result(task)}")
            return
        failed.append(task)
        lines = task.log.read_text(encoding="utf-8", errors="replace").strip().splitlines()
        errors = [line for line in lines if line.startswith("error:")] or lines[-1:]
        self.echo(
            f"FAILED {task.phase} {task.run.key} (exit {code}; log {task.log}): {errors[-1] if errors else ''}"
        )

    def run_tasks(self, tasks: list[Task]) -> list[Task]:
        """Run ``tasks`` (a test after its training); returns the failed ones. Ctrl-C stops them all."""
        pending, running, failed = list(tasks), [], []
        training = {id(t.run) for t in tasks if t.phase == "train"}
        env, last_beat = self.env(), time.time()
        try:
            while pending or running:
                while len(running) < self.exp.jobs:
                    ready = None
                    for task in pending:
                        if task.phase == "test" and id(task.run) in training:
                            continue  # its training has not finished yet
                        ready = task
                        break
                    if ready is None:
                        break
                    pending.remove(ready)
                    if ready.phase == "test":
                        if not train_done(ready.run):
                            ready.code = -1
                            failed.append(ready)
                            self.echo(f"skip  test  {ready.run.key}: its training did not finish")
                            continue
                        ready.cmd = test_command(self.exp, ready.run)  # the weights training chose
                    self._start(ready, env)
                    running.append(ready)
                time.sleep(0.2)
                for task in list(running):
                    code = task.proc.poll()
                    if code is not None:
                        running.remove(task)
                        self._finish(task, code, failed)
                        if task.phase == "train":
                            training.discard(id(task.run))
                if running and time.time() - last_beat >= self.heartbeat:
                    last_beat = time.time()
                    self.echo(
                        "  running: "
                        + "; ".join(
                            f"{t.phase} {t.run.key} ({_progress(t)}, {(time.time() - t.start) / 60:.1f} min)"
                            for t in running
                        )
                    )
        except KeyboardInterrupt:
            for task in running:
                task.proc.terminate()
            for task in running:
                task.proc.wait()
            raise
        return failed


def _result(task: Task) -> str:
    if task.phase == "test":
        try:
            res = json.loads((task.run.test_dir / TEST_DONE).read_text())
            return f": top-1 {100 * res['top1']:.2f}%"
        except (OSError, ValueError, KeyError):
            return ""
    return ""


def tasks_for(exp: Experiment, runs: Sequence[Run], only: str | None = None) -> list[Task]:
    """Tasks still to do, run by run: an unfinished training, then a test whose result is missing or stale."""
    logs = exp.root / "logs"
    tasks = []
    for run in runs:
        name = run.key.replace("/", "_")
        if only in (None, "train") and not train_done(run):
            tasks.append(Task(run, "train", train_command(exp, run), logs / f"{name}_train.log"))
        if only in (None, "test") and run.test_config and not test_done(run):
            tasks.append(Task(run, "test", test_command(exp, run), logs / f"{name}_test.log"))
    return tasks


# ---------------------------------------------------------------------------------------------
# fusion and report
def fusion_tables(exp: Experiment, runs: Sequence[Run]):
    """Per-stream and fused accuracies for every fold and seed (DataFrames), and the fused scores.

    A fusion is computed per fold and seed, for each seed that every model it fuses was trained
    with; a ``seed_ensemble`` fusion once per fold, over all of its seeds (its ``seed`` is ``all``).
    A fusion waits until every run it fuses has its test: no row from a part of its streams.
    """
    import pandas as pd

    from engine.fusion import PRESETS

    for spec in exp.fusion:
        if spec.preset and spec.preset not in PRESETS:
            raise ConfigError(
                f"{exp.path}: fusion '{spec.name}'.preset: unknown preset {spec.preset!r} (known: {', '.join(PRESETS)})"
            )
    stream_rows, fused_rows, details = [], [], {}
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.fold, run.seed), []).append(run)
    by_fold: dict[str, list[Run]] = {}
    for (fold, seed), members in groups.items():
        members = [r for r in members if r.test_config]
        by_fold.setdefault(fold, []).extend(members)
        tested = [r for r in members if (r.test_dir / TEST_DONE).is_file()]
        for r in tested:
            res = json.loads((r.test_dir / TEST_DONE).read_text())
            stream_rows.append(
                {
                    "fold": fold,
                    "seed": seed,
                    "model": r.model,
                    "stream": r.stream,
                    "top1": res["top1"],
                    "top5": res.get("top5", np.nan),
                    "mean_class": res.get("mean_class", np.nan),
                }
            )
        for spec in exp.fusion:
            fused_models = [mr for mr in exp.runs if not spec.models or mr.model in spec.models]
            if spec.seed_ensemble or any(seed not in exp.seeds_of(mr) for mr in fused_models):
                continue  # this seed lacks a model the fusion needs
            result = _fuse_one(exp, spec, _chosen(spec, members), fold, seed)
            if result is not None:
                fused_rows.append(result[0])
                details[(fold, seed, spec.name)] = result[1]
    for fold, members in by_fold.items():
        for spec in exp.fusion:
            if spec.seed_ensemble:
                result = _fuse_one(exp, spec, _chosen(spec, members), fold, "all")
                if result is not None:
                    fused_rows.append(result[0])
                    details[(fold, "all", spec.name)] = result[1]
    return pd.DataFrame(stream_rows), pd.DataFrame(fused_rows), details


def _chosen(spec: FusionSpec, runs: Sequence[Run]) -> list[Run]:
    """The runs a fusion takes: its models' and streams' (all when it names none)."""
    return [
        r
        for r in runs
        if (not spec.models or r.model in spec.models) and (not spec.streams or r.stream in spec.streams)
    ]


def seed_ensemble_weights(spec: FusionSpec, chosen: Sequence[Run]) -> list[float]:
    """One weight per score file of a seed ensemble: each (model, stream)'s weight (the spec's
    ``weights`` in the order of those pairs, its ``preset``'s weight for the stream, else 1) split
    evenly among the seeds that have its scores, so its fused scores are the seeds' mean."""
    from engine.fusion import FusionOptions, ScoreFile, resolve_weights

    pairs = list(dict.fromkeys((r.model, r.stream) for r in chosen))
    try:
        base = resolve_weights(
            FusionOptions(preset=spec.preset, weights=spec.weights),
            [ScoreFile(Path(f"{m}_{s}"), m, s) for m, s in pairs],
        )
    except ConfigError as exc:
        raise ConfigError(f"fusion '{spec.name}' (one weight per model x stream): {exc}") from None
    count = Counter((r.model, r.stream) for r in chosen)
    weight = dict(zip(pairs, base.tolist()))
    return [weight[(r.model, r.stream)] / count[(r.model, r.stream)] for r in chosen]


def _fuse_one(exp: Experiment, spec: FusionSpec, chosen: list[Run], fold: str, seed: int | str):
    """One fused row (and its job, options and ensemble command), or None when a run it fuses has no
    test yet."""
    from engine.fusion import FusionOptions, Job, ScoreFile, run_job

    if not chosen or not all((r.test_dir / TEST_DONE).is_file() for r in chosen):
        return None
    if spec.seed_ensemble:
        chosen = sorted(chosen, key=lambda r: (*_stream_index(exp, r), r.seed))
    labels = _test_labels(exp, chosen[0])
    files = [ScoreFile(r.test_dir / "epoch1_test_score.pkl", r.model, r.stream) for r in chosen]
    job = Job(files, labels, dataset=f"{exp.name}/{fold}/seed{seed}")
    if spec.search:
        job.val_files = [validation_scores(r) for r in chosen]
        job.val_labels = Path(_val_labels(exp, chosen[0]))
        if any(v is None for v in job.val_files):
            return None
    if spec.seed_ensemble:
        options = FusionOptions(weights=seed_ensemble_weights(spec, chosen), softmax=spec.softmax)
    else:
        options = FusionOptions(
            preset=spec.preset, weights=spec.weights, softmax=spec.softmax, search=spec.search
        )
    with contextlib.redirect_stdout(io.StringIO()):
        table = run_job(options, job, many=False)
    row = table[table["model"].str.startswith("fusion")].iloc[0]
    fused = {
        "fold": fold,
        "seed": seed,
        "fusion": spec.name,
        "streams": len(chosen),
        "top1": row["top1"],
        "top5": row["top5"],
        "mean_class": row["mean_class"],
        "weights": ":".join(f"{w:g}" for w in table["weight"].iloc[: len(chosen)]),
    }
    return fused, (job, options, ensemble_command(job, options))


def _stream_index(exp: Experiment, run: Run) -> tuple[int, int]:
    """(model, stream) position in the experiment file: a seed ensemble's files in that order."""
    i, mr = next((i, mr) for i, mr in enumerate(exp.runs) if mr.model == run.model)
    return i, mr.streams.index(run.stream)


def ensemble_command(job, options) -> str:
    """The ``ensemble.py`` command that gives the same fusion as one row of the report."""
    cmd = [sys.executable, str(ROOT / "ensemble.py"), "--scores", *(str(f.path) for f in job.files)]
    cmd += ["--labels", str(job.labels)]
    if options.preset:
        cmd += ["--preset", options.preset]
    if options.weights:
        cmd += ["--weights", *(f"{w:.10g}" for w in options.weights)]
    if options.softmax:
        cmd.append("--softmax")
    if options.search:
        cmd += ["--search", "--val-scores", *map(str, job.val_files), "--val-labels", str(job.val_labels)]
    return shell(cmd)


def validation_scores(run: Run) -> Path | None:
    """The validation scores of the weights the test stage uses: ``best_val_score.pkl`` for a run that
    chose a best epoch (runs trained before that file existed: the last epoch's, which are the same
    scores when the best epoch is the last), else the last epoch's ``epoch<E>_val_score.pkl``."""
    done = run.train_dir / TRAIN_DONE
    if done.is_file():
        best = run.train_dir / BEST_VAL_SCORES
        if json.loads(done.read_text()).get("best_weights") and best.is_file():
            return best
    found = sorted(run.train_dir.glob("epoch*_val_score.pkl"), key=lambda p: int(p.name[5:].split("_")[0]))
    return found[-1] if found else None


def _feeder_path(exp: Experiment, run: Run, config: str, block: str, key: str) -> str:
    over = _fold_overrides(exp, run, config, "")
    if f"{block}.{key}" in over:
        return over[f"{block}.{key}"]
    path = ROOT / config if (ROOT / config).is_file() else Path(config)
    cfg = yaml.safe_load(path.read_text())
    value = (cfg.get(block) or {}).get(key)
    if value is None:
        raise ConfigError(f"{config}: {block}.{key} is needed to fuse the scores")
    return value


def _test_labels(exp: Experiment, run: Run) -> Path:
    return Path(_feeder_path(exp, run, run.test_config, "test_feeder_args", "label_path"))


def _val_labels(exp: Experiment, run: Run) -> str:
    """The labels of a training run's validation scores: its ``val_feeder_args`` (a val part of the
    data), else its training labels (a ``val_fraction`` split of the training set)."""
    try:
        return _feeder_path(exp, run, run.train_config, "val_feeder_args", "label_path")
    except ConfigError:
        return _feeder_path(exp, run, run.train_config, "train_feeder_args", "label_path")


def summarize_over(table, by: Sequence[str]):
    """Mean and standard deviation (over folds and seeds) of the accuracy columns, in %."""
    if table.empty:
        return table
    agg = (
        table.groupby(list(by), sort=False)
        .agg(
            top1=("top1", "mean"),
            top1_std=("top1", "std"),
            top5=("top5", "mean"),
            mean_class=("mean_class", "mean"),
            n=("top1", "size"),
        )
        .reset_index()
    )
    for col in ("top1", "top1_std", "top5", "mean_class"):
        agg[col] = (100 * agg[col]).round(2)
    agg["top1_std"] = agg["top1_std"].fillna(0.0)
    return agg
