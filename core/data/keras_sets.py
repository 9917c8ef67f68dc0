"""The data sets Keras downloads (mnist, fashion_mnist, cifar10), read through keras.datasets.

Keras is imported only when one is asked for. Downloads are kept in ~/.keras/datasets, so a set
fetched once loads offline afterwards.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..data.base import DataError, Dataset
from ..data.images import image_dataset

if TYPE_CHECKING:
    from ..spec import DataSpec

KERAS_SETS: dict[str, tuple[str, list[str]]] = {
    "mnist": ("digit", [str(d) for d in range(10)]),
    "fashion_mnist": (
        "item",
        [
            "T-shirt/top",
            "trouser",
            "pullover",
            "dress",
            "coat",
            "sandal",
            "shirt",
            "sneaker",
            "bag",
            "ankle boot",
        ],
    ),
    "cifar10": (
        "object",
        ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
    ),
}


def keras_names() -> list[str]:
    """The accepted names, with their "keras:" prefix."""
    return [f"keras:{key}" for key in KERAS_SETS]


def load_keras_set(name: str, data: DataSpec) -> Dataset:
    """``keras:mnist`` and friends: their own test images serve as the validation split.

    Raises:
        DataError: an unknown name, or the download failed (no network).
    """
    key = name.removeprefix("keras:")
    if key not in KERAS_SETS:
        raise DataError(
            f"unknown Keras data set {name!r}; expected one of {', '.join(keras_names())}"
        )
    target, classes = KERAS_SETS[key]
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, key).load_data()
    except Exception as exc:  # keras raises a bare Exception wrapping the URL error
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(
            f"could not download {key}: no network? ({detail}); Keras keeps a download in ~/.keras/datasets, "
            "so copy it there, or use a built-in set such as digits"
        ) from None
    x_train, x_test = (_with_channels(x) for x in (x_train, x_test))
    y_train, y_test = (np.asarray(y).reshape(-1).astype(np.int32) for y in (y_train, y_test))
    notes = [
        f"{key}: {len(x_train)} training images of {x_train.shape[1]}×{x_train.shape[2]}×{x_train.shape[3]}, from keras.datasets"
    ]
    valid: tuple[np.ndarray | None, np.ndarray | None]
    if data.valid_fraction > 0:
        valid = (x_test, y_test)
        notes.append(
            f"its own {len(x_test)} test images are the validation split (valid_fraction only turns it off, at 0)"
        )
    else:
        valid = (None, None)
        notes.append("no validation split (valid_fraction = 0): its test images are not used")
    return image_dataset(
        name=f"keras:{key}",
        x=x_train,
        y=y_train,
        class_names=classes,
        data=data,
        where=name,
        target_name=target,
        pixel_max=255.0,
        notes=notes,
        valid=valid,
    )


def _with_channels(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x[..., np.newaxis] if x.ndim == 3 else x
