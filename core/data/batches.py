"""Streamed examples fed to ``model.fit`` a batch at a time, through Keras' own PyDataset.

Keras runs ``__getitem__`` in a pool of worker threads and keeps a queue of batches ready, so
reading and preparing the next batches overlaps the training step on every backend. Imports
Keras: load it only when training a streamed Dataset.
"""

from __future__ import annotations

import math
import os
from typing import Any

import keras
import numpy as np

from .rows import ImageRows, Rows

QUEUE = 8
"""Batches prepared ahead of the one training."""
WORKERS = max(1, min(8, (os.cpu_count() or 1) - 1))
"""Threads preparing batches: one core is left to the training step itself (on two cores, a
second reader only contends with it for the interpreter lock)."""


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
            workers=workers or WORKERS,
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


def tf_images(x: ImageRows, y: np.ndarray, batch_size: int, shuffle: bool, seed: int = 0) -> Any:
    """Under TensorFlow, streamed images go through tf.data as image_dataset_from_directory
    reads them: files decoded and resized by TensorFlow's own ops on every core, batched and
    prefetched, so the pipeline keeps pace with Keras' own. (Pixels may differ from PIL's by a
    rounding where an image is resized; the files, their order and their labels are the same.)"""
    import tensorflow as tf

    paths = [str(x.paths[i]) for i in x.index]
    data = tf.data.Dataset.from_tensor_slices((paths, np.asarray(y)))
    if shuffle:
        data = data.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True)
    channels = x.example_shape[-1]
    scale = 1.0 if x.scale is None else float(x.scale)

    def load(path: Any, label: Any) -> tuple[Any, Any]:
        raw = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        image = tf.image.resize(raw, x.size, method="bilinear")
        image.set_shape((*x.size, channels))
        return image * scale, label

    autotune = tf.data.AUTOTUNE
    return data.map(load, num_parallel_calls=autotune).batch(batch_size).prefetch(autotune)
