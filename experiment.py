#!/usr/bin/env python
"""Run a whole experiment from one file: data generation, every model x stream x fold x seed
trained and tested, the fusions, and one report (Markdown and HTML).

    python experiment.py experiments/demo.yaml                # everything; a rerun skips finished runs
    python experiment.py experiments/nw-ucla.yaml --dry-run   # the commands it would run
    python experiment.py experiments/nw-ucla.yaml --stage report          # only refresh the report
    python experiment.py experiments/nw-ucla.yaml --slurm slurm/nw-ucla   # Slurm job-array scripts
    python experiment.py experiments/nw-ucla.yaml --task train 3          # one task (what Slurm runs)

The file format is described in ``engine/experiment.py`` and in README ("One experiment, one file").
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from engine.experiment import (
    ROOT,
    Experiment,
    Runner,
    load_experiment,
    plan,
    shell,
    tasks_for,
    test_command,
    train_command,
)
from utils.cli import one_line_warnings, run_cli
from utils.errors import ConfigError
from utils.io import save_text


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="experiment.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("file", help="the experiment file (YAML)")
    p.add_argument(
        "--stage",
        choices=("all", "data", "train", "test", "report"),
        default="all",
        help="run only one stage (default: all, in order)",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="print the commands that are still to run, and exit"
    )
    p.add_argument(
        "--fresh",
        action="store_true",
        help="start over: the previous outputs (<work_root>/<name>) are moved aside to <name>.old-<time>, not deleted",
    )
    p.add_argument("--jobs", type=int, help="runs at once (default: the file's parallel.jobs)")
    p.add_argument("--threads", type=int, help="CPU threads per run (default: the file's parallel.threads)")
    p.add_argument(
        "--task",
        nargs=2,
        metavar=("PHASE", "INDEX"),
        help="run one task in the foreground: train|test and its run index (the Slurm array task id)",
    )
    p.add_argument(
        "--slurm", type=Path, metavar="DIR", help="write Slurm job-array scripts into DIR, and exit"
    )
    p.add_argument(
        "--slurm-args",
        default="",
        help="extra #SBATCH options for every script, e.g. --slurm-args='--partition=gpu --time=24:00:00'",
    )
    return p


def slurm_scripts(exp: Experiment, folder: Path, extra: str, file: str) -> list[Path]:
    """One script per stage (data, a train array, a test array, the report) and submit.sh chaining them."""
    runs = plan(exp)
    py = "python"
    header_common = [
        f"#SBATCH --output={folder}/logs/%x-%A_%a.out",
        f"#SBATCH --cpus-per-task={max(exp.threads, 1)}",
    ]
    header_common += [f"#SBATCH {opt}" for opt in shlex.split(extra)]
    gpu = [f"#SBATCH --gres=gpu:{exp.gpus_per_run}"] if exp.gpus_per_run >= 1 else []
    cd = f"cd {shlex.quote(str(ROOT))}"
    scripts = {
        "data": (
            [f"#SBATCH --job-name={exp.name}-data", *header_common],
            f"{py} experiment.py {shlex.quote(file)} --stage data",
        ),
        "train": (
            [
                f"#SBATCH --job-name={exp.name}-train",
                f"#SBATCH --array=0-{len(runs) - 1}",
                *header_common,
                *gpu,
            ],
            f"{py} experiment.py {shlex.quote(file)} --task train $SLURM_ARRAY_TASK_ID",
        ),
        "test": (
            [
                f"#SBATCH --job-name={exp.name}-test",
                f"#SBATCH --array=0-{len(runs) - 1}",
                *header_common,
                *gpu[:1],
            ],
            f"{py} experiment.py {shlex.quote(file)} --task test $SLURM_ARRAY_TASK_ID",
        ),
        "report": (
            [f"#SBATCH --job-name={exp.name}-report", *header_common],
            f"{py} experiment.py {shlex.quote(file)} --stage report",
        ),
    }
    written = []
    for name, (header, command) in scripts.items():
        body = (
            "#!/bin/bash\n"
            + "\n".join(header)
            + f"\nset -euo pipefail\n{cd}\n. .venv/bin/activate\n{command}\n"
        )
        path = folder / f"{name}.sbatch"
        save_text(body, path)
        written.append(path)
    submit = (
        "#!/bin/bash\n# Submit the stages in order; each waits for the previous one.\nset -euo pipefail\n"
        f"cd {shlex.quote(str(folder))}\nmkdir -p logs\n"
        "data=$(sbatch --parsable data.sbatch)\n"
        "train=$(sbatch --parsable --dependency=afterok:$data train.sbatch)\n"
        "test=$(sbatch --parsable --dependency=afterany:$train test.sbatch)\n"
        "sbatch --dependency=afterany:$test report.sbatch\n"
    )
    save_text(submit, folder / "submit.sh")
    written.append(folder / "submit.sh")
    return written


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    one_line_warnings()
    return run_cli(lambda: _run(args), "interrupted: finished runs are kept; rerun the same command to go on")


def _run(args: argparse.Namespace) -> int:
    exp = load_experiment(args.file)
    if args.jobs:
        exp.jobs = args.jobs
    if args.threads:
        exp.threads = args.threads
    runs = plan(exp)
    command_line = "python experiment.py " + shlex.quote(args.file)
    if args.slurm:
        for path in slurm_scripts(exp, args.slurm, args.slurm_args, args.file):
            print(f"wrote {path}")
        print(f"submit with: bash {args.slurm / 'submit.sh'}")
        return 0
    if args.fresh and exp.root.exists():
        backup = exp.root.with_name(f"{exp.root.name}.old-{time.strftime('%Y%m%d-%H%M%S')}")
        exp.root.rename(backup)
        print(f"moved the previous outputs to {backup}")
    runner = Runner(exp)
    if args.task:
        phase, index = args.task
        if phase not in ("train", "test") or not index.isdigit() or int(index) >= len(runs):
            raise ConfigError(
                f"--task: expected train|test and a run index below {len(runs)}, got {phase} {index}"
            )
        run = runs[int(index)]
        cmd = train_command(exp, run) if phase == "train" else test_command(exp, run)
        print(f"$ {shell(cmd)}", flush=True)
        return subprocess.call(cmd, cwd=ROOT, env=runner.env())
    if args.dry_run:
        for step in exp.data:
            print(shell(step.command()))
        for task in tasks_for(exp, runs):
            print(shell(task.cmd))
        return 0
    print(
        f"experiment {exp.name}: {len(runs)} runs ({len(exp.runs)} model(s), {len(exp.folds)} fold(s), "
        f"{len(exp.all_seeds)} seed(s)); {exp.jobs} at a time with {exp.threads} thread(s) each; outputs in {exp.root}"
    )
    failed = []
    if args.stage in ("all", "data"):
        runner.run_data()
    if args.stage in ("all", "train", "test"):
        only = None if args.stage == "all" else args.stage
        tasks = tasks_for(exp, runs, only)
        done = len(runs) * (2 if only is None else 1) - len(tasks)
        print(f"{len(tasks)} task(s) to run, {done} already finished")
        failed = runner.run_tasks(tasks)
    if args.stage in ("all", "report"):
        from engine.experiment import fusion_tables
        from engine.report import write_report

        commands = [shell(s.command()) for s in exp.data]
        for run in runs:
            commands.append(shell(train_command(exp, run)))
            if run.test_config:
                commands.append(shell(test_command(exp, run)))
        streams, fused, details = fusion_tables(exp, runs)
        path = write_report(exp, runs, streams, fused, details, commands, command_line)
        print(f"report: {path} and {path.with_suffix('.html')}")
        if not fused.empty:
            from engine.experiment import summarize_over

            table = summarize_over(fused, ["fusion"])
            for _, row in table.iterrows():
                spread = f" +- {row['top1_std']:.2f}" if row["n"] > 1 else ""
                print(f"  {row['fusion']:<32s} top-1 {row['top1']:.2f}%{spread}")
    if failed:
        print(
            f"{len(failed)} task(s) failed: " + ", ".join(f"{t.phase} {t.run.key}" for t in failed),
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
