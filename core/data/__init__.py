"""Data for layerlab: built-in sets, table files, image folders and Keras' downloadable sets,
loaded into arrays with every preprocessing step written down.

Importing this package loads neither Keras nor TensorFlow; image folders and ``keras:`` sets
import Keras when they are read.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..data.base import DataError, Dataset
from ..data.builtin import BuiltinInfo, builtin_names, describe_builtin, load_builtin
from ..data.files import read_table, table_size
from ..data.images import load_folder
from ..data.keras_sets import keras_names, load_keras_set
from ..data.stream import Progress, stream_table, too_big
from ..data.tabular import load_file
from ..data.target import infer_task

if TYPE_CHECKING:
    from ..spec import Spec

__all__ = [
    "BuiltinInfo",
    "DataError",
    "Dataset",
    "builtin_names",
    "describe_builtin",
    "infer_task",
    "keras_names",
    "load_dataset",
    "read_table",
]


def load_dataset(spec: Spec, progress: Progress | None = None) -> Dataset:
    """The data the spec names, prepared for training.

    ``data.name`` picks a built-in set or ``keras:<set>``; ``data.path`` a CSV/TSV/Parquet file
    (with ``data.target``) or a folder of images, one sub-folder per class. A file or folder
    whose float32 arrays would not fit comfortably in memory is streamed (``data.stream``):
    the Dataset's x_train and x_valid are then `Rows`, read a batch at a time.

    Args:
        progress: Told the fraction read so far, as a streamed table is read.

    Raises:
        DataError: the data is missing or cannot be used; the message says where and why.
    """
    data = spec.data
    if data.name:
        if data.name.startswith("keras:"):
            return load_keras_set(data.name, data)
        return load_builtin(data.name, data)
    path = spec.data_path()
    if path is None:
        raise DataError(
            "no data: set data.path to a CSV/TSV/Parquet file or an image folder, or data.name to a built-in set "
            f"({', '.join(builtin_names())}) or {', '.join(keras_names())}"
        )
    valid_path = spec.valid_data_path()
    if path.is_dir():
        return load_folder(path, data, valid_path)
    if valid_path is not None:
        raise DataError(
            "data.valid_path is for image folders; a table is split by data.valid_fraction", path
        )
    streamed, why = _stream_table(path, data.stream)
    if streamed:
        return stream_table(path, data, why, progress)
    return load_file(path, data)


def _stream_table(path: Path, choice: str | bool) -> tuple[bool, str]:
    """Whether to stream a table file, and why in words."""
    if choice is True:
        return True, "stream = true"
    if choice is False or not path.is_file():
        return False, "stream = false"
    rows, _ = table_size(path)
    columns = len(read_table(path, rows=5).columns)
    big, why = too_big(rows * columns * 4)
    return big, why
