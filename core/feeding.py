"""What model.fit is given: arrays, or streamed rows as Keras PyDatasets, evened out for the
devices; and the linear unit's data for the SGD lesson's picture."""

from __future__ import annotations

import dataclasses
import math
from typing import Any, cast

import keras
import numpy as np

from . import events
from .data import Dataset
from .data.rows import ImageRows, is_streamed, take


def is_linear_unit(model: Any, data: Dataset) -> bool:
    """One Dense unit on one input feature, in memory: the course's linear unit y = w·x + b."""
    layers = [layer for layer in model.layers if layer.weights]
    return (
        len(layers) == 1
        and isinstance(layers[0], keras.layers.Dense)
        and layers[0].units == 1
        and tuple(data.input_shape) == (1,)
        and not is_streamed(data.x_train)
    )


def line_points(data: Dataset, most: int = 1000) -> events.LinePoints:
    step = max(1, math.ceil(len(data.x_train) / most))
    x = np.asarray(data.x_train)[::step].ravel()
    y = np.asarray(data.y_train)[::step].ravel()
    return events.LinePoints([float(v) for v in x], [float(v) for v in y])


def fit_inputs(
    data: Dataset, batch: int, seed: int, batches: bool = False
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """What model.fit takes for the data: the arrays, or streamed rows as Keras PyDatasets
    (batches prepared ahead by worker threads; also in-memory arrays when `batches`, so that
    which rows each step used is known)."""
    has_valid = data.x_valid is not None and len(data.x_valid) > 0
    if batches:
        from .data.batches import Batches

        valid = (data.x_valid, data.y_valid) if has_valid else None
        train = Batches(cast(Any, data.x_train), data.y_train, batch, True, seed, workers=1)
        return (train,), {"validation_data": valid}
    if not is_streamed(data.x_train):
        valid = (data.x_valid, data.y_valid) if has_valid else None
        options = {"validation_data": valid, "batch_size": batch, "shuffle": True}
        return (data.x_train, data.y_train), options
    from .data.batches import Batches, tf_images

    feed: Any = Batches
    if isinstance(data.x_train, ImageRows) and keras.backend.backend() == "tensorflow":
        feed = tf_images  # TensorFlow's own decoding, as image_dataset_from_directory's
    x_train, x_valid, y_valid = cast(Any, data.x_train), cast(Any, data.x_valid), data.y_valid
    valid_batches = feed(x_valid, cast(Any, y_valid), batch, False) if has_valid else None
    train = feed(x_train, data.y_train, batch, True, seed)
    return (train,), {"validation_data": valid_batches}


def even_for_replicas(data: Dataset, plan: Any) -> Dataset:
    """Under JAX, every batch (the last one too) must split evenly over this process's devices:
    drop the few rows beyond a multiple of their number. TensorFlow takes uneven batches."""
    local = plan.replicas // max(1, len(plan.workers))
    if keras.backend.backend() != "jax" or plan.strategy == "none" or local < 2:
        return data
    changes = {}
    for split in ("train", "valid"):
        x, y = getattr(data, f"x_{split}"), getattr(data, f"y_{split}")
        if x is not None and len(x) % local:
            keep = len(x) - len(x) % local
            changes[f"x_{split}"], changes[f"y_{split}"] = take(x, slice(0, keep)), y[:keep]
    return dataclasses.replace(data, **changes) if changes else data
