"""Streamed examples: rows of a table or images of a folder, prepared only when asked for.

A `Rows` object stands where a streamed Dataset would hold an array: it has a length and a shape,
and indexing it (an integer, a slice or an array of indices) returns prepared float32 values,
so a screen showing a few validation rows works on either. Training reads it through
`core.data.batches`, a few batches at a time.
"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..files import process_alive
from .base import DataError


class Rows:
    """Examples made on demand; ``rows[key]`` is a float32 array, as ``array[key]`` would be."""

    dtype = np.dtype(np.float32)

    def __init__(self, index: np.ndarray, example_shape: tuple[int, ...]):
        self.index = np.asarray(index, dtype=np.int64)
        self.example_shape = example_shape

    def __len__(self) -> int:
        return len(self.index)

    @property
    def shape(self) -> tuple[int, ...]:
        return (len(self), *self.example_shape)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape)) * 4

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, int | np.integer):
            return self.read(self.index[[int(key)]])[0]
        return self.read(self.index[key])

    def subset(self, positions: np.ndarray | slice) -> Rows:
        """The same kind of rows, only those at `positions` (a shard, an even count)."""
        other = object.__new__(type(self))
        other.__dict__.update(self.__dict__)
        other.index = self.index[positions]
        return other

    def read(self, index: np.ndarray) -> np.ndarray:
        """The prepared examples of source rows `index` (file rows or image numbers)."""
        raise NotImplementedError


class TableRows(Rows):
    """Rows of a table's float32 cache, assembled into features by `assemble`."""

    def __init__(
        self,
        cache: np.ndarray,
        index: np.ndarray,
        features: int,
        assemble: Callable[[np.ndarray], np.ndarray],
    ):
        super().__init__(index, (features,))
        self.cache = cache
        self.assemble = assemble

    def read(self, index: np.ndarray) -> np.ndarray:
        order = np.argsort(index, kind="stable")
        block = np.empty((len(index), self.cache.shape[1]), dtype=np.float32)
        block[order] = self.cache[index[order]]  # in file order: the pages are read in turn
        return self.assemble(block)


class ImageRows(Rows):
    """Images of a folder decoded per batch, resized, and divided by `scale` when given."""

    def __init__(
        self,
        paths: list[Path],
        index: np.ndarray,
        size: tuple[int, int],
        color_mode: str,
        scale: float | None,
    ):
        channels = 1 if color_mode == "grayscale" else 3
        super().__init__(index, (size[0], size[1], channels))
        self.paths = paths
        self.size = size
        self.color_mode = color_mode
        self.scale = scale

    def read(self, index: np.ndarray) -> np.ndarray:
        from PIL import Image

        pixels = np.zeros((len(index), *self.example_shape), dtype=np.uint8)
        mode = "L" if self.color_mode == "grayscale" else "RGB"
        size = (self.size[1], self.size[0])
        for i, number in enumerate(index):
            path = self.paths[number]
            try:
                with Image.open(path) as image:
                    picture = image if image.mode == mode else image.convert(mode)
                    if picture.size != size:
                        picture = picture.resize(size, Image.Resampling.BILINEAR)
                    pixels[i] = np.asarray(picture).reshape(self.example_shape)
            except Exception as exc:  # checked when listed; one changed since is a clear error
                raise DataError(f"cannot be read as an image any more ({exc})", path) from None
        # One conversion for the whole batch: a quarter of the bytes move until here.
        out = pixels.astype(np.float32)
        if self.scale is not None:
            np.multiply(out, np.float32(self.scale), out=out)
        return out

    def scaled(self, factor: float | None) -> ImageRows:
        """The same images with their pixel values multiplied by `factor` (None: as stored)."""
        other = self.subset(slice(None))
        assert isinstance(other, ImageRows)
        other.scale = factor
        return other


def is_streamed(x: Any) -> bool:
    return isinstance(x, Rows)


def take(x: Any, positions: np.ndarray | slice) -> Any:
    """x[positions] for an array, the matching Rows for streamed rows (nothing is read)."""
    return x.subset(positions) if isinstance(x, Rows) else x[positions]


def cache_folder() -> Path:
    """Where streamed tables keep their float32 copy: $LAYERLAB_CACHE, else the user's cache."""
    given = os.environ.get("LAYERLAB_CACHE")
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "layerlab"


class Cache:
    """A float32 file of rows × columns written once, then read through a memory map.

    Its name goes once it is mapped (or when the Cache is collected); one left by a process
    killed while writing it is swept at the next start (its name carries the process id).
    """

    def __init__(self, columns: int, where: str):
        folder = cache_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            _sweep(folder)
            self.path = folder / f"stream-{os.getpid()}-{id(self):x}.f32"
            self.handle = open(self.path, "wb")  # noqa: SIM115 - closed in finish()
        except OSError as exc:
            raise DataError(
                f"cannot write the streamed copy of the data in {folder} ({exc.strerror or exc}); "
                "set LAYERLAB_CACHE to a folder with room, or stream = false",
                where,
            ) from None
        self.columns = columns
        self.rows = 0
        self.where = where
        weakref.finalize(self, _remove, self.path)

    def append(self, block: np.ndarray) -> None:
        try:
            self.handle.write(np.ascontiguousarray(block, dtype=np.float32).tobytes())
        except OSError as exc:
            raise DataError(
                f"cannot write the streamed copy of the data in {self.path.parent} ({exc.strerror or exc}); "
                "set LAYERLAB_CACHE to a folder with room, or stream = false",
                self.where,
            ) from None
        self.rows += len(block)

    def finish(self) -> np.ndarray:
        """The rows written, memory-mapped read-only.

        The file's name is removed at once: the map keeps its contents until it is dropped, and
        nothing is left on disk however the process ends.
        """
        self.handle.close()
        try:
            if self.rows == 0:
                return np.zeros((0, self.columns), dtype=np.float32)
            return np.memmap(self.path, dtype=np.float32, mode="r", shape=(self.rows, self.columns))
        finally:
            _remove(self.path)


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def _sweep(folder: Path) -> None:
    """Removes the streamed copies of processes that are gone."""
    for path in folder.glob("stream-*.f32"):
        try:
            pid = int(path.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not process_alive(pid):
            _remove(path)
