"""Colour maps for arrays: diverging around zero, or sequential, as tables of RGB colours."""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Literal

import numpy as np
from rich.color import Color
from rich.style import Style

ColorMap = Literal["auto", "diverging", "sequential"]

LEVELS = 255
"""Colours per map; odd, so that zero falls exactly on the middle of the diverging map."""

# Anchors (position, (r, g, b)). Diverging: blue for negative, red for positive; zero is
# near the theme's background, so that "nothing here" reads as nothing.
_DIVERGING = {
    True: [
        (-1.0, (110, 165, 255)),
        (-0.5, (35, 85, 190)),
        (0.0, (40, 40, 46)),
        (0.5, (190, 45, 35)),
        (1.0, (255, 145, 110)),
    ],
    False: [
        (-1.0, (5, 48, 97)),
        (-0.5, (67, 147, 195)),
        (0.0, (247, 247, 247)),
        (0.5, (214, 96, 77)),
        (1.0, (103, 0, 31)),
    ],
}
# Sequential: an approximation of matplotlib's "magma", the course's map for feature maps.
_SEQUENTIAL = [
    (0.0, (0, 0, 4)),
    (0.125, (28, 16, 68)),
    (0.25, (79, 18, 123)),
    (0.375, (129, 37, 129)),
    (0.5, (181, 54, 122)),
    (0.625, (229, 80, 100)),
    (0.75, (251, 135, 97)),
    (0.875, (254, 194, 135)),
    (1.0, (252, 253, 191)),
]


def _ramp(anchors: list[tuple[float, tuple[int, int, int]]]) -> np.ndarray:
    """Interpolate anchor colours into a (LEVELS, 3) uint8 table."""
    xs = np.array([x for x, _ in anchors])
    rgb = np.array([c for _, c in anchors], dtype=float)
    grid = np.linspace(xs[0], xs[-1], LEVELS)
    table = np.stack([np.interp(grid, xs, rgb[:, k]) for k in range(3)], axis=1)
    return np.rint(table).astype(np.uint8)


_TABLES = {
    ("diverging", True): _ramp(_DIVERGING[True]),
    ("diverging", False): _ramp(_DIVERGING[False]),
    ("sequential", True): _ramp(_SEQUENTIAL),
    ("sequential", False): _ramp(_SEQUENTIAL),
}


@lru_cache(maxsize=4)
def palette(diverging: bool, dark: bool = True) -> tuple[Color, ...]:
    """The colour table of a map as Rich colours (downgraded by Rich on 256-colour consoles)."""
    return tuple(Color.from_rgb(*map(int, rgb)) for rgb in color_table(diverging, dark))


@lru_cache(maxsize=16384)
def pair_style(diverging: bool, dark: bool, upper: int, lower: int) -> Style:
    """Style of a half-block cell: upper pixel as foreground, lower as background."""
    colors = palette(diverging, dark)
    return Style(color=colors[upper], bgcolor=colors[lower])


def format_value(value: float) -> str:
    """Format a number compactly: integers as integers, else three significant digits."""
    if not math.isfinite(value):
        return str(value)
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.3g}"


def value_range(data: np.ndarray) -> tuple[float, float]:
    """Smallest and largest finite values of `data`, (0, 0) when it has none."""
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return 0.0, 0.0
    return float(finite.min()), float(finite.max())


def is_diverging(data: np.ndarray, cmap: ColorMap = "auto") -> bool:
    """Whether `data` is drawn with the diverging map: asked for, or it holds negative values."""
    if cmap != "auto":
        return cmap == "diverging"
    return value_range(data)[0] < 0


def color_levels(
    data: np.ndarray, diverging: bool, bounds: tuple[float, float] | None = None
) -> np.ndarray:
    """Map values to colour-table indices in [0, LEVELS).

    Args:
        data: Values to map.
        diverging: Symmetric around zero (zero in the middle) rather than min to max.
        bounds: The (min, max) to scale by; by default those of `data`.

    Returns:
        An integer array shaped like `data`; a flat array maps to one level without error.
    """
    lo, hi = value_range(data) if bounds is None else bounds
    values = np.nan_to_num(np.asarray(data, dtype=float), nan=0.0, posinf=hi, neginf=lo)
    if diverging:
        reach = max(abs(lo), abs(hi)) or 1.0
        t = (values / reach + 1.0) / 2.0
    else:
        span = hi - lo
        t = (values - lo) / span if span > 0 else np.zeros_like(values)
    return np.clip(np.rint(t * (LEVELS - 1)), 0, LEVELS - 1).astype(np.intp)


def color_table(diverging: bool, dark: bool = True) -> np.ndarray:
    """The (LEVELS, 3) uint8 colour table of a map, for a dark or a light theme."""
    return _TABLES[("diverging" if diverging else "sequential", dark)]


def text_color_on(rgb: np.ndarray) -> str:
    """Black or white, whichever reads better on the background colour `rgb`."""
    r, g, b = (int(v) for v in rgb)
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"
