"""How a run's data was prepared, kept in its folder (preparation.json) and applied again to new
rows: `model.keras` alone cannot be used on raw data, so `layerlab predict` and `layerlab
evaluate` read the columns kept, the labels' order, the gaps' fill values and the scalings here.

Imports neither Keras nor TensorFlow.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .data.base import DataError, Dataset
from .data.prep import Scaling
from .data.target import as_number, is_text, label, numeric
from .errors import LayerlabError

FILE = "preparation.json"


def describe(dataset: Dataset) -> dict[str, Any] | None:
    """What predict and evaluate need to prepare new rows as `dataset`'s were (None for data
    they cannot take: images and generated sets are read from their own source)."""
    if dataset.is_image or not dataset.feature_names or not dataset.target_name:
        return None
    categories: dict[str, list[str]] = dataset.metadata.get("categories", {})
    dummies = sum(len(labels) for labels in categories.values())
    numbers = dataset.feature_names[: len(dataset.feature_names) - dummies]
    fill = dataset.metadata.get("fill")
    features_scaling = dataset.metadata.get("feature_scaler")
    return {
        "kind": "table",
        "target": dataset.target_name,
        "task": dataset.task,
        "class_names": list(dataset.class_names),
        "numbers": list(numbers),
        "categories": categories,
        "features": list(dataset.feature_names),
        "fill": None if fill is None else [float(v) for v in np.asarray(fill)[: len(numbers)]],
        "features_scaling": features_scaling.to_dict() if features_scaling else None,
        "target_scaling": dataset.target_scaler.to_dict() if dataset.target_scaler else None,
    }


def save(run_dir: Path, dataset: Dataset) -> None:
    from .files import replace_text

    described = describe(dataset)
    if described is not None:
        replace_text(run_dir / FILE, json.dumps(described, indent=1) + "\n")


class Preparation:
    """A run's preparation, read back from its folder."""

    def __init__(self, saved: dict[str, Any]):
        self.saved = saved
        self.target: str = saved["target"]
        self.task: str = saved["task"]
        self.class_names: list[str] = saved["class_names"]
        self.numbers: list[str] = saved["numbers"]
        self.categories: dict[str, list[str]] = saved["categories"]
        self.features: list[str] = saved["features"]
        self.fill = None if saved["fill"] is None else np.asarray(saved["fill"], np.float32)
        self.features_scaling = _scaling(saved["features_scaling"])
        self.target_scaling = _scaling(saved["target_scaling"])

    @classmethod
    def read(cls, run_dir: Path) -> Preparation:
        path = Path(run_dir) / FILE
        try:
            return cls(json.loads(path.read_text()))
        except FileNotFoundError:
            raise LayerlabError(
                "has no preparation.json: it was not trained on a table file by this version of "
                "layerlab (image folders and built-in sets are not prepared from raw rows)",
                file=run_dir,
            ) from None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise LayerlabError(f"is damaged ({exc})", file=path) from None

    def features_of(self, frame: pd.DataFrame, where: str) -> tuple[np.ndarray, list[str]]:
        """The model's inputs for the rows of `frame`, and notes on what was done to them."""
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
        wanted = [*self.numbers, *self.categories]
        absent = [c for c in wanted if c not in frame.columns]
        if absent:
            raise DataError(
                f"lacks the column(s) {', '.join(map(repr, absent))} the run was trained on; "
                f"it needs: {', '.join(wanted)}",
                where,
            )
        notes: list[str] = []
        x = np.zeros((len(frame), len(self.features)), dtype=np.float32)
        for j, column in enumerate(self.numbers):
            x[:, j] = _numbers(frame[column], column, where)
        gaps = np.isnan(x[:, : len(self.numbers)])
        if gaps.any():
            fill = self.fill
            if fill is None:  # the training rows had none: the training mean (or minimum)
                fill = (
                    self.features_scaling.offset[: len(self.numbers)]
                    if self.features_scaling
                    else np.zeros(len(self.numbers), np.float32)
                )
            notes.append(f"filled {int(gaps.sum())} missing value(s) as the run did")
            rows, cols = np.nonzero(gaps)
            x[rows, cols] = fill[cols]
        start = len(self.numbers)
        for column, labels in self.categories.items():
            text = frame[column].astype("string").str.strip().fillna("(missing)")
            codes = pd.Categorical(text, categories=labels).codes
            unknown = int((codes < 0).sum())
            if unknown:
                notes.append(
                    f"{unknown} row(s) hold {column!r} values the run never saw: all its 0/1 columns are 0"
                )
            known = codes >= 0
            x[np.flatnonzero(known), start + codes[known]] = 1.0
            start += len(labels)
        if self.features_scaling is not None:
            self.features_scaling.transform(x, in_place=True)
        return x, notes

    def target_of(self, frame: pd.DataFrame, where: str) -> np.ndarray:
        """The target column encoded (and scaled) as in training, for evaluation."""
        if self.target not in frame.columns:
            raise DataError(
                f"has no column {self.target!r}, the target the run learned to predict", where
            )
        values = frame[self.target]
        if self.task == "regression":
            y = _numbers(values, self.target, where)
            if np.isnan(y).any():
                raise DataError(
                    f"target {self.target!r} has missing values; evaluate needs every row labelled",
                    where,
                )
            if self.target_scaling is not None:
                y = self.target_scaling.transform(y.reshape(-1, 1)).ravel()
            return y
        index = {name: i for i, name in enumerate(self.class_names)}
        if is_text(values) and (parsed := as_number(values)) is not None:
            values = parsed
        names = [label(v) for v in values]
        unknown = sorted({n for n in names if n not in index})
        if unknown:
            raise DataError(
                f"target {self.target!r} holds label(s) the run never saw: {', '.join(unknown[:5])}; "
                f"it knows {', '.join(self.class_names)}",
                where,
            )
        return np.array([index[n] for n in names], dtype=np.int32)

    def outputs(self, predicted: np.ndarray) -> pd.DataFrame:
        """The model's outputs in the user's terms: values in the target's units, or labels and
        the probability of each."""
        target = self.target
        if self.task == "regression":
            values = predicted.reshape(len(predicted), -1)[:, 0]
            if self.target_scaling is not None:
                values = self.target_scaling.inverse_transform(values.reshape(-1, 1)).ravel()
            return pd.DataFrame({f"predicted_{target}": values})
        if self.task == "binary" and predicted.reshape(len(predicted), -1).shape[1] == 1:
            p = predicted.reshape(-1).astype(np.float64)
            chosen = (p >= 0.5).astype(int)
            probabilities = np.column_stack([1 - p, p])
        else:
            probabilities = predicted.reshape(len(predicted), -1).astype(np.float64)
            chosen = probabilities.argmax(axis=1)
        out = pd.DataFrame({f"predicted_{target}": [self.class_names[i] for i in chosen]})
        for i, name in enumerate(self.class_names):
            out[f"p_{name}"] = probabilities[:, i]
        return out


def _scaling(saved: dict[str, Any] | None) -> Scaling | None:
    return None if saved is None else Scaling.from_dict(saved)


def _numbers(values: pd.Series, column: str, where: str) -> np.ndarray:
    numbers_only = numeric(values)
    if numbers_only is None:
        raise DataError(
            f"column {column!r} holds text, but the run was trained on numbers there", where
        )
    numbers = numbers_only.to_numpy(dtype=np.float64, na_value=np.nan).astype(np.float32)
    numbers[np.isinf(numbers)] = np.nan
    return numbers
