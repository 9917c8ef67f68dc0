"""The steps both data paths share, in memory and streamed: the seeded split, the training
split's column statistics, and the scaling they fit.

Both paths call these same functions on float32 values, so a file loaded whole and the same
file streamed in chunks give the same split exactly and the same scaling (min-max exactly;
standardisation to within float rounding, as its sums are taken chunk by chunk). Plain NumPy:
nothing here imports scikit-learn, Keras or TensorFlow.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np


def split_rows(
    n: int, y: np.ndarray | None, valid_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Training and validation row indices (each sorted) of a seeded permutation of `n` rows.

    ``ceil(valid_fraction · n)`` rows go to validation: the last ones of NumPy's legacy
    ``RandomState(seed).permutation(n)``, so the training rows are those the course's
    ``df.sample(frac=1 - valid_fraction, random_state=seed)`` picks. With class codes `y`,
    every class gives its share (largest remainders settle the rounding): a stratified split.
    """
    n_valid = int(np.ceil(valid_fraction * n))
    order = np.random.RandomState(seed).permutation(n)[::-1]  # validation rows first
    if y is None:
        valid = order[:n_valid]
    else:
        ranked = np.asarray(y)[order]
        classes, counts = np.unique(ranked, return_counts=True)
        exact = counts * (n_valid / n)
        shares = np.floor(exact).astype(np.int64)
        short = n_valid - int(shares.sum())
        if short:
            shares[np.argsort(-(exact - shares), kind="stable")[:short]] += 1
        valid = np.concatenate(
            [order[ranked == c][:share] for c, share in zip(classes, shares, strict=True)]
        )
    is_valid = np.zeros(n, dtype=bool)
    is_valid[valid] = True
    return np.flatnonzero(~is_valid), np.flatnonzero(is_valid)


class ColumnStats:
    """Count, mean, spread, min and max of each column, gathered chunk by chunk.

    Chunks combine with Chan's parallel formulas in float64, so the result does not depend on
    how the rows were cut (beyond rounding).
    """

    def __init__(self, columns: int):
        self.count = 0
        self.mean = np.zeros(columns)
        self.m2 = np.zeros(columns)
        self.min = np.full(columns, np.inf, dtype=np.float32)
        self.max = np.full(columns, -np.inf, dtype=np.float32)

    def update(self, x: np.ndarray) -> None:
        """Adds the rows of `x` (rows × columns, no missing values)."""
        n = len(x)
        if n == 0:
            return
        mean = x.mean(axis=0, dtype=np.float64)
        m2 = np.square(x - mean.astype(x.dtype), dtype=np.float64).sum(axis=0)
        self._combine(n, mean, m2)
        np.minimum(self.min, x.min(axis=0), out=self.min)
        np.maximum(self.max, x.max(axis=0), out=self.max)

    def _combine(self, n: int, mean: np.ndarray, m2: np.ndarray) -> None:
        total = self.count + n
        delta = mean - self.mean
        self.mean = self.mean + delta * (n / total)
        self.m2 = self.m2 + m2 + np.square(delta) * (self.count * n / total)
        self.count = total

    @property
    def std(self) -> np.ndarray:
        return np.sqrt(self.m2 / max(self.count, 1))


@dataclass
class Scaling:
    """A fitted column scaling: ``(x - offset) · factor``, in float32.

    Works as scikit-learn's MinMaxScaler and StandardScaler do (a column without spread is left
    unscaled), with their ``transform`` and ``inverse_transform``.
    """

    how: str
    """ "minmax" or "standard"."""
    offset: np.ndarray
    factor: np.ndarray

    @classmethod
    def fit(cls, how: str, stats: ColumnStats) -> Scaling:
        if how == "minmax":
            low = stats.min.astype(np.float64)
            spread = stats.max.astype(np.float64) - low
        else:
            low, spread = stats.mean, stats.std
        factor = 1.0 / np.where(spread > 0, spread, 1.0)
        return cls(how, low.astype(np.float32), factor.astype(np.float32))

    def transform(self, x: np.ndarray, in_place: bool = False) -> np.ndarray:
        """`x` scaled, as float32 (in place when asked and `x` is float32 already)."""
        out = x if in_place and x.dtype == np.float32 else np.array(x, dtype=np.float32)
        np.subtract(out, self.offset, out=out)
        np.multiply(out, self.factor, out=out)
        return out

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(x, dtype=np.float64) / self.factor + self.offset

    def to_dict(self) -> dict[str, Any]:
        return {"how": self.how, "offset": self.offset.tolist(), "factor": self.factor.tolist()}

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> Scaling:
        return cls(
            saved["how"],
            np.asarray(saved["offset"], dtype=np.float32),
            np.asarray(saved["factor"], dtype=np.float32),
        )


def medians(columns: np.ndarray) -> np.ndarray:
    """Each column's median, missing values ignored; 0 for a column with none present."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        found = np.nanmedian(columns, axis=0)
    return np.where(np.isnan(found), 0.0, found).astype(np.float32)


def fill(x: np.ndarray, values: np.ndarray) -> None:
    """Fills the missing values of `x` in place, column j with values[j]."""
    rows, cols = np.nonzero(np.isnan(x))
    x[rows, cols] = values[cols]
