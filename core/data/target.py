"""The column to predict: which task it suggests, and its values encoded for Keras."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ..data.base import MAX_CLASSES, DataError

MAX_CODES = 20
_DECIMAL_COMMA = re.compile(r"^[-+]?\d*,\d+$|^[-+]?\d+$")
_MISSING_TEXT = {"", "?"}


def infer_task(series: pd.Series) -> tuple[str, str]:
    """The task a target column suggests, and why, in words.

    The rule: true/false or exactly 2 values → binary; text labels → multiclass; integers that
    are exactly 0..k-1 with k ≤ 20 look like class codes → multiclass; any other numbers
    (non-integers, or integers such as scores 3–8) → regression, as the course treats red-wine
    quality. Numbers written as text count as numbers.

    Raises:
        DataError: the column is empty or holds a single value.
    """
    name = series.name
    parsed = as_number(series) if is_text(series) else None
    values = (series if parsed is None else parsed).dropna()
    if values.empty:
        raise DataError(
            f"target column {name!r} has no values; choose a column with something to predict"
        )
    k = int(values.nunique())
    if k < 2:
        raise DataError(
            f"target column {name!r} holds a single value ({label(values.iloc[0])}); a model needs at least 2 different values to learn"
        )
    examples = ", ".join(label(v) for v in sorted(values.unique(), key=sort_key)[:5]) + (
        ", ..." if k > 5 else ""
    )
    if pdt.is_bool_dtype(values):
        return "binary", f"{name} holds true/false values → binary"
    if not pdt.is_numeric_dtype(values):
        task = "binary" if k == 2 else "multiclass"
        return task, f"{name} has {k} text labels ({examples}) → {task}"
    if k == 2:
        return "binary", f"{name} has 2 values ({examples}) → binary"
    if not np.all(values.to_numpy(float) == np.round(values.to_numpy(float))):
        return "regression", f"{name} has {k} different non-integer values → regression"
    low, high = int(values.min()), int(values.max())
    if low == 0 and high == k - 1 and k <= MAX_CODES:
        return (
            "multiclass",
            f'{name} has {k} integer values 0–{high}, like class codes → multiclass (set task = "regression" to predict them as numbers)',
        )
    return "regression", (
        f"{name} has {k} integer values ({low}–{high}) → regression: integers other than class codes 0..k-1 "
        'are read as a score (set task = "multiclass" to treat them as classes)'
    )


def encode_target(
    y_raw: pd.Series,
    given: str,
    hint: tuple[str, str] | None,
    class_names: list[str] | None,
    where: str,
    notes: list[str],
    order: list[str] | None = None,
) -> tuple[str, str, np.ndarray, list[str]]:
    """The task, its reason, the encoded target and the class names.

    Args:
        y_raw: The target column, without missing values.
        given: The spec's data.task; "auto" takes `hint`, or else infers from the column.
        hint: (task, reason) a built-in data set knows.
        class_names: Names of the codes 0..k-1 when they are known; by default the sorted labels.
        where: For messages.
        notes: Where the label encoding is described.
        order: The class order the spec gives (data.classes): the first label is 0.
    """
    name = y_raw.name
    try:
        inferred = infer_task(y_raw)
    except DataError as exc:
        raise DataError(exc.problem, where) from None
    k = int(y_raw.nunique())
    if given == "auto":
        task, reason = hint or inferred
    else:
        task, reason = given, f"task set in the spec: {given} ({name} has {k} different values)"
        numeric = pdt.is_numeric_dtype(y_raw) and not pdt.is_bool_dtype(y_raw)
        if task == "regression" and not numeric:
            raise DataError(
                f"task 'regression' needs numbers, but target {name!r} holds labels; use 'binary' or 'multiclass' (or 'auto')",
                where,
            )
        if task == "binary" and k != 2:
            raise DataError(
                f"task 'binary' needs exactly 2 target values, but {name!r} has {k}; use 'multiclass' or 'regression' (or 'auto')",
                where,
            )
    if task == "regression":
        return task, reason, _float32(y_raw, where), []
    if k > MAX_CLASSES:
        raise DataError(
            f"target {name!r} has {k} different values, too many classes (at most {MAX_CLASSES}); use task 'regression'",
            where,
        )
    if class_names is not None:
        return task, reason, y_raw.to_numpy(dtype=np.int32), list(class_names)
    if order is not None:
        return task, reason, _in_order(y_raw, order, where, notes), list(order)
    values = y_raw.astype(str) if is_text(y_raw) else y_raw
    codes, uniques = pd.factorize(values, sort=True)
    names = [label(v) for v in uniques]
    if names != [str(i) for i in range(k)]:
        shown = ", ".join(f"{n} → {i}" for i, n in enumerate(names[:10])) + (
            ", ..." if k > 10 else ""
        )
        notes.append(f"target labels encoded as class numbers: {shown}")
    return task, reason, codes.astype(np.int32), names


def _in_order(y_raw: pd.Series, order: list[str], where: str, notes: list[str]) -> np.ndarray:
    """Labels coded by their place in `order` (data.classes), every label accounted for."""
    labels = [label(v) for v in y_raw]
    index = {name: i for i, name in enumerate(order)}
    unknown = sorted({v for v in labels if v not in index})
    if unknown:
        raise DataError(
            f"target {y_raw.name!r} holds {', '.join(map(repr, unknown[:5]))}, not in data.classes "
            f"({', '.join(map(repr, order))}); list every label, the first becomes 0",
            where,
        )
    absent = [name for name in order if name not in set(labels)]
    if absent:
        raise DataError(
            f"data.classes lists {', '.join(map(repr, absent))}, which target {y_raw.name!r} never holds; "
            f"its labels are {', '.join(map(repr, sorted(set(labels))))}",
            where,
        )
    shown = ", ".join(f"{name} → {i}" for i, name in enumerate(order))
    notes.append(f"target labels encoded as class numbers in the order data.classes gives: {shown}")
    return np.array([index[v] for v in labels], dtype=np.int32)


def _float32(y_raw: pd.Series, where: str) -> np.ndarray:
    """A regression target as Keras' 32-bit floats, refusing values that would overflow to infinity."""
    values = y_raw.to_numpy(dtype=np.float64)
    huge = int((np.abs(values) > np.finfo(np.float32).max).sum())
    if huge:
        raise DataError(
            f"target {y_raw.name!r} has {huge} value(s) beyond ±3.4e38, too large for Keras' 32-bit numbers; "
            "rescale the column (e.g. divide it by a power of 10) before training",
            where,
        )
    return values.astype(np.float32)


def is_text(series: pd.Series) -> bool:
    return pdt.is_object_dtype(series) or pdt.is_string_dtype(series)


def as_number(series: pd.Series) -> pd.Series | None:
    """The column as numbers when every filled cell is one (also with a decimal comma), else None."""
    text = series.astype("string").str.strip()
    text = text.mask(text.isin(_MISSING_TEXT))
    filled = text.dropna()
    if filled.empty:
        return None
    for candidate in (
        text,
        text.str.replace(",", ".", regex=False) if filled.str.match(_DECIMAL_COMMA).all() else None,
    ):
        if candidate is None:
            continue
        numbers = pd.to_numeric(candidate, errors="coerce")
        if numbers.notna().sum() == len(filled):
            return numbers.astype(np.float64)
    return None


def numeric(series: pd.Series) -> pd.Series | None:
    """A feature column as numbers: true/false as 1/0, numbers written as text parsed; None when
    it holds text that is no number."""
    if pdt.is_bool_dtype(series):
        return series.astype(np.float64)
    if not is_text(series):
        return series
    parsed = as_number(series)
    if parsed is None:
        return None if series.notna().any() else series.astype(np.float64)
    return parsed


def label(value) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def sort_key(value):
    return (0, value, "") if isinstance(value, int | float | np.number) else (1, 0, str(value))
