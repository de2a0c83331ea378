"""The experiment report: one Markdown page and the same as HTML, with tables, figures and commands.

Written by ``experiment.py`` into ``<work_root>/<name>/``: ``report.md``, ``report.html``,
``streams.csv`` and ``fusion.csv`` (every fold and seed), ``confusion_<fusion>.png`` and
``curves_<model>.png``.
"""

from __future__ import annotations

import html
import os
import platform
import re
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from engine.experiment import Experiment, Run, summarize_over
from utils.io import save_text


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower() or "fusion"


def _machine() -> str:
    import torch

    cpu = platform.processor() or platform.machine()
    dev = f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else f"CPU ({cpu})"
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{dev}, {cores} cores, torch {torch.__version__}, Python {platform.python_version()}"


def training_minutes(run: Run) -> float:
    """Training wall time of a run (sum of the per-epoch seconds in its metrics table), in minutes."""
    try:
        table = pd.read_csv(run.train_dir / "metrics.csv")
        return float(table["seconds"].sum()) / 60.0
    except (OSError, KeyError, ValueError):
        return float("nan")


def _markdown(table: pd.DataFrame) -> str:
    if table.empty:
        return "(nothing yet)\n"
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "| " + " | ".join("---" for _ in cols) + " |"]
    for _, row in table.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(
                ""
                if isinstance(v, float) and np.isnan(v)
                else (f"{v:.2f}" if isinstance(v, float) else str(v))
            )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _plot_curves(exp: Experiment, runs: Sequence[Run], out: Path) -> list[Path]:
    """One figure per model: validation/test top-1 per epoch of each stream (first fold and seed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from utils.io import atomic_path

    written = []
    first = (exp.folds[0], exp.seeds[0])
    for mr in exp.runs:
        fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
        drawn = False
        for run in runs:
            if run.model != mr.model or (run.fold, run.seed) != first:
                continue
            try:
                table = pd.read_csv(run.train_dir / "metrics.csv")
            except (OSError, ValueError):
                continue
            drawn = True
            ax_loss.plot(table["epoch"], table["train_loss"], label=run.stream)
            for col, style in (("val_top1", "-"), ("test_top1", "--")):
                if col in table and table[col].notna().any():
                    m = table[col].notna()
                    kind = "validation" if col == "val_top1" else "test"
                    ax_acc.plot(
                        table["epoch"][m],
                        100 * table[col][m],
                        style,
                        marker="o",
                        ms=3,
                        label=f"{run.stream} ({kind})",
                    )
        if not drawn:
            plt.close(fig)
            continue
        ax_loss.set(xlabel="epoch", ylabel="training loss", title="training loss")
        ax_acc.set(xlabel="epoch", ylabel="top-1 (%)", title="held-out accuracy during training")
        for ax in (ax_loss, ax_acc):
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=8)
        fig.suptitle(f"{exp.name}: {mr.model} ({first[0]}, seed {first[1]})")
        fig.tight_layout()
        path = out / f"curves_{_slug(mr.model)}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=100)
        plt.close(fig)
        written.append(path)
    return written


def _confusion(details, exp: Experiment, out: Path) -> Path | None:
    """Confusion matrix of the first fusion, summed over folds and seeds, with class names."""
    from engine.fusion import fuse, fusion_class_names, resolve_weights
    from engine.metrics import confusion_matrix
    from engine.plots import plot_confusion
    from engine.scores import load_aligned, load_labels

    if not exp.fusion:
        return None
    name = exp.fusion[0].name
    total, classes = None, None
    for (_fold, _seed, spec_name), (job, options, _command) in details.items():
        if spec_name != name or options.search:
            continue
        names, labels = load_labels(job.labels)
        matrices = load_aligned([f.path for f in job.files], names)
        fused = fuse(matrices, resolve_weights(options, job.files), options.softmax)
        cm = confusion_matrix(labels, fused.argmax(axis=1), fused.shape[1])
        total = cm if total is None else total + cm
        classes = classes or fusion_class_names(None, job.files, fused.shape[1])
    if total is None:
        return None
    path = out / f"confusion_{_slug(name)}.png"
    plot_confusion(total, path, classes, title=f"{exp.name}: fusion '{name}'")
    return path


def write_report(
    exp: Experiment,
    runs: Sequence[Run],
    streams: pd.DataFrame,
    fused: pd.DataFrame,
    details,
    commands: Sequence[str],
    command_line: str,
) -> Path:
    """Write report.md / report.html (and the CSVs and figures); returns the Markdown path."""
    out = exp.root
    out.mkdir(parents=True, exist_ok=True)
    if not streams.empty:
        save_text(streams.to_csv(index=False, float_format="%.6f"), out / "streams.csv")
    if not fused.empty:
        save_text(fused.to_csv(index=False, float_format="%.6f"), out / "fusion.csv")
    stream_summary = summarize_over(streams, ["model", "stream"])
    if not stream_summary.empty:
        minutes = {}
        for run in runs:
            minutes.setdefault((run.model, run.stream), []).append(training_minutes(run))
        stream_summary["train_min"] = [
            round(float(np.nanmean(minutes.get((m, s), [np.nan]))), 1)
            for m, s in zip(stream_summary["model"], stream_summary["stream"])
        ]
    fused_summary = summarize_over(fused, ["fusion"])
    if not fused_summary.empty:
        counts = fused.groupby("fusion", sort=False)["streams"].first()
        weights = fused.groupby("fusion", sort=False)["weights"].first()
        fused_summary.insert(1, "streams", [counts[f] for f in fused_summary["fusion"]])
        fused_summary["weights"] = [weights[f] for f in fused_summary["fusion"]]
    curves = _plot_curves(exp, runs, out)
    confusion = _confusion(details, exp, out)
    groups = len(exp.folds) * len(exp.all_seeds)
    spread = (
        f"mean and standard deviation over {len(exp.folds)} fold(s) x {len(exp.all_seeds)} seed(s)"
        if groups > 1
        else "one fold, one seed"
    )
    md = [
        f"# Experiment `{exp.name}`\n",
        f"From `{exp.path}` on {time.strftime('%Y-%m-%d %H:%M')}; {_machine()}. Accuracies in %, {spread}.\n",
        "## Single streams\n",
        _markdown(stream_summary),
        "## Fusions\n",
        _markdown(fused_summary),
    ]
    if groups > 1:
        md += [
            "## Every fold and seed\n",
            _markdown(
                fused.assign(top1=100 * fused["top1"]).drop(columns=["top5", "mean_class"])
                if not fused.empty
                else fused
            ),
        ]
    if confusion is not None:
        md += [f"## Confusion matrix (fusion '{exp.fusion[0].name}')\n", f"![confusion]({confusion.name})\n"]
    if curves:
        md += ["## Training curves\n", *[f"![{p.stem}]({p.name})\n" for p in curves]]
    fusion_commands = [
        f"# {key[2]} ({key[0]}, {'all seeds' if key[1] == 'all' else f'seed {key[1]}'})\n{cmd}"
        for key, (_j, _o, cmd) in details.items()
    ]
    commands = [*commands, *fusion_commands]
    md += [
        "## Commands\n",
        "This report: `" + command_line + "` (reruns skip finished runs). The runs, then each fusion as an "
        "`ensemble.py` command:\n",
        "```bash\n" + "\n".join(commands) + "\n```\n",
    ]
    text = "\n".join(md)
    save_text(text, out / "report.md")
    save_text(
        _html(exp, text, stream_summary, fused_summary, confusion, curves, commands, command_line),
        out / "report.html",
    )
    return out / "report.md"


def _html(exp, markdown, stream_summary, fused_summary, confusion, curves, commands, command_line) -> str:
    def table(df: pd.DataFrame) -> str:
        return (
            "<p>(nothing yet)</p>"
            if df.empty
            else df.to_html(index=False, float_format=lambda v: f"{v:.2f}", border=0)
        )

    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(exp.name)}</title>",
        "<style>body{font-family:sans-serif;max-width:70em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{padding:.2em .7em;border-bottom:1px solid #ddd;text-align:right}pre{background:#f6f6f6;padding:1em;"
        "overflow-x:auto}img{max-width:100%}</style></head><body>",
        f"<h1>Experiment {html.escape(exp.name)}</h1>",
        f"<p>{html.escape(markdown.splitlines()[2])}</p>",
        "<h2>Single streams</h2>",
        table(stream_summary),
        "<h2>Fusions</h2>",
        table(fused_summary),
    ]
    if confusion is not None:
        parts += [
            f"<h2>Confusion matrix (fusion '{html.escape(exp.fusion[0].name)}')</h2>",
            f"<img src='{confusion.name}'>",
        ]
    if curves:
        parts += ["<h2>Training curves</h2>", *[f"<img src='{p.name}'>" for p in curves]]
    parts += [
        "<h2>Commands</h2>",
        f"<p>This report: <code>{html.escape(command_line)}</code></p>",
        "<pre>" + html.escape("\n".join(commands)) + "</pre></body></html>",
    ]
    return "\n".join(parts) + "\n"
