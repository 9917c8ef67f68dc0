"""What the Data screen previews, worked out in a thread worker: the first rows, each column's
statistics and what it would make as a target, class balance, and image folders' classes and samples.

A table file of BIG_FILE bytes or more is previewed from its first PEEK_ROWS rows only, its
statistics marked as estimates; screens.data_stats then reads it whole, in chunks, for the exact
figures. An image folder is listed, never decoded, but for the few samples shown.

No Textual here. Import this module inside a worker only: it loads core.data, hence pandas.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from layerlab.core.data import DataError, infer_task, load_dataset, read_table
from layerlab.core.data.files import table_size
from layerlab.core.errors import log_failure
from layerlab.core.spec import DataSpec, Spec

ROWS_SHOWN = 8
SAMPLES_SHOWN = 4
BARS = 12
"""At most this many bars: the largest classes, or histogram bins of a numeric target."""
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")
SPLIT_FOLDERS = ("train", "valid", "validation")
BIG_FILE = 20 * 2**20
"""Table files this large (in bytes) or larger are previewed from their first rows only."""
PEEK_ROWS = 1000
"""Rows read for the preview of a big table file."""


@dataclass
class ColumnFacts:
    """One column of a table, and what it would make as the target."""

    name: str
    kind: str
    """"int", "float", "bool" or "text"."""
    missing: int
    low: float | None = None
    high: float | None = None
    mean: float | None = None
    task: str | None = None
    """The task core.data infers for this column as a target; None when it cannot be one."""
    reason: str = ""
    """Why that task, or why the column cannot be a target."""
    bars: list[tuple[str, float]] = field(default_factory=list)
    """Class balance (labels and counts) for classification, a histogram for regression."""
    bars_exact: bool = True
    """False while the bars count only the rows read for the preview (Preview.estimated)."""


@dataclass
class Preview:
    """A data source as the Data screen shows it before (and after) it is used."""

    title: str
    kind: str
    """"table" or "images"."""
    size: str
    """Rows and columns, or images and classes, in words."""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    columns: list[ColumnFacts] = field(default_factory=list)
    fixed_target: str | None = None
    """The column a built-in data set always predicts; None where the user chooses."""
    task: str | None = None
    reason: str = ""
    classes: list[tuple[str, int]] = field(default_factory=list)
    """Image classes and how many images each has."""
    samples: list[tuple[str, np.ndarray]] = field(default_factory=list)
    """A few images, each with its class, as arrays scaled to 0–1."""
    notes: list[str] = field(default_factory=list)
    dataset: Any = None
    """The Dataset when previewing meant loading it (built-in and keras: sets), else None."""
    path: Path | None = None
    """The table file previewed, for reading it whole later; None for other sources."""
    rows_read: int = 0
    """Rows of the table read for the preview."""
    total_rows: int = 0
    """The table's row count (an estimate unless exact_total)."""
    exact_total: bool = True
    estimated: bool = False
    """True when the statistics and class counts come from the first rows only (rows)."""

    def estimate_words(self) -> str:
        """Where an estimated preview's figures come from, in words ("" when they are exact)."""
        if not self.estimated:
            return ""
        about = "" if self.exact_total else "about "
        return f"from the first {self.rows_read:,} of {about}{self.total_rows:,} rows"

    def column(self, name: str | None) -> ColumnFacts | None:
        return next((c for c in self.columns if c.name == name), None)


def preview_source(data: DataSpec) -> Preview:
    """Preview what `data` names: a built-in or keras: set, a table file or an image folder.

    Built-in and keras: sets are loaded with `data`'s choices (the load is the preview); a file
    is only read; a folder is only scanned.

    Raises:
        DataError: the source is missing or unreadable; the message says where and why.
    """
    if data.name:
        return preview_dataset(load_dataset(Spec(data=data)))
    path = Path(data.path or "").expanduser()
    if not data.path:
        raise DataError(
            "type the path of a CSV/TSV/Parquet file or an image folder, or pick a data set from the list"
        )
    if path.is_dir():
        return preview_folder(path)
    return preview_file(path)


def preview_file(path: Path) -> Preview:
    """A table file's preview: read whole under BIG_FILE bytes, else from its first PEEK_ROWS rows
    with the statistics marked as estimates (screens.data_stats reads the rest)."""
    big = path.is_file() and path.stat().st_size >= BIG_FILE
    frame = read_table(path, rows=PEEK_ROWS if big else None)
    preview = preview_table(frame, path.name)
    preview.path, preview.rows_read, preview.total_rows = path, len(frame), len(frame)
    if big and len(frame) == PEEK_ROWS:
        total, exact = table_size(path)
        preview.total_rows, preview.exact_total = max(total, len(frame)), exact
        preview.estimated = True
        preview.size = (
            f"{'' if exact else 'about '}{preview.total_rows:,} rows × {frame.shape[1]} columns"
        )
        for facts in preview.columns:
            facts.bars_exact = False
    return preview


def preview_dataset(dataset: Any) -> Preview:
    """A loaded Dataset's preview: its table, or its classes and a few of its images."""
    if dataset.frame is not None:
        preview = preview_table(dataset.frame, dataset.name)
        preview.fixed_target = dataset.target_name
    else:
        labels = np.concatenate(
            [dataset.y_train, dataset.y_valid if dataset.y_valid is not None else []]
        )
        counts = np.bincount(labels.astype(int), minlength=len(dataset.class_names))
        classes = list(zip(dataset.class_names, (int(c) for c in counts), strict=True))
        h, w, c = dataset.input_shape
        preview = Preview(
            dataset.name,
            "images",
            f"{len(labels):,} images of {h}×{w}×{c}, {len(classes)} classes",
            classes=classes,
        )
        preview.samples = _dataset_samples(dataset)
    preview.task, preview.reason, preview.notes, preview.dataset = (
        dataset.task,
        dataset.task_reason,
        list(dataset.notes),
        dataset,
    )
    return preview


def preview_table(frame: Any, title: str) -> Preview:
    """The first rows, and per column its type, missing values, min, max, mean and target task."""
    frame = frame.copy()
    frame.columns = [str(c) for c in frame.columns]
    head = frame.head(ROWS_SHOWN)
    rows = [[_cell(v) for v in row] for row in head.itertuples(index=False)]
    missing = frame.isna().sum()
    numeric = frame.select_dtypes("number")
    stats = numeric.describe().T if numeric.shape[1] else None
    columns = []
    for name in frame.columns:
        series = frame[name]
        facts = ColumnFacts(name, _kind(series), int(missing[name]))
        if stats is not None and name in stats.index:
            facts.low, facts.high, facts.mean = (
                _number(stats.at[name, k]) for k in ("min", "max", "mean")
            )
        try:
            facts.task, facts.reason = infer_task(series)
        except DataError as exc:
            facts.reason = exc.problem
        except (
            Exception
        ) as exc:  # an odd dtype (dates, mixed objects) is not a target, never a crash
            log_failure(f"judging column {name!r} as a target", exc)
            facts.reason = f"{name!r} cannot be a target ({type(exc).__name__}: {exc})"
        facts.bars = _bars(series, facts.task)
        columns.append(facts)
    size = f"{len(frame):,} rows × {frame.shape[1]} columns"
    return Preview(title, "table", size, header=list(frame.columns), rows=rows, columns=columns)


def preview_folder(folder: Path) -> Preview:
    """Class sub-folders, how many images each holds, and a few samples (nothing else is read).

    A folder with train/ and valid/ sub-folders is counted over both.

    Raises:
        DataError: no class sub-folders, a single one, or a class without images.
    """
    roots = [folder]
    names = {p.name.lower(): p for p in _subfolders(folder)}
    if "train" in names and any(v in names for v in SPLIT_FOLDERS[1:]):
        roots = [names[n] for n in SPLIT_FOLDERS if n in names]
    files: dict[str, list[Path]] = {}
    for root in roots:
        for sub in _subfolders(root):
            files.setdefault(sub.name, []).extend(_images_in(sub))
    if not files:
        raise DataError(
            "has no class sub-folders; expected one sub-folder of images per class, e.g. cat/ and dog/",
            folder,
        )
    if len(files) < 2:
        raise DataError(
            f"has a single class sub-folder ({next(iter(files))}/); at least 2 classes are needed",
            folder,
        )
    empty = [name for name, found in files.items() if not found]
    if empty:
        raise DataError(
            f"class folder(s) {', '.join(e + '/' for e in empty)} hold no images; expected {', '.join(IMAGE_SUFFIXES)} files",
            folder,
        )
    classes = [(name, len(found)) for name, found in files.items()]
    total = sum(n for _, n in classes)
    preview = Preview(
        folder.name + "/", "images", f"{total:,} images, {len(classes)} classes", classes=classes
    )
    per_class = max(1, SAMPLES_SHOWN // len(classes))
    picks = [(name, path) for name, found in files.items() for path in found[:per_class]][
        :SAMPLES_SHOWN
    ]
    sizes = set()
    for name, path in picks:
        try:
            array = _read_image(path)
        except OSError as exc:
            raise DataError(f"cannot be read as an image ({exc})", path) from None
        sizes.add(f"{array.shape[0]}×{array.shape[1]}×{array.shape[2] if array.ndim == 3 else 1}")
        preview.samples.append((name, array))
    preview.notes.append(f"sample image sizes: {', '.join(sorted(sizes))}")
    return preview


def _images_in(folder: Path) -> list[Path]:
    """The image files under `folder`, sorted, from the directory listing alone (no stat of each
    file, no decoding): a folder of 100,000 images lists in well under a second."""
    found: list[str] = []
    for root, _dirs, names in os.walk(folder):
        found.extend(
            os.path.join(root, name) for name in names if name.lower().endswith(IMAGE_SUFFIXES)
        )
    return [Path(name) for name in sorted(found)]


def _subfolders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _read_image(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("L" if image.mode in ("1", "L", "LA", "I", "I;16", "F") else "RGB")
        return np.asarray(image, dtype=np.float32) / 255.0


def _dataset_samples(dataset: Any) -> list[tuple[str, np.ndarray]]:
    """The first image of each class (up to SAMPLES_SHOWN), scaled to 0–1 for display."""
    x = dataset.raw_x_valid if dataset.raw_x_valid is not None else dataset.x_train
    y = dataset.y_valid if dataset.raw_x_valid is not None else dataset.y_train
    samples = []
    for code, name in enumerate(dataset.class_names):
        found = np.flatnonzero(y == code)
        if found.size:
            image = np.asarray(x[found[0]], dtype=np.float32)
            samples.append((name, image / max(float(image.max()), 1e-6)))
        if len(samples) == SAMPLES_SHOWN:
            break
    return samples


def _bars(series: Any, task: str | None) -> list[tuple[str, float]]:
    return count_bars(series.value_counts(dropna=True).to_dict(), task)


def count_bars(counts: dict[Any, int], task: str | None) -> list[tuple[str, float]]:
    """Bars from how many times each value occurs: the class balance (the BARS largest classes)
    for classification and for a few integer scores, else a histogram of BARS bins at most."""
    if task is None or not counts:
        return []
    numbers = None
    if task == "regression":
        try:
            numbers = np.array(list(counts), dtype=float)
        except (TypeError, ValueError):  # numbers written as text: no histogram of them
            return []
    few_integers = (
        numbers is not None
        and len(np.unique(numbers)) <= BARS
        and bool(np.all(numbers == np.round(numbers)))
    )
    if task in ("binary", "multiclass") or few_integers:
        labelled: dict[str, int] = {}
        for value, n in counts.items():
            labelled[_label(value)] = labelled.get(_label(value), 0) + int(n)
        largest = sorted(labelled.items(), key=lambda kv: -kv[1])[:BARS]
        return sorted(((k, float(v)) for k, v in largest), key=lambda kv: _label_key(kv[0]))
    assert numbers is not None
    weights = np.array(list(counts.values()), dtype=float)
    found, edges = np.histogram(
        numbers, bins=min(BARS, max(1, len(np.unique(numbers)))), weights=weights
    )
    return [(f"{edges[i]:.3g}", float(c)) for i, c in enumerate(found)]


def _label(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _label_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), "")
    except ValueError:
        return (1, 0.0, label)


def _kind(series: Any) -> str:
    from pandas.api import types as pdt

    if pdt.is_bool_dtype(series):
        return "bool"
    if pdt.is_integer_dtype(series):
        return "int"
    if pdt.is_float_dtype(series):
        return "float"
    return "text"


def _number(value: Any) -> float | None:
    value = float(value)
    return value if np.isfinite(value) else None


def _cell(value: Any) -> str:
    if isinstance(value, float | np.floating):
        return "" if np.isnan(value) else f"{value:.6g}"
    return str(value)
