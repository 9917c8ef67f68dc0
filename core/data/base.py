"""What every data source shares: the Dataset record, DataError, task checks, the seeded split.

Nothing here imports Keras, TensorFlow or scikit-learn.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import LayerlabError
from .prep import split_rows

if TYPE_CHECKING:
    import pandas as pd

TASK_NAMES = ("regression", "binary", "multiclass")
MAX_CLASSES = 256


class DataError(LayerlabError):
    """Data that cannot be used: what is wrong, where (file, column), and what would be accepted.

    Attributes:
        where: The file, folder or data set the problem is in ("" when unknown).
        problem: What is wrong and what would be accepted.
    """

    def __init__(self, problem: str, where: str | os.PathLike | None = None):
        super().__init__(problem, file=where)


@dataclass
class Dataset:
    """Arrays ready for Keras, and everything a user should know about how they were made.

    With ``valid_fraction = 0`` there is no validation split: ``x_valid`` and ``y_valid`` are None.
    """

    name: str
    """"breast_cancer", "keras:mnist", or the file or folder name."""
    task: str
    """"regression", "binary" or "multiclass"."""
    task_reason: str
    """Why this task, inferred or given, in words."""
    x_train: np.ndarray
    """float32; tabular (n, features), images (n, height, width, channels)."""
    y_train: np.ndarray
    """Regression float32 (n,); classification int32 class indices (n,)."""
    x_valid: np.ndarray | None
    y_valid: np.ndarray | None
    input_shape: tuple[int, ...]
    n_classes: int
    """0 for regression, 2 for binary, k for multiclass."""
    class_names: list[str]
    feature_names: list[str]
    target_name: str
    notes: list[str]
    """Every preprocessing step applied, in words, in order."""
    is_image: bool = False
    frame: pd.DataFrame | None = None
    """The raw table as read (files and tabular built-ins), for previews."""
    raw_x_valid: np.ndarray | None = None
    """Images: the validation images before pixel scaling, for display."""
    target_scaler: Any | None = None
    """The fitted scaling (core.data.prep.Scaling) of a regression target, or None."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Known facts about the data, e.g. the true ``w`` and ``b`` of ``linear``, ``pixel_max`` of images."""

    @property
    def has_valid(self) -> bool:
        return self.x_valid is not None and len(self.x_valid) > 0


def n_classes_for(task: str, k: int) -> int:
    return 0 if task == "regression" else k


def check_classes_task(
    given: str, k: int, what: str, where: str, auto: tuple[str, str] | None = None
) -> tuple[str, str]:
    """The task for `k` classes: the spec's choice when it fits, else the natural one.

    Args:
        given: The spec's data.task ("auto" or a task name).
        k: How many classes the data has.
        what: Names the classes in the reason, e.g. "2 class folders (cat, dog)".
        where: For the error message.
        auto: The (task, reason) to use when `given` is "auto"; by default binary for 2 classes.
    """
    if given == "auto":
        if auto is not None:
            return auto
        task = "binary" if k == 2 else "multiclass"
        return task, f"{what} → {task}"
    if given == "regression":
        raise DataError(
            f"task 'regression' does not fit {what}; use 'binary' or 'multiclass' (or 'auto')",
            where,
        )
    if given == "binary" and k != 2:
        raise DataError(
            f"task 'binary' needs exactly 2 classes, but there are {what}; use 'multiclass' (or 'auto')",
            where,
        )
    return given, f"task set in the spec: {given} ({what})"


def split(
    n: int, y: np.ndarray | None, valid_fraction: float, seed: int, where: str, unit: str = "rows"
) -> tuple[np.ndarray, np.ndarray | None, str]:
    """Row indices of the training and validation splits; the same seed gives the same split.

    Classification targets (`y` given) are split stratified when every class has two rows or more.

    Returns:
        (train indices, validation indices or None when valid_fraction is 0, a note).
    """
    if n < 2:
        raise DataError(f"only {n} usable {unit}; at least 2 are needed to train", where)
    if valid_fraction <= 0:
        return np.arange(n), None, f"no validation split (valid_fraction = 0): all {n} {unit} train"
    n_valid = int(np.ceil(valid_fraction * n))
    if n_valid >= n:
        raise DataError(
            f"only {n} {unit}: valid_fraction {valid_fraction} leaves none to train on", where
        )
    stratify = None
    if y is not None:
        _, counts = np.unique(y, return_counts=True)
        if counts.min() >= 2 and n_valid >= len(counts) and n - n_valid >= len(counts):
            stratify = y
    train, valid = split_rows(n, stratify, valid_fraction, seed)
    how = ", stratified by class" if stratify is not None else ""
    note = f"split {len(train)} training / {len(valid)} validation {unit} (valid_fraction {valid_fraction}, seed {seed}{how})"
    return train, valid, note
