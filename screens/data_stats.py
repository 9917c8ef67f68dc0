"""Exact statistics of a table too big to read whole for the preview, taken chunk by chunk in a
thread worker: per column the missing values, min, max and mean, and the counts of each value
where a column has few enough of them to be a target's classes.

No Textual here. Import this module inside a worker only: it loads pandas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from layerlab.core.data import DataError, infer_task
from layerlab.core.data.files import table_chunks, table_size
from layerlab.screens.data_facts import ColumnFacts, Preview, count_bars
from pandas.api import types as pdt

CHUNK_ROWS = 50_000
"""Rows read at a time: a few tens of MB for a hundred columns."""
MAX_VALUES = 1000
"""A column with more different values than this is not counted value by value."""
KINDS = ("bool", "int", "float", "text")
"""Column types, each able to hold the ones before it once chunks disagree."""


@dataclass
class ColumnTally:
    """One column's figures so far, combined chunk after chunk."""

    kind: str = "bool"
    missing: int = 0
    count: int = 0
    """Numbers seen (not missing), for the mean."""
    total: float = 0.0
    low: float | None = None
    high: float | None = None
    numeric: bool = True
    """False once a chunk held something other than numbers (bool counts as not a number)."""
    values: dict[Any, int] | None = field(default_factory=dict)
    """How many times each value occurs; None once there are more than MAX_VALUES."""

    def add(self, series: pd.Series) -> None:
        self.kind = max(self.kind, kind_of(series), key=KINDS.index)
        self.missing += int(series.isna().sum())
        if self.numeric and pdt.is_numeric_dtype(series) and not pdt.is_bool_dtype(series):
            numbers = series.to_numpy(dtype=np.float64, na_value=np.nan)
            numbers = numbers[~np.isnan(numbers)]
            if numbers.size:
                self.count += numbers.size
                self.total += float(numbers.sum())
                low, high = float(numbers.min()), float(numbers.max())
                self.low = low if self.low is None else min(self.low, low)
                self.high = high if self.high is None else max(self.high, high)
        else:
            self.numeric = False
        if self.values is not None:
            counts = series.value_counts(dropna=True)
            if len(counts) > MAX_VALUES:
                self.values = None
                return
            for value, n in counts.items():
                self.values[value] = self.values.get(value, 0) + int(n)
            if len(self.values) > MAX_VALUES:
                self.values = None

    @property
    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass
class TableStats:
    """A whole table's figures: its row count and each column's tally."""

    rows: int
    columns: dict[str, ColumnTally]


def read_stats(
    path: Path,
    progress: Callable[[float], None],
    cancelled: Callable[[], bool] = lambda: False,
) -> TableStats | None:
    """Read the table at `path` in chunks and tally every column; None if cancelled on the way.

    Args:
        progress: Told the fraction read so far (of an estimated row count for text files).
        cancelled: Asked between chunks; True stops the reading.

    Raises:
        DataError: the file cannot be read (it changed, or a later line is malformed).
    """
    expected = max(1, table_size(path)[0])
    columns: dict[str, ColumnTally] = {}
    rows = 0
    for chunk in table_chunks(path, CHUNK_ROWS):
        if cancelled():
            return None
        for name in chunk.columns:
            columns.setdefault(str(name), ColumnTally()).add(chunk[name])
        rows += len(chunk)
        progress(min(rows / expected, 0.99))  # the estimate may be short: done only at the end
    if not rows:
        raise DataError("has no rows of data", path)
    progress(1.0)
    return TableStats(rows, columns)


def with_stats(preview: Preview, stats: TableStats) -> Preview:
    """The preview with its estimates replaced by the whole table's figures."""
    columns = []
    for facts in preview.columns:
        tally = stats.columns.get(facts.name)
        columns.append(facts if tally is None else _exact(facts, tally))
    return dataclasses.replace(
        preview,
        size=f"{stats.rows:,} rows × {len(preview.header)} columns",
        columns=columns,
        total_rows=stats.rows,
        exact_total=True,
        estimated=False,
    )


def _exact(facts: ColumnFacts, tally: ColumnTally) -> ColumnFacts:
    exact = ColumnFacts(facts.name, tally.kind, tally.missing, bars_exact=False)
    if tally.numeric:
        exact.low, exact.high, exact.mean = tally.low, tally.high, tally.mean
    exact.task, exact.reason, exact.bars = facts.task, facts.reason, facts.bars
    if tally.values is None:
        return exact  # too many values to count: the task and histogram stay the preview's
    try:
        exact.task, exact.reason = infer_task(pd.Series(list(tally.values), name=facts.name))
    except DataError as exc:
        exact.task, exact.reason = None, exc.problem
    except Exception:  # an odd mix of values: keep what the preview judged
        return exact
    exact.bars, exact.bars_exact = count_bars(tally.values, exact.task), True
    return exact


def kind_of(series: pd.Series) -> str:
    """ "int", "float", "bool" or "text", as the preview names a column's type."""
    if pdt.is_bool_dtype(series):
        return "bool"
    if pdt.is_integer_dtype(series):
        return "int"
    if pdt.is_float_dtype(series):
        return "float"
    return "text"
