"""Pictures for the Inspect screen: built-in ones and image files, and arrays made ready to draw.

Pictures are grayscale float32 in [0, 1]. The built-ins need no network: the course's circle,
drawn here, and the sample images and hand-written digits that scikit-learn ships with itself.
Any array (a picture, a kernel, a feature map) becomes heat levels for a colour heatmap, and a
stack of channels is shown a page at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .playground import InspectError

SAMPLE_WIDTH = 96
"""Width, in pixels, the scikit-learn photographs are shrunk to so they fit a terminal."""

Size = int | tuple[int, int]


def circle(size: int = 64, shrink: int = 4) -> np.ndarray:
    """The course's example: a white circle, one pixel wide, on a black square.

    Args:
        size: The square's side.
        shrink: How far the circle stays inside the square's edge.
    """
    distance = _distance(size)
    return (np.rint(distance) == size // 2 - shrink).astype(np.float32)


def disk(size: int = 64, shrink: int = 4) -> np.ndarray:
    """A filled white disk on a black square: one clear top edge and one clear bottom edge."""
    return (_distance(size) <= size // 2 - shrink).astype(np.float32)


def _distance(size: int) -> np.ndarray:
    rows, cols = np.mgrid[:size, :size]
    return np.hypot(rows - size // 2, cols - size // 2)


def china() -> np.ndarray:
    """scikit-learn's photograph of a Chinese temple, in grayscale."""
    return _sample("china.jpg")


def flower() -> np.ndarray:
    """scikit-learn's photograph of a flower, in grayscale."""
    return _sample("flower.jpg")


def digit(index: int = 0, size: int = 64) -> np.ndarray:
    """One of scikit-learn's 8×8 hand-written digits, enlarged with square pixels.

    Args:
        index: Which digit of the set (0 is a zero).
        size: The enlarged side, in pixels.
    """
    from PIL import Image
    from sklearn.datasets import load_digits

    image = load_digits().images[index].astype(np.float32) / 16.0
    big = Image.fromarray(image).resize((size, size), Image.Resampling.NEAREST)
    return np.clip(np.asarray(big, dtype=np.float32), 0.0, 1.0)


def _sample(name: str) -> np.ndarray:
    from PIL import Image
    from sklearn.datasets import load_sample_image

    return _to_gray(Image.fromarray(load_sample_image(name)), SAMPLE_WIDTH)


PICTURES: dict[str, Callable[[], np.ndarray]] = {
    "circle": circle,
    "disk": disk,
    "china": china,
    "flower": flower,
    "digit": digit,
}
"""Built-in pictures by name; each call returns a fresh 2-D float32 array in [0, 1]."""


def picture_names() -> list[str]:
    """The built-in pictures' names, the course's circle first."""
    return list(PICTURES)


def picture(name: str) -> np.ndarray:
    """A built-in picture by name.

    Raises:
        InspectError: The name is not a built-in picture.
    """
    try:
        make = PICTURES[name]
    except KeyError:
        raise InspectError(
            f"no built-in picture {name!r} — choose one of: {', '.join(PICTURES)}"
        ) from None
    return make()


def load_picture(path: str | Path, size: Size | None = None) -> np.ndarray:
    """Read an image file as a grayscale float32 array in [0, 1].

    Args:
        path: Any file PIL can read (PNG, JPEG, BMP, GIF…).
        size: None keeps the file's size; an int sets the width and keeps the proportions;
            a ``(height, width)`` pair sets both, like a spec's ``image_size``.

    Raises:
        InspectError: The file is missing, is a folder, is not an image, or the size is not positive.
    """
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.exists():
        raise InspectError(f"{path}: no such file — give the path of an image file")
    if path.is_dir():
        raise InspectError(f"{path}: is a folder — give the path of one image file")
    try:
        with Image.open(path) as image:
            image.load()
            return _to_gray(image, size)
    except UnidentifiedImageError:
        raise InspectError(f"{path}: not an image PIL can read — try a PNG or JPEG file") from None
    except OSError as error:
        raise InspectError(f"{path}: cannot be read ({error})") from None


def _to_gray(image, size: Size | None) -> np.ndarray:
    from PIL import Image

    gray = image.convert("L")
    if size is not None:
        width, height = gray.size
        if isinstance(size, int):
            target = (size, max(1, round(height * size / width)))
        else:
            target = (size[1], size[0])
        if min(target) < 1:
            raise InspectError(f"a picture size must be positive, not {size!r}")
        gray = gray.resize(target, Image.Resampling.LANCZOS)
    return np.asarray(gray, dtype=np.float32) / 255.0


@dataclass
class ChannelPage:
    """The channels shown on one page of a grid of feature maps or kernels.

    Attributes:
        channels: The channel numbers on this page, in order.
        page: This page's number (counted from 0), clamped into range.
        pages: How many pages there are (at least 1).
    """

    channels: list[int]
    page: int
    pages: int


def grid(maps: Any, page: int = 0, per_page: int = 16) -> ChannelPage:
    """Which channels (or filters) one page of a grid shows, and how many pages there are.

    Args:
        maps: A channel count, an array whose last axis is the channels, or a view from
            ``core.inspect`` (a ``FeatureMapView``'s maps, a ``KernelView``'s filters).
        page: The page wanted, counted from 0; out-of-range pages are clamped.
        per_page: How many channels fit on a page.
    """
    if per_page < 1:
        raise InspectError(f"a page must hold at least one channel, not {per_page}")
    if isinstance(maps, int | np.integer):
        count = int(maps)
    else:
        count = int(np.shape(getattr(maps, "maps", getattr(maps, "kernel", maps)))[-1])
    pages = max(1, math.ceil(count / per_page))
    page = min(max(page, 0), pages - 1)
    return ChannelPage(list(range(page * per_page, min(count, (page + 1) * per_page))), page, pages)


def heat_levels(array: np.ndarray, levels: int, *, centered: bool = False) -> np.ndarray:
    """Map values to whole levels 0..levels-1 over the array's own range, for a colour heatmap.

    Args:
        array: Any numeric array.
        levels: How many colours the heatmap has.
        centered: Scale over -m..m, with m the largest magnitude, so 0 sits in the middle level
            and negative and positive values (a kernel, a filtered picture) read as two sides.

    Returns:
        An integer array of the same shape. A flat array, and any NaN or infinity, gets level 0.
    """
    if levels < 1:
        raise InspectError(f"a heatmap needs at least one level, not {levels}")
    values = np.asarray(array, dtype=np.float64)
    finite = np.isfinite(values)
    out = np.zeros(values.shape, dtype=np.int64)
    if not finite.any():
        return out
    low, high = values[finite].min(), values[finite].max()
    if centered:
        high = max(abs(low), abs(high))
        low = -high
    if high == low:
        return out
    scaled = np.floor((np.where(finite, values, low) - low) / (high - low) * levels)
    out[...] = np.clip(scaled, 0, levels - 1)
    out[~finite] = 0
    return out
