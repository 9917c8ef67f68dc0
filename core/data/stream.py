"""Tables too large to load whole: read once in chunks, kept as a float32 copy on disk, and
served to training a few batches at a time.

The chunked pass (pandas' ``read_csv(chunksize=…)``, or pyarrow's row-group batches for Parquet)
writes each row's feature values, as float32, into a memory-mapped file and keeps the target
column; a second pass over the training rows takes the statistics the scaling needs. The steps
are those of the in-memory path, in the same order and with the same functions
(core.data.prep), so both give the same split and the same scaling. Parsing the text happens
once, not every epoch; the copy takes 4 bytes per value and is read from the page cache.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from . import prep
from .base import DataError, Dataset, n_classes_for, split
from .files import read_table, table_chunks, table_size
from .rows import Cache, TableRows
from .tabular import (
    FLOAT32_MAX,
    MAX_CATEGORIES,
    NO_GAPS,
    PREVIEW_ROWS,
    check_columns,
    fill_note,
    prepare_target,
    scale_note,
    split_target,
)
from .target import as_number, is_text, numeric

if TYPE_CHECKING:
    from ..spec import DataSpec

CHUNK_ROWS = 65536
"""Rows read, and later gathered, at a time: about 25 MB of float32 for 100 columns."""
MAX_IN_MEMORY = 2 * 2**30
Progress = Callable[[float], None]
"""Called with the fraction of the file read so far."""


def too_big(nbytes: int) -> tuple[bool, str]:
    """Whether float32 arrays of `nbytes` would not fit comfortably in memory, and why in words:
    more than a quarter of the memory available now, or 2 GiB, whichever is smaller."""
    available = available_memory()
    limit = min(available // 4, MAX_IN_MEMORY)
    size = _gib(nbytes)
    if nbytes > limit:
        return True, (
            f"its float32 arrays would take about {size}, more than {_gib(limit)} "
            f"(a quarter of the {_gib(available)} of memory free, at most 2 GiB)"
        )
    return False, f"its float32 arrays take about {size}"


def available_memory() -> int:
    """Bytes of memory free for new work (MemAvailable on Linux)."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**29 else f"{nbytes / 2**20:.0f} MiB"


@dataclass
class _Column:
    """One feature column as the chunks go by: its kind, and what is known of its values."""

    name: str
    kind: str
    """ "number", "text_number" (numbers written as text) or "category" (text labels)."""
    slot: int
    """The column's place in the cached rows."""
    low: float = np.inf
    high: float = -np.inf
    nans: int = 0
    infinite: int = 0
    integer: bool = True
    counts_from: set[int] = field(default_factory=lambda: {0, 1})
    labels: dict[str, int] = field(default_factory=dict)

    def values(self, column: pd.Series, first: int, where: str) -> np.ndarray:
        """The chunk's values as float64 (a category's as label numbers), noting what they hold."""
        if self.kind == "category":
            return self._codes(column, where)
        numbers_only = numeric(column)
        if numbers_only is None:
            raise DataError(
                f"column {self.name!r} holds numbers in its first rows but text in rows "
                f"{first + 1:,}–{first + len(column):,}; make it all numbers, or drop it (data.drop)",
                where,
            )
        column = numbers_only
        self.integer = self.integer and pdt.is_integer_dtype(column)
        numbers = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if self.integer and self.counts_from:
            self.counts_from = {
                start
                for start in self.counts_from
                if np.array_equal(numbers, np.arange(first + start, first + start + len(numbers)))
            }
        missing = np.isnan(numbers)
        self.nans += int(missing.sum())
        if not missing.all():
            self.low = min(self.low, float(np.nanmin(numbers)))
            self.high = max(self.high, float(np.nanmax(numbers)))
        infinite = np.isinf(numbers)
        if infinite.any():
            self.infinite += int(infinite.sum())
            numbers[infinite] = np.nan
        with np.errstate(invalid="ignore"):
            huge = int((np.abs(numbers) > FLOAT32_MAX).sum())
        if huge:
            raise DataError(
                f"column {self.name!r} has {huge} value(s) beyond ±3.4e38, too large for Keras' 32-bit numbers; "
                f"rescale the column (e.g. divide it by a power of 10) or drop it (data.drop = [{self.name!r}])",
                where,
            )
        return numbers

    def _codes(self, column: pd.Series, where: str) -> np.ndarray:
        text = column.astype("string").str.strip().fillna(MISSING)
        local, uniques = pd.factorize(text)
        for value in uniques:
            if value not in self.labels:
                self.labels[value] = len(self.labels)
        if len(self.present) > MAX_CATEGORIES:
            examples = ", ".join(repr(v) for v in self.present[:3])
            raise DataError(
                f"column {self.name!r} holds text with more than {MAX_CATEGORIES} different values (e.g. {examples}); "
                f"layerlab one-hot encodes text columns of up to {MAX_CATEGORIES} values: drop it "
                f"(data.drop = [{self.name!r}]) or turn it into numbers",
                where,
            )
        codes = np.array([self.labels[v] for v in uniques], dtype=np.float64)
        return codes[local]

    @property
    def present(self) -> list[str]:
        """A category's labels seen, the missing marker aside."""
        return [label for label in self.labels if label != MISSING]

    @property
    def constant(self) -> bool:
        if self.kind == "category":
            return len(self.present) <= 1
        return not self.low <= self.high or self.low == self.high


MISSING = "(missing)"


class _Assembly:
    """Turns cached rows into features: the kept number columns (gaps filled), then one 0/1
    column per label of each text column (labels sorted, as pandas' get_dummies orders them),
    then the scaling."""

    def __init__(self, numbers: list[int], categories: list[tuple[int, list[str], dict[str, int]]]):
        self.numbers = np.asarray(numbers, dtype=np.int64)
        self.categories = []
        width = len(numbers)
        for slot, labels, codes in categories:
            rank = np.empty(len(codes), dtype=np.int64)
            for position, label in enumerate(labels):
                rank[codes[label]] = position
            self.categories.append((slot, width, rank))
            width += len(labels)
        self.width = width
        self.fill: np.ndarray | None = None
        self.scaling: prep.Scaling | None = None
        self.names: list[str] = []

    def numbers_of(self, block: np.ndarray) -> np.ndarray:
        return block[:, self.numbers]

    def __call__(self, block: np.ndarray) -> np.ndarray:
        out = np.zeros((len(block), self.width), dtype=np.float32)
        out[:, : len(self.numbers)] = block[:, self.numbers]
        if self.fill is not None:
            prep.fill(out[:, : len(self.numbers)], self.fill)
        rows = np.arange(len(block))
        for slot, start, rank in self.categories:
            out[rows, start + rank[block[:, slot].astype(np.int64)]] = 1.0
        if self.scaling is not None:
            self.scaling.transform(out, in_place=True)
        return out


def stream_table(path: Path, data: DataSpec, why: str, progress: Progress | None = None) -> Dataset:
    """A table file prepared as load_file prepares it, its rows kept on disk, not in memory.

    Args:
        why: Why the table is streamed, in words, for the notes.
        progress: Told the fraction of the file read as the chunks go by.
    """
    where = str(path)
    sample = read_table(path, rows=PREVIEW_ROWS)
    names = [str(c) for c in sample.columns]
    check_columns(names, data.target, data.drop, where)
    target = str(data.target)
    sample.columns = names
    columns: list[_Column] = []
    for name in names:
        if name == target or name in data.drop:
            continue
        kind = "number"
        if is_text(sample[name]):
            kind = "text_number" if as_number(sample[name]) is not None else "category"
        columns.append(_Column(name, kind, len(columns)))
    text = {c.name: "string" for c in columns if c.kind != "number"}

    cache = Cache(len(columns), where)
    targets: list[pd.Series] = []
    read = 0
    expected = max(1, table_size(path)[0])
    for chunk in table_chunks(path, CHUNK_ROWS, dtype=text or None):
        chunk.columns = [str(c) for c in chunk.columns]
        block = np.empty((len(chunk), len(columns)), dtype=np.float32)
        for j, column in enumerate(columns):
            block[:, j] = column.values(chunk[column.name], read, where)
        targets.append(chunk[target])
        cache.append(block)
        read += len(chunk)
        if progress is not None:
            progress(min(0.99, read / expected))
    rows_on_disk = cache.finish()
    if read == 0:
        raise DataError(f"has a header ({', '.join(names)}) but no rows of data", where)

    notes: list[str] = [f"streamed from disk ({why}): read in chunks of {CHUNK_ROWS:,} rows"]
    if data.drop:
        notes.append(f"dropped columns named in data.drop: {', '.join(data.drop)}")
    columns = _without_index_columns(columns, read, notes)
    y_all = pd.concat(targets, ignore_index=True)
    y_all.name = target
    usable_mask, task, reason, y, class_names = prepare_target(
        y_all, data, None, None, where, notes
    )
    del y_all, targets
    usable = np.arange(read) if usable_mask is None else np.flatnonzero(usable_mask)
    assembly, feature_names = _plan_features(columns, notes)
    if not feature_names:
        raise DataError(
            f"no feature columns left besides the target {target!r}; the table needs at least one more column",
            where,
        )
    train, valid, note = split(
        len(usable), y if task != "regression" else None, data.valid_fraction, data.seed, where
    )
    notes.append(note)
    train_rows = usable[train]
    valid_rows = usable[valid] if valid is not None else None
    numbers = [c for c in columns if not c.constant and c.kind != "category"]
    _fit(assembly, rows_on_disk, train_rows, valid_rows, numbers, data.features_scale, notes)
    y_train, y_valid, target_scaler = split_target(y, train, valid, task, data, target, notes)
    if progress is not None:
        progress(1.0)

    def rows(index: np.ndarray) -> TableRows:
        return TableRows(rows_on_disk, index, assembly.width, assembly)

    categories = {
        c.name: sorted(c.labels) for c in columns if c.kind == "category" and not c.constant
    }
    metadata: dict = {"fill": assembly.fill, "streamed": True, "categories": categories}
    if assembly.scaling is not None:
        metadata["feature_scaler"] = assembly.scaling
    return Dataset(
        name=path.name,
        task=task,
        task_reason=reason,
        x_train=rows(train_rows),  # type: ignore[arg-type]
        y_train=y_train,
        x_valid=None if valid_rows is None else rows(valid_rows),  # type: ignore[arg-type]
        y_valid=y_valid,
        input_shape=(assembly.width,),
        n_classes=n_classes_for(task, len(class_names)),
        class_names=class_names,
        feature_names=feature_names,
        target_name=target,
        notes=notes,
        frame=sample,
        target_scaler=target_scaler,
        metadata=metadata,
    )


def _without_index_columns(columns: list[_Column], n: int, notes: list[str]) -> list[_Column]:
    """As the in-memory path: an unnamed first column and columns counting the rows go."""
    dropped: dict[str, str] = {}
    for position, column in enumerate(columns):
        if position == 0 and (column.name.startswith("Unnamed: 0") or column.name == ""):
            dropped[column.name] = f"{column.name!r} (an unnamed first column, a saved index)"
        elif column.kind == "number" and column.integer and n > 2 and column.counts_from:
            start = min(column.counts_from)
            dropped[column.name] = (
                f"{column.name!r} (counts the rows {start}..{n - 1 + start}, an index)"
            )
    if dropped and len(dropped) == len(columns):
        notes.append(
            "kept index-like column(s), as they are the only features: "
            + "; ".join(dropped.values())
        )
        return columns
    if dropped:
        notes.append("dropped index-like column(s): " + "; ".join(dropped.values()))
    return [c for c in columns if c.name not in dropped]


def _plan_features(columns: list[_Column], notes: list[str]) -> tuple[_Assembly, list[str]]:
    """Which cached columns become which features, with the notes the in-memory path writes."""
    parsed = [c.name for c in columns if c.kind == "text_number"]
    if parsed:
        notes.append(
            f"read numbers written as text (quoted, or with decimal commas) in: {', '.join(parsed)}"
        )
    constant = [c.name for c in columns if c.constant]
    if constant:
        notes.append(
            f"dropped constant column(s), which cannot help predict: {', '.join(constant)}"
        )
    kept = [c for c in columns if not c.constant]
    numbers = [c for c in kept if c.kind != "category"]
    infinite = [c for c in numbers if c.infinite]
    if infinite:
        shown = ", ".join(f"{c.name} ({c.infinite})" for c in infinite)
        notes.append(
            f"{sum(c.infinite for c in infinite)} infinite value(s) treated as missing: {shown}"
        )
    categories = [c for c in kept if c.kind == "category"]
    feature_names = [c.name for c in numbers]
    plan = []
    described = []
    for column in categories:
        labels = sorted(column.labels)
        plan.append((column.slot, labels, column.labels))
        feature_names += [f"{column.name}_{label}" for label in labels]
        described.append(f"{column.name} ({len(labels)} values)")
    if described:
        notes.append(
            f"one-hot encoded text column(s) (one 0/1 column per value): {', '.join(described)}"
        )
    assembly = _Assembly([c.slot for c in numbers], plan)
    assembly.names = [c.name for c in numbers]
    return assembly, feature_names


def _chunks(rows: np.ndarray) -> list[np.ndarray]:
    return [rows[i : i + CHUNK_ROWS] for i in range(0, len(rows), CHUNK_ROWS)]


def _fit(
    assembly: _Assembly,
    cache: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray | None,
    numbers: list[_Column],
    how: str,
    notes: list[str],
) -> None:
    """`numbers`: the kept number columns, in the assembly's order. Fills gaps with the training rows' medians and fits the scaling on the training rows."""
    gappy = [i for i, c in enumerate(numbers) if c.nans]
    if gappy:
        slots = assembly.numbers[gappy]
        counts = np.zeros(len(assembly.numbers), dtype=np.int64)
        kept: list[np.ndarray] = []
        for rows in _chunks(train):
            values = cache[rows][:, slots]
            counts[gappy] += np.isnan(values).sum(axis=0)
            kept.append(values)
        for rows in _chunks(valid) if valid is not None else []:
            counts[gappy] += np.isnan(cache[rows][:, slots]).sum(axis=0)
        if counts.any():
            fill = np.zeros(len(assembly.numbers), dtype=np.float32)
            fill[gappy] = prep.medians(np.concatenate(kept))
            assembly.fill = fill
            notes.append(fill_note(assembly.names, counts))
        else:
            notes.append(NO_GAPS)
        del kept
    else:
        notes.append(NO_GAPS)
    notes.append(scale_note(how))
    if how == "none":
        return
    stats = prep.ColumnStats(assembly.width)
    for rows in _chunks(train):
        stats.update(assembly(cache[rows]))
    assembly.scaling = prep.Scaling.fit(how, stats)
