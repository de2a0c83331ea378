"""Which clip goes into which part, for ``custom_gendata.py``: split files, named splits and k folds.

Parts: ``train`` (fit the model), ``val`` (choose the weights: the epoch, fusion weights) and ``test``
(the final evaluation, never used for a choice). A *split* assigns clips to parts; a dataset has one
split (subfolders ``train/ val/ test/``, or a split file ``name,part``), several named splits (a split
table ``name,split1,split2,...``, e.g. JHMDB's three), or k folds made here (stratified by label).
Every split is written to its own folder: the output folder itself for the one split,
``{out}/<split name>/`` or ``{out}/fold<k>/`` otherwise.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from data_gen.common import RunSummary
from utils.errors import ConfigError
from utils.splits import stratified_folds, stratified_split

SUFFIXES = (".npz", ".json")
PARTS = ("train", "val", "test")
SPLIT_FILES = ("split.json", "split.csv")
Members = list[tuple[str, Path]]  # (sample name, clip file), names sorted


@dataclass(frozen=True)
class Output:
    """One output part: ``{out_folder}/{folder}/{part}_data_joint.npy`` and ``{part}_label.pkl``."""

    folder: str  # "" (the output folder itself), "fold0", "split1", ...
    part: str

    @property
    def name(self) -> str:
        return f"{self.folder}/{self.part}" if self.folder else self.part

    def paths(self, out_folder: Path) -> tuple[Path, Path]:
        base = out_folder / self.folder if self.folder else out_folder
        return base / f"{self.part}_data_joint.npy", base / f"{self.part}_label.pkl"


# -- split files ---------------------------------------------------------------------------------------
def stem(name: str) -> str:
    """A sample name without a clip suffix (``clip_01.npz`` -> ``clip_01``)."""
    for suffix in SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_split_table(path: str | Path) -> dict[str, dict[str, str]]:
    """``{split name: {sample name: part}}`` from ``split.json`` / ``split.csv``; the one split is named "".

    JSON: ``{"name": "train", ...}`` or ``{"train": [names], "val": [...], ...}`` (one split).
    CSV: rows ``name,part`` (a first row ``name,split`` / ``name,part`` is a header), or a header
    ``name,<split 1>,<split 2>,...`` and one column per named split (JHMDB's ``name,split1,split2,split3``),
    where an empty cell leaves the clip out of that split. Names may carry the file suffix.
    ConfigError naming the file (and line) for anything else.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the split file ({exc.strerror or exc})") from exc
    splits: dict[str, dict[str, str]] = {}

    def add(split: str, name: Any, part: Any, where: str) -> None:
        name, part = str(name).strip(), str(part).strip().lower()
        if part not in PARTS:
            raise ConfigError(f"{where}: part '{part}' for '{name}'; expected one of {', '.join(PARTS)}")
        table = splits.setdefault(split, {})
        key = stem(name)
        if key in table and table[key] != part:
            where_split = f" of split '{split}'" if split else ""
            raise ConfigError(f"{where}: '{name}' is in both {table[key]} and {part}{where_split}")
        table[key] = part

    if path.suffix.lower() == ".json":
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{exc.lineno}: not valid JSON ({exc.msg})") from exc
        if not isinstance(obj, dict):
            raise ConfigError(f"{path}: expected an object {{name: part}} or {{part: [names]}}")
        for key, value in obj.items():
            if isinstance(value, list):
                for name in value:
                    add("", name, key, str(path))
            elif isinstance(value, str):
                add("", key, value, str(path))
            else:
                raise ConfigError(f"{path}: entry '{key}' must be a part name or a list of sample names")
        return splits
    columns: list[str] | None = None
    for lineno, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if columns is None and cells[0].lower() in ("name", "sample", "file") and len(cells) >= 2:
            columns = [""] if len(cells) == 2 else cells[1:]  # header
            named = [c for c in columns if c]
            if len(columns) > 1 and (len(named) != len(columns) or len(set(named)) != len(named)):
                raise ConfigError(
                    f"{path}:{lineno}: split columns need distinct, non-empty names: {cells[1:]}"
                )
            continue
        if columns is None:
            columns = [""]
        if len(cells) < 2:
            raise ConfigError(f"{path}:{lineno}: expected 'name,part', got {','.join(cells)!r}")
        if len(columns) > 1 and len(cells) - 1 > len(columns):
            raise ConfigError(
                f"{path}:{lineno}: {len(cells) - 1} parts for the {len(columns)} split columns {columns}"
            )
        for split, part in zip(columns, cells[1:]):
            if part or len(columns) == 1:
                add(split, cells[0], part, f"{path}:{lineno}")
    return splits


def read_split_file(path: str | Path) -> dict[str, str]:
    """``{sample name: part}`` of a split file with one split (see :func:`read_split_table`)."""
    splits = read_split_table(path)
    if set(splits) - {""}:
        raise ConfigError(f"{path}: holds the named splits {', '.join(splits)}; expected one split")
    return splits.get("", {})


# -- finding the clips ------------------------------------------------------------------------------
def clip_files(folder: Path) -> list[Path]:
    """The clip files (``.npz``/``.json``) of ``folder``, sorted; split files and hidden files excluded."""
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file()
        and p.suffix.lower() in SUFFIXES
        and p.name not in SPLIT_FILES
        and not p.name.startswith(".")
    )


def unique(files: Sequence[Path], summary: RunSummary) -> Members:
    """``[(stem, path), ...]`` sorted by stem; a second clip with the same stem is reported and skipped."""
    seen: dict[str, Path] = {}
    for path in files:
        name = path.stem
        if name in seen:
            summary.add_bad(f"{path}: duplicate sample name '{name}' (also {seen[name].name}); skipped")
            continue
        seen[name] = path
    return sorted(seen.items())


def discover_splits(
    data_path: Path, split_file: Path | None, summary: RunSummary, pool: bool = False
) -> dict[str, dict[str, Members]]:
    """``{split name: {part: [(name, path), ...]}}`` from subfolders or a split file (table).

    One split is named "". With ``pool`` (k folds made here) the clips need no split: every clip found
    (in the part subfolders, listed in the split file, or else in ``data_path`` itself) goes into one
    part ``all``. Duplicate names and clips that no split lists are reported; problems with the split
    file itself raise ConfigError.
    """
    if not data_path.is_dir():
        raise ConfigError(f"{data_path}: data folder not found")
    subfolders = [p for p in PARTS if (data_path / p).is_dir()]
    if split_file is None and subfolders:
        ignored = [name for name in SPLIT_FILES if (data_path / name).is_file()]
        if ignored:
            summary.add_warning(
                f"{data_path / ignored[0]}: not used, the {'/, '.join(subfolders)}/ subfolders give the split "
                "(pass --split to use the file)"
            )
        parts: dict[str, Members] = {}
        for part in subfolders:
            files = clip_files(data_path / part)
            if not files:
                summary.add_warning(f"{data_path / part}: no .npz or .json clips in this folder")
            parts[part] = unique(files, summary)
        loose = clip_files(data_path)
        if loose:
            summary.skipped[f"clips outside {'/, '.join(subfolders)}/ subfolders"] += len(loose)
        if pool:
            return {"": {"all": sorted(m for members in parts.values() for m in members)}}
        return {"": parts}
    if split_file is None:
        found = [data_path / name for name in SPLIT_FILES if (data_path / name).is_file()]
        if not found:
            if pool:
                return {"": {"all": unique(clip_files(data_path), summary)}}
            raise ConfigError(
                f"{data_path}: no split; put the clips in train/, val/, test/ subfolders or add "
                f"{' or '.join(SPLIT_FILES)} (sample name -> train/val/test), or pass --split "
                "(or make k folds with --folds K)"
            )
        split_file = found[0]
    table = read_split_table(split_file)
    files = unique(clip_files(data_path), summary)
    listed = set().union(*table.values()) if table else set()
    out: dict[str, dict[str, Members]] = {}
    for name, path in files:
        if name not in listed:
            summary.skipped[f"clips not listed in {split_file.name}"] += 1
            continue
        for split, assignment in table.items():
            if name in assignment:
                part = "all" if pool else assignment[name]
                out.setdefault(split, {}).setdefault(part, []).append((name, path))
    absent = sorted(listed - {name for name, _ in files})
    if absent:
        summary.add_warning(
            f"{split_file}: {len(absent)} listed sample(s) have no clip file in {data_path}, e.g. '{absent[0]}'"
        )
    if pool:
        every = sorted({m for parts in out.values() for members in parts.values() for m in members})
        return {"": {"all": every}} if every else {}
    return {
        split: {part: parts[part] for part in PARTS if part in parts}
        for split, parts in sorted(out.items())
        if parts
    }


# -- assigning clips to outputs ----------------------------------------------------------------------
def fold_outputs(
    members: Members, labels: Sequence[int], k: int, seed: int, val_fraction: float
) -> dict[Output, Members]:
    """``k`` stratified folds: fold ``i`` tests on its share of every class and trains on the rest;
    with ``val_fraction`` a stratified share of the training clips becomes the fold's ``val`` part."""
    folds = stratified_folds(labels, k, seed)
    out: dict[Output, Members] = {}
    for i in range(k):
        test = np.flatnonzero(folds == i)
        train = np.flatnonzero(folds != i)
        parts = {"test": test}
        if val_fraction > 0:
            keep, held = stratified_split(np.asarray(labels)[train], val_fraction, seed + i)
            parts["val"] = train[held]
            train = train[keep]
        parts["train"] = train
        for part in PARTS:
            if part in parts and len(parts[part]):
                out[Output(f"fold{i}", part)] = [members[j] for j in sorted(parts[part])]
    return out


def carve_val(
    parts: dict[str, Members], labels: dict[str, int], fraction: float, seed: int, where: str
) -> dict[str, Members]:
    """A split without a ``val`` part gets one: a stratified ``fraction`` of its training clips.

    ``labels``: ``{clip path: label}``. A split whose ``val`` part exists but has no ``test`` is refused
    (its ``val`` would be the held-out set, 2s-AGCN's naming): name that part ``test``.
    """
    if fraction <= 0:
        return parts
    if "val" in parts:
        if "test" not in parts:
            raise ConfigError(
                f"--val_fraction: {where} has train and val parts but no test; its val part is the held-out "
                "set, so name it test (then --val_fraction carves the validation part from train)"
            )
        return parts
    train = parts.get("train", [])
    if not train:
        return parts
    keep, held = stratified_split([labels[str(p)] for _, p in train], fraction, seed)
    out = dict(parts)
    out["train"] = [train[i] for i in keep]
    out["val"] = [train[i] for i in held]
    return {part: out[part] for part in PARTS if part in out}
