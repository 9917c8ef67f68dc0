"""Turning a table into training arrays: target and task, cleaning, one-hot, seeded split, fill, scale.

Every step taken is written to the Dataset's notes. Statistics (medians, scalers) come from the
training split only, so nothing about the validation rows leaks into training.
"""

from __future__ import annotations

import difflib
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from pandas.api import types as pdt

from ..data import prep
from ..data.base import DataError, Dataset, n_classes_for, split
from ..data.files import read_table
from ..data.target import as_number, encode_target, is_text

if TYPE_CHECKING:
    from ..spec import DataSpec

MAX_CATEGORIES = 50


PREVIEW_ROWS = 1000
"""A large table read from a file keeps this many of its first rows, as read, for previews."""
KEEP_WHOLE_BYTES = 32 * 2**20
"""A table smaller than this in memory is kept whole for previews and their statistics."""


def load_file(path: Path, data: DataSpec) -> Dataset:
    """A CSV/TSV/Parquet file prepared as the spec says (data.target names the column to predict)."""
    return prepare_frame(
        read_table(path),
        name=path.name,
        where=str(path),
        data=data,
        target=data.target,
        keep=PREVIEW_ROWS,
    )


def prepare_frame(
    frame: pd.DataFrame,
    *,
    name: str,
    where: str,
    data: DataSpec,
    target: str | None,
    task_hint: tuple[str, str] | None = None,
    class_names: list[str] | None = None,
    keep: int | None = None,
) -> Dataset:
    """Arrays from a table: target encoded, features cleaned, split, filled and scaled.

    The values go to float32 once, straight from the table; the split, filling and scaling work
    on those float32 arrays in place (core.data.prep, shared with the streamed path).

    Args:
        frame: The table as read; it is left unchanged and kept as the Dataset's frame (only
            its first `keep` rows when `keep` is given and the table is large).
        name: The Dataset's name.
        where: The file or data set, for messages.
        data: The spec's data table (task, drop, valid_fraction, seed, scaling).
        target: The column to predict.
        task_hint: (task, reason) to use when data.task is "auto" (built-ins know their task).
        class_names: Names of class codes 0..k-1 (built-ins); by default the sorted labels.
        keep: How many first rows of a large frame the Dataset keeps for previews (by default
            all of it, whatever its size).
    """
    large = frame.memory_usage(index=False).sum() >= KEEP_WHOLE_BYTES
    kept = frame.head(keep).copy() if keep is not None and large else frame
    df = frame.set_axis([str(c) for c in frame.columns], axis=1)
    del frame  # the caller's table goes as soon as the arrays are made
    check_columns(list(df.columns), target, data.drop, where)
    assert target is not None
    notes: list[str] = []
    if data.drop:
        notes.append(f"dropped columns named in data.drop: {', '.join(data.drop)}")
    features = df.drop(columns=[target, *data.drop])
    features = _drop_index_columns(features, notes)
    usable, task, reason, y, names_of_classes = prepare_target(
        df[target], data, task_hint, class_names, where, notes
    )
    if usable is not None:
        features = features[usable]
    categories: dict[str, list[str]] = {}
    features = _clean_features(features, notes, where, categories)
    if features.shape[1] == 0:
        raise DataError(
            f"no feature columns left besides the target {target!r}; the table needs at least one more column",
            where,
        )
    train, valid, note = split(
        len(features), y if task != "regression" else None, data.valid_fraction, data.seed, where
    )
    notes.append(note)
    names = list(features.columns)
    x = features.to_numpy(dtype=np.float32, na_value=np.nan)
    del df, features
    x_train, x_valid = x[train], (x[valid] if valid is not None else None)
    del x
    filled = _fill_missing(x_train, x_valid, names, notes)
    feature_scaler = _scale(x_train, x_valid, data.features_scale, notes)
    y_train, y_valid, scaler = split_target(y, train, valid, task, data, target, notes)
    metadata: dict = {"fill": filled, "categories": categories}
    if feature_scaler is not None:
        metadata["feature_scaler"] = feature_scaler
    return Dataset(
        name=name,
        task=task,
        task_reason=reason,
        x_train=x_train,
        y_train=y_train,
        x_valid=x_valid,
        y_valid=y_valid,
        input_shape=(len(names),),
        n_classes=n_classes_for(task, len(names_of_classes)),
        class_names=names_of_classes,
        feature_names=names,
        target_name=target,
        notes=notes,
        frame=kept,
        target_scaler=scaler,
        metadata=metadata,
    )


def check_columns(columns: list[str], target: str | None, drop: list[str], where: str) -> None:
    """Refuses a missing or unknown target, and drop entries that are no columns."""
    listed = ", ".join(columns)
    if not target:
        raise DataError(
            f"data.target is not set: name the column to predict; the columns are: {listed}", where
        )
    if target not in columns:
        close = difflib.get_close_matches(target, columns, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise DataError(f"no column {target!r} to predict{hint}; the columns are: {listed}", where)
    for column in drop:
        if column == target:
            raise DataError(f"data.drop lists the target {target!r}; remove it from drop", where)
        if column not in columns:
            raise DataError(
                f"data.drop names {column!r}, which is not a column; the columns are: {listed}",
                where,
            )


def prepare_target(
    y_raw: pd.Series,
    data: DataSpec,
    task_hint: tuple[str, str] | None,
    class_names: list[str] | None,
    where: str,
    notes: list[str],
) -> tuple[np.ndarray | None, str, str, np.ndarray, list[str]]:
    """The target column read, its unusable rows found, the task chosen and the values encoded.

    Returns:
        (which rows are usable, or None when all are; task; reason; encoded target of the
        usable rows; class names).
    """
    target = y_raw.name
    if is_text(y_raw) and (parsed := as_number(y_raw)) is not None:
        y_raw = parsed
        notes.append(f"target {target!r} held numbers as text; read them as numbers")
    missing = y_raw.isna().to_numpy()
    if missing.all():
        raise DataError(
            f"target column {target!r} is empty; choose a column with something to predict", where
        )
    # An infinite target is no more a value to learn than a missing one: both rows go, and the note says so.
    infinite = _infinite(y_raw)
    unusable = missing | infinite
    if unusable.all():
        raise DataError(
            f"target column {target!r} has no finite values: every row is {_why_unusable(missing, infinite)}; choose a column with numbers or labels to predict",
            where,
        )
    usable = None
    if unusable.any():
        usable = ~unusable
        y_raw = y_raw[usable]
        notes.append(
            f"dropped {int(unusable.sum())} row(s) whose target {target!r} is {_why_unusable(missing, infinite)}"
        )
    if data.classes is not None and class_names is not None:
        raise DataError(
            "data.classes reorders the labels of a file's target; this data set's classes are fixed",
            where,
        )
    task, reason, y, names = encode_target(
        y_raw, data.task, task_hint, class_names, where, notes, data.classes
    )
    if task == "regression" and data.classes is not None:
        raise DataError(
            'data.classes orders the classes of a classification; the task is regression (set task = "binary" or "multiclass")',
            where,
        )
    return usable, task, reason, y, names


def _infinite(values: pd.Series) -> np.ndarray:
    """Which cells of a numeric column are +inf or -inf (none in a text or true/false column)."""
    if not pdt.is_numeric_dtype(values) or pdt.is_bool_dtype(values):
        return np.zeros(len(values), dtype=bool)
    return np.isinf(values.to_numpy(dtype=np.float64, na_value=np.nan))


def _why_unusable(missing: np.ndarray, infinite: np.ndarray) -> str:
    """ "missing", "infinite (inf or -inf)" or both, with counts when both occur."""
    m, i = int(missing.sum()), int(infinite.sum())
    if m and i:
        return f"missing ({m}) or infinite ({i})"
    return "missing" if m else "infinite (inf or -inf)"


def _drop_index_columns(features: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Drops an unnamed first column and columns that just count the rows (0..n-1 or 1..n).

    A counting column that is the only feature is kept: a toy table such as x = 1, 2, 3 with
    y = 2·x is more likely than an index with nothing beside it.
    """
    n = len(features)
    dropped: dict[str, str] = {}
    for position, column in enumerate(features.columns):
        values = features[column]
        if position == 0 and (column.startswith("Unnamed: 0") or column == ""):
            dropped[column] = f"{column!r} (an unnamed first column, a saved index)"
        elif (
            pdt.is_integer_dtype(values)
            and n > 2
            and (
                np.array_equal(values.to_numpy(), np.arange(n))
                or np.array_equal(values.to_numpy(), np.arange(1, n + 1))
            )
        ):
            dropped[column] = (
                f"{column!r} (counts the rows {values.iloc[0]}..{values.iloc[-1]}, an index)"
            )
    if dropped and len(dropped) == features.shape[1]:
        notes.append(
            "kept index-like column(s), as they are the only features: "
            + "; ".join(dropped.values())
        )
    elif dropped:
        notes.append("dropped index-like column(s): " + "; ".join(dropped.values()))
        features = features.drop(columns=list(dropped))
    return features


def _clean_features(
    features: pd.DataFrame, notes: list[str], where: str, categories: dict[str, list[str]]
) -> pd.DataFrame:
    """Numbers-as-text parsed, constant columns dropped, infinities made missing, text one-hot encoded.

    Numeric columns are checked one at a time, so no float64 copy of the whole table is made.
    """
    parsed, constant, categorical = [], [], []
    infinite: dict[str, int] = {}
    for column in list(features.columns):
        values = features[column]
        if is_text(values) and (number := as_number(values)) is not None:
            features[column] = values = number
            parsed.append(column)
        if pdt.is_numeric_dtype(values) and not pdt.is_bool_dtype(values):
            numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
            if _constant(numbers):
                constant.append(column)
                continue
            if count := int(np.isinf(numbers).sum()):
                infinite[column] = count
                features[column] = values.replace([np.inf, -np.inf], np.nan)
            _refuse_beyond_float32(column, numbers, where)
        elif values.nunique(dropna=True) <= 1:
            constant.append(column)
        elif pdt.is_bool_dtype(values):
            features[column] = values.astype(np.float32)
        elif is_text(values) or isinstance(values.dtype, pd.CategoricalDtype):
            categorical.append(column)
        else:
            raise DataError(
                f"column {column!r} holds {values.dtype} values, which layerlab cannot use as a feature; drop it (data.drop) or turn it into numbers",
                where,
            )
    if parsed:
        notes.append(
            f"read numbers written as text (quoted, or with decimal commas) in: {', '.join(parsed)}"
        )
    if constant:
        notes.append(
            f"dropped constant column(s), which cannot help predict: {', '.join(constant)}"
        )
        features = features.drop(columns=constant)
    if infinite:
        shown = ", ".join(f"{c} ({n})" for c, n in infinite.items())
        notes.append(f"{sum(infinite.values())} infinite value(s) treated as missing: {shown}")
    if categorical:
        features = _one_hot(features, categorical, notes, where, categories)
    return features


def _constant(numbers: np.ndarray) -> bool:
    """Whether a column holds one value at most (missing values aside)."""
    if numbers.size == 0 or np.isnan(numbers).all():
        return True
    return bool(np.nanmin(numbers) == np.nanmax(numbers))


FLOAT32_MAX = float(np.finfo(np.float32).max)


def _refuse_beyond_float32(column: str, numbers: np.ndarray, where: str) -> None:
    """Keras computes in 32-bit floats: a finite value beyond ±3.4e38 would become infinite there."""
    with np.errstate(invalid="ignore"):
        count = int((np.isfinite(numbers) & (np.abs(numbers) > FLOAT32_MAX)).sum())
    if count:
        raise DataError(
            f"column {column!r} has {count} value(s) beyond ±3.4e38, too large for Keras' 32-bit numbers; "
            f"rescale the column (e.g. divide it by a power of 10) or drop it (data.drop = [{column!r}])",
            where,
        )


def _one_hot(
    features: pd.DataFrame,
    columns: list[str],
    notes: list[str],
    where: str,
    categories: dict[str, list[str]],
) -> pd.DataFrame:
    """One 0/1 column per value of each text column; `categories` learns each one's values."""
    described = []
    for column in columns:
        values = features[column].astype("string").str.strip()
        k = int(values.nunique(dropna=True))
        if k > MAX_CATEGORIES:
            examples = ", ".join(repr(v) for v in values.dropna().unique()[:3])
            raise DataError(
                f"column {column!r} holds text with {k} different values (e.g. {examples}); layerlab one-hot encodes text "
                f"columns of up to {MAX_CATEGORIES} values: drop it (data.drop = [{column!r}]) or turn it into numbers",
                where,
            )
        if values.isna().any():
            values = values.fillna("(missing)")
            k += 1
        features[column] = values
        categories[column] = sorted(values.unique())
        described.append(f"{column} ({k} values)")
    notes.append(
        f"one-hot encoded text column(s) (one 0/1 column per value): {', '.join(described)}"
    )
    return pd.get_dummies(features, columns=columns, dtype=np.float32)


def _fill_missing(
    x_train: np.ndarray, x_valid: np.ndarray | None, names: list[str], notes: list[str]
) -> np.ndarray | None:
    """Fills missing values in place with the training split's median of each column.

    Returns:
        The value each column's gaps were filled with, or None when nothing was missing.
    """
    counts = np.isnan(x_train).sum(axis=0)
    if x_valid is not None:
        counts += np.isnan(x_valid).sum(axis=0)
    if not counts.any():
        notes.append(NO_GAPS)
        return None
    values = prep.medians(x_train)
    for array in (x_train, x_valid):
        if array is not None:
            prep.fill(array, values)
    notes.append(fill_note(names, counts))
    return values


NO_GAPS = "no missing values to fill"


def fill_note(names: list[str], counts: np.ndarray) -> str:
    shown = ", ".join(f"{names[i]} ({counts[i]})" for i in np.flatnonzero(counts))
    return f"filled {int(counts.sum())} missing value(s) with the training split's median: {shown}"


SCALE_WORDS = {
    "standard": "standardised to mean 0, standard deviation 1",
    "minmax": "min-max scaled to 0–1",
}


def scale_note(how: str) -> str:
    if how == "none":
        return "features not scaled (features_scale = 'none')"
    return f"features {SCALE_WORDS[how]} with the training split's statistics"


def _scale(x_train, x_valid, how: str, notes: list[str]) -> prep.Scaling | None:
    """Scales both splits in place with the training split's statistics."""
    notes.append(scale_note(how))
    if how == "none":
        return None
    stats = prep.ColumnStats(x_train.shape[1])
    stats.update(x_train)
    scaler = prep.Scaling.fit(how, stats)
    for array in (x_train, x_valid):
        if array is not None:
            scaler.transform(array, in_place=True)
    return scaler


def target_note(how: str, target: str) -> str:
    words = "standardised" if how == "standard" else "min-max scaled to 0–1"
    return f"target {target!r} {words} with the training split's statistics (losses are in scaled units)"


def split_target(
    y: np.ndarray,
    train: np.ndarray,
    valid: np.ndarray | None,
    task: str,
    data: DataSpec,
    target: str,
    notes: list[str],
) -> tuple[np.ndarray, np.ndarray | None, prep.Scaling | None]:
    """The target's training and validation rows, scaled as data.target_scale says (regression)."""
    y_train, y_valid = y[train], (y[valid] if valid is not None else None)
    if data.target_scale == "none":
        return y_train, y_valid, None
    if task != "regression":
        notes.append(
            f"target_scale {data.target_scale!r} not applied: the task is {task}, not regression"
        )
        return y_train, y_valid, None
    return scale_target(y_train, y_valid, data.target_scale, target, notes)


def scale_target(y_train, y_valid, how: str, target: str, notes: list[str]):
    stats = prep.ColumnStats(1)
    stats.update(y_train.astype(np.float32).reshape(-1, 1))
    scaler = prep.Scaling.fit(how, stats)
    notes.append(target_note(how, target))

    def scale(y):
        return None if y is None else scaler.transform(y.reshape(-1, 1)).ravel()

    return scale(y_train), scale(y_valid), scaler
