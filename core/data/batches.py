"""Streamed examples fed to ``model.fit`` a batch at a time, through Keras' own PyDataset.

Keras runs ``__getitem__`` in a pool of worker threads and keeps a queue of batches ready, so
reading and preparing the next batches overlaps the training step on every backend. Imports
Keras: load it only when training a streamed Dataset.
"""

from __future__ import annotations

import math
import os

import keras
import numpy as np

from .rows import Rows

QUEUE = 8
"""Batches prepared ahead of the one training."""


class Batches(keras.utils.PyDataset):
    """Batches of `x` (streamed rows) and `y`, in a new seeded order every epoch when shuffled."""

    def __init__(
        self,
        x: Rows,
        y: np.ndarray,
        batch_size: int,
        shuffle: bool,
        seed: int = 0,
        workers: int | None = None,
    ):
        super().__init__(
            workers=workers or min(4, os.cpu_count() or 1),
            use_multiprocessing=False,
            max_queue_size=QUEUE,
        )
        self.x, self.y, self.batch_size, self.shuffle = x, y, batch_size, shuffle
        self.rng = np.random.default_rng(seed)
        self.order = self._order()

    def _order(self) -> np.ndarray:
        n = len(self.x)
        return self.rng.permutation(n) if self.shuffle else np.arange(n)

    def __len__(self) -> int:
        return math.ceil(len(self.x) / self.batch_size)

    def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        positions = self.order[i * self.batch_size : (i + 1) * self.batch_size]
        return self.x[positions], self.y[positions]

    def on_epoch_end(self) -> None:
        if self.shuffle:
            self.order = self._order()
