"""Heatmap widget: a 2-D array drawn as coloured half-block cells, with a title and a legend."""

from __future__ import annotations

import math

import numpy as np
from layerlab.tui.widgets.colormap import (
    LEVELS,
    ColorMap,
    color_levels,
    format_value,
    is_diverging,
    pair_style,
    palette,
    value_range,
)
from rich.segment import Segment
from rich.style import Style
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget


def fit_size(rows: int, cols: int, width: int, height_px: int) -> tuple[int, int]:
    """Size in pixels of an array scaled to fit `width` × `height_px` with square pixels.

    Upscaling uses a whole factor so every array element gets the same number of pixels;
    downscaling keeps the rows even, so that the last line is not half background.
    """
    if rows <= 0 or cols <= 0 or width <= 0 or height_px <= 0:
        return 0, 0
    scale = min(width / cols, height_px / rows)
    if scale >= 1:
        scale = math.floor(scale)
        return rows * scale, cols * scale
    out_rows = int(rows * scale)
    return max(1, out_rows - out_rows % 2 if out_rows > 1 else 1), max(1, int(cols * scale))


def _shrink(data: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Shrink one axis to `size` blocks, each keeping its value farthest from zero."""
    starts = (np.arange(size) * data.shape[axis] // size).astype(np.intp)
    high = np.maximum.reduceat(data, starts, axis=axis)
    low = np.minimum.reduceat(data, starts, axis=axis)
    return np.where(-low > high, low, high)


def resample(data: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """Resample a 2-D array to `rows` × `cols`: nearest neighbour up, strongest value down.

    Shrinking keeps each block's value farthest from zero, as max pooling would, so that a
    one-pixel edge in a feature map does not vanish between the sampled pixels.
    """
    lo, hi = value_range(data)
    finite = np.nan_to_num(data, nan=0.0, posinf=hi, neginf=lo)
    if rows < data.shape[0]:
        finite = _shrink(finite, rows, 0)
    if cols < data.shape[1]:
        finite = _shrink(finite, cols, 1)
    r = ((np.arange(rows) + 0.5) * finite.shape[0] / rows).astype(np.intp)
    c = ((np.arange(cols) + 0.5) * finite.shape[1] / cols).astype(np.intp)
    return finite[r[:, None], c[None, :]]


def as_2d(value: object) -> np.ndarray:
    """A float copy of `value` as a 2-D array: singleton axes dropped, a vector as one row.

    Raises:
        ValueError: If the array cannot be seen as two-dimensional.
    """
    array = np.array(value, dtype=float)
    if array.ndim > 2:
        array = array.squeeze()
    if array.ndim < 2:
        array = array.reshape(1, -1)
    if array.ndim != 2:
        raise ValueError(f"a heatmap needs a 2-D array, got shape {np.shape(value)}")
    return array


_HALF_BLOCK = "▀"


class Heatmap(Widget):
    """A 2-D array as a colour heatmap, two pixels per cell, with a title and a legend.

    Arrays with negative values (kernels, filtered maps) use a diverging map, blue through
    neutral to red, symmetric around zero; others (feature maps after ReLU) a sequential one.
    """

    DEFAULT_CSS = """
    Heatmap {
        width: 1fr;
        height: 1fr;
        min-width: 8;
        min-height: 3;
        padding: 0 1;
    }
    Heatmap > .heatmap--title {
        text-style: bold;
    }
    Heatmap > .heatmap--legend {
        color: $text-muted;
    }
    """

    COMPONENT_CLASSES = {"heatmap--title", "heatmap--legend"}

    data: reactive[np.ndarray | None] = reactive(None, always_update=True)
    """The array drawn: anything numpy reads as 2-D, or None for an empty panel."""
    title: reactive[str] = reactive("")
    """Text on the first line; no title line when empty."""
    cmap: reactive[ColorMap] = reactive("auto")
    """Colour map: "auto" (diverging when there are negative values), "diverging" or "sequential"."""
    show_legend: reactive[bool] = reactive(True)
    """Whether the last line shows the value range with the colour ramp."""

    def __init__(
        self,
        data: object = None,
        *,
        title: str = "",
        cmap: ColorMap = "auto",
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a heatmap.

        Args:
            data: The array to draw, or None.
            title: Text for the first line.
            cmap: "auto", "diverging" or "sequential".
            name: Name of the widget.
            id: ID of the widget in the DOM.
            classes: CSS classes.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._strips: list[Strip] | None = None
        self._strips_key: tuple[object, ...] | None = None
        self.set_reactive(Heatmap.data, None if data is None else as_2d(data))
        self.set_reactive(Heatmap.title, title)
        self.set_reactive(Heatmap.cmap, cmap)

    def validate_data(self, value: object) -> np.ndarray | None:
        """Copy the new array as 2-D floats."""
        return None if value is None else as_2d(value)

    def _invalidate(self) -> None:
        self._strips = None
        self.refresh()

    def watch_data(self) -> None:
        self._invalidate()

    def watch_title(self) -> None:
        self._invalidate()

    def watch_cmap(self) -> None:
        self._invalidate()

    def watch_show_legend(self) -> None:
        self._invalidate()

    def on_mount(self) -> None:
        self.app.theme_changed_signal.subscribe(self, lambda _theme: self._invalidate())

    def on_resize(self) -> None:
        self._invalidate()

    @property
    def diverging(self) -> bool:
        """Whether the current array is drawn with the diverging map."""
        return self.data is not None and is_diverging(self.data, self.cmap)

    @property
    def value_range(self) -> tuple[float, float]:
        """The (min, max) of the current array, as the legend shows it."""
        return (0.0, 0.0) if self.data is None else value_range(self.data)

    def render_line(self, y: int) -> Strip:
        """One line of the title, the picture or the legend."""
        width, height = self.size
        key = (width, height, self.app.current_theme.dark)
        if self._strips is None or self._strips_key != key:
            self._strips = self._build_strips(width, height, key[2])
            self._strips_key = key
        if 0 <= y < len(self._strips):
            return self._strips[y]
        return Strip.blank(width, self.rich_style)

    def _text_line(self, text: str, width: int, component: str) -> Strip:
        text = text if len(text) <= width else text[: max(0, width - 1)] + "…"
        pad = (width - len(text)) // 2
        # The padding is its own segment so that it is never bold or underlined.
        segments = [
            Segment(" " * pad, self.rich_style),
            Segment(text, self.get_component_rich_style(component)),
        ]
        return Strip(segments).adjust_cell_length(width, self.rich_style)

    def _build_strips(self, width: int, height: int, dark: bool) -> list[Strip]:
        """Render every line for the current array and size."""
        lines: list[Strip] = []
        if self.title:
            lines.append(self._text_line(self.title, width, "heatmap--title"))
        data = self.data
        if data is None or data.size == 0:
            lines.append(self._text_line("no data", width, "heatmap--legend"))
            return lines
        legend_lines = 1 if self.show_legend else 0
        rows, cols = fit_size(*data.shape, width, 2 * (height - len(lines) - legend_lines))
        diverging = is_diverging(data, self.cmap)
        if rows:
            levels = color_levels(resample(data, rows, cols), diverging, value_range(data))
            if rows % 2:  # the last line's lower half shows the background
                levels = np.vstack([levels, np.full((1, cols), -1, dtype=np.intp)])
            lines.extend(self._picture_lines(levels, diverging, dark, width))
        if self.show_legend:
            lines.append(self._legend_line(data, diverging, dark, width))
        return lines

    def _picture_lines(
        self, levels: np.ndarray, diverging: bool, dark: bool, width: int
    ) -> list[Strip]:
        """Half-block lines: upper pixel in the foreground, lower pixel in the background."""
        base = self.rich_style
        colors = palette(diverging, dark)
        cols = levels.shape[1]
        pad_left = (width - cols) // 2
        pad_right = width - cols - pad_left
        styles: dict[tuple[int, int], Style] = {}
        strips = []
        for upper, lower in zip(levels[0::2], levels[1::2], strict=True):
            codes = upper * (LEVELS + 1) + (lower + 1)
            starts = np.flatnonzero(np.diff(codes, prepend=-1))
            ends = np.append(starts[1:], cols)
            segments = [Segment(" " * pad_left, base)] if pad_left else []
            for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
                pair = (int(upper[start]), int(lower[start]))
                if pair[1] >= 0:
                    style = pair_style(diverging, dark, *pair)
                elif (style := styles.get(pair)) is None:
                    style = styles[pair] = base + Style(color=colors[pair[0]])
                segments.append(Segment(_HALF_BLOCK * (end - start), style))
            if pad_right:
                segments.append(Segment(" " * pad_right, base))
            strips.append(Strip(segments, width))
        return strips

    def _legend_line(self, data: np.ndarray, diverging: bool, dark: bool, width: int) -> Strip:
        """The value range, min and max around a ramp of the colours between them."""
        lo, hi = value_range(data)
        low_text, high_text = f"{format_value(lo)} ", f" {format_value(hi)}"
        ramp_width = max(0, min(24, width - len(low_text) - len(high_text) - 2))
        levels = color_levels(np.linspace(lo, hi, ramp_width), diverging, (lo, hi))
        style = self.get_component_rich_style("heatmap--legend")
        colors = palette(diverging, dark)
        used = len(low_text) + ramp_width + len(high_text)
        pad_left = max(0, (width - used) // 2)
        segments = [Segment(" " * pad_left, self.rich_style), Segment(low_text, style)]
        segments += [Segment(" ", style + Style(bgcolor=colors[int(i)])) for i in levels]
        segments.append(Segment(high_text, style))
        return Strip(segments).adjust_cell_length(width, style)
