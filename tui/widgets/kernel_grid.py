"""KernelGrid widget: a small convolution kernel as a grid of numbers on coloured cells, optionally editable."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from layerlab.tui.widgets.colormap import (
    LEVELS,
    color_levels,
    color_table,
    format_value,
    is_diverging,
    text_color_on,
)
from layerlab.tui.widgets.heatmap import as_2d
from rich.color import Color
from rich.style import Style
from rich.text import Text
from textual import events, on
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

NUMBER_KEYS = set("0123456789.-+/")
"""Characters that start or extend a typed value; others reach the app's bindings."""
MAX_TYPED = 16
SEQUENTIAL_FLOOR = 40
"""Lowest colour level of a kernel without negative values (level 0 is near-black)."""
FOOTER_WIDTH = 28
"""The grid is at least this wide, so that its footer line has room for a message."""


def parse_value(text: str) -> float:
    """Read a typed value: an integer, a decimal, an exponent or a fraction such as 1/16.

    Raises:
        ValueError: If `text` is not a finite number.
    """
    try:
        return float(Fraction(text.strip()))
    except (ValueError, ZeroDivisionError, OverflowError):
        raise ValueError(f"not a number: {text!r}") from None


class KernelGrid(Widget):
    """A kernel's numbers in a grid, each cell coloured by its value, as in the course's figures.

    Editable when `editable` is set: arrows move the cell cursor, typing a number and enter
    sets the cell and posts `KernelGrid.Changed`; bad input shows an error and keeps the value.
    """

    DEFAULT_CSS = """
    KernelGrid {
        width: auto;
        height: auto;
    }
    KernelGrid > .kernel-grid--title {
        text-style: bold;
    }
    KernelGrid > .kernel-grid--footer {
        color: $text-muted;
    }
    KernelGrid > .kernel-grid--error {
        color: $error;
        text-style: bold;
    }
    """

    COMPONENT_CLASSES = {"kernel-grid--title", "kernel-grid--footer", "kernel-grid--error"}

    BINDINGS = [
        Binding("up", "move(-1, 0)", "Cell up", show=False),
        Binding("down", "move(1, 0)", "Cell down", show=False),
        Binding("left", "move(0, -1)", "Cell left", show=False),
        Binding("right", "move(0, 1)", "Cell right", show=False),
        Binding("enter", "commit", "Set cell"),
        Binding("backspace", "erase", "Erase digit", show=False),
        Binding("escape", "cancel", "Cancel edit"),
    ]

    @dataclass
    class Changed(Message):
        """A cell was set by typing: the new kernel, and the cell that changed."""

        kernel_grid: KernelGrid
        """The grid that changed."""
        kernel: np.ndarray
        """A copy of the whole new kernel."""
        cell: tuple[int, int]
        """(row, column) of the cell that was set."""

        @property
        def control(self) -> KernelGrid:
            """The grid that changed."""
            return self.kernel_grid

    kernel: reactive[np.ndarray] = reactive(lambda: np.zeros((3, 3)), always_update=True)
    """The kernel shown, rows top to bottom; anything numpy reads as 2-D."""
    title: reactive[str] = reactive("")
    """Text above the grid; no title line when empty."""
    editable: reactive[bool] = reactive(False)
    """Whether the grid takes focus and accepts typed values."""
    cursor: reactive[tuple[int, int]] = reactive((0, 0))
    """(row, column) of the cell being edited."""
    compact: reactive[bool] = reactive(False, layout=True)
    """One line per kernel row instead of three (three make roughly square cells)."""

    def __init__(
        self,
        kernel: object = None,
        *,
        title: str = "",
        editable: bool = False,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create a kernel grid.

        Args:
            kernel: The kernel to show (3×3 zeros when None).
            title: Text above the grid.
            editable: Whether the user may type new values.
            name: Name of the widget.
            id: ID of the widget in the DOM.
            classes: CSS classes.
        """
        super().__init__(name=name, id=id, classes=classes)
        self._typed = ""
        self._error = ""
        if kernel is not None:
            self.set_reactive(KernelGrid.kernel, as_2d(kernel))
        self.set_reactive(KernelGrid.title, title)
        self.set_reactive(KernelGrid.editable, editable)
        self.can_focus = editable

    @property
    def typed(self) -> str:
        """What the user has typed into the cursor cell and not yet set."""
        return self._typed

    @property
    def error(self) -> str:
        """The message about the last bad input, empty when there is none."""
        return self._error

    def validate_kernel(self, value: object) -> np.ndarray:
        """Copy the new kernel as 2-D floats."""
        return as_2d(value)

    def watch_kernel(self, kernel: np.ndarray) -> None:
        rows, cols = kernel.shape
        row, col = self.cursor
        self.cursor = (min(row, rows - 1), min(col, cols - 1))
        self.refresh(layout=True)

    def watch_editable(self, editable: bool) -> None:
        self.can_focus = editable
        self._typed = self._error = ""
        self.refresh()

    def watch_cursor(self) -> None:
        self.refresh()

    @on(events.Focus)
    @on(events.Blur)
    def _show_cursor(self) -> None:
        self.refresh()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Editing keys act only on an editable grid; escape only while there is something to cancel."""
        if not self.editable:
            return False
        if action == "cancel":
            return bool(self._typed or self._error)
        return True

    def action_move(self, rows: int, cols: int) -> None:
        """Move the cursor, first setting a typed value (and staying put if it is bad)."""
        if self._typed and not self.action_commit():
            return
        height, width = self.kernel.shape
        row, col = self.cursor
        self.cursor = (min(max(row + rows, 0), height - 1), min(max(col + cols, 0), width - 1))

    def action_erase(self) -> None:
        """Erase the last typed character."""
        self._typed = self._typed[:-1]
        self.refresh(layout=True)

    def action_cancel(self) -> None:
        """Forget what was typed and any error."""
        self._typed = self._error = ""
        self.refresh(layout=True)

    def on_key(self, event: events.Key) -> None:
        """Collect the characters of a number typed into the cursor cell."""
        char = event.character
        if not self.editable or char is None or not event.is_printable:
            return
        if char in NUMBER_KEYS or (char in "eE" and self._typed):
            event.stop()
            event.prevent_default()
            self._typed = (self._typed + char)[:MAX_TYPED]
            self._error = ""
            self.refresh(layout=True)

    def action_commit(self) -> bool:
        """Set the cursor cell to the typed value; on bad input keep the old one and say why."""
        typed, self._typed = self._typed, ""
        self.refresh(layout=True)
        if not typed:
            return True
        row, col = self.cursor
        try:
            value = parse_value(typed)
        except ValueError as error:
            old = format_value(float(self.kernel[row, col]))
            self._error = f"{error}; kept {old}"
            return False
        self._error = ""
        if value != self.kernel[row, col]:
            kernel = self.kernel.copy()
            kernel[row, col] = value
            self.kernel = kernel
            self.post_message(self.Changed(self, kernel.copy(), (row, col)))
        return True

    def _cell_texts(self) -> list[list[str]]:
        texts = [[format_value(float(v)) for v in row] for row in self.kernel]
        if self.editable and self._typed:
            row, col = self.cursor
            texts[row][col] = self._typed + "▏"
        return texts

    def _cell_width(self, texts: list[list[str]]) -> int:
        widest = max(len(text) for row in texts for text in row)
        return max(widest + 2, 4 if self.compact else 7)

    def get_content_width(self, container: Size, viewport: Size) -> int:
        """The grid's width, or room for the title and footer if wider."""
        grid = self._cell_width(self._cell_texts()) * self.kernel.shape[1]
        return max(grid, len(self.title), FOOTER_WIDTH)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        """Title, the kernel rows and the footer."""
        rows = self.kernel.shape[0] * (1 if self.compact else 3)
        return rows + (1 if self.title else 0) + 1

    def render(self) -> Text:
        """Title, the coloured cells and the footer, centred."""
        width = self.size.width
        texts = self._cell_texts()
        cell = self._cell_width(texts)
        diverging = is_diverging(self.kernel)
        table = color_table(diverging, self.app.current_theme.dark)
        levels = color_levels(self.kernel, diverging)
        if not diverging:  # lift the darkest level off the background, so every cell shows
            levels = SEQUENTIAL_FLOOR + levels * (LEVELS - 1 - SEQUENTIAL_FLOOR) // (LEVELS - 1)
        title_style = self.get_component_rich_style("kernel-grid--title")
        lines = [Text(self.title, title_style)] if self.title else []
        for r, row in enumerate(texts):
            for band in (0,) if self.compact else (0, 1, 2):
                line = Text()
                for c, value in enumerate(row):
                    rgb = table[levels[r, c]]
                    style = Style(bgcolor=Color.from_rgb(*map(int, rgb)), color=text_color_on(rgb))
                    shown = value if self.compact or band == 1 else ""
                    if shown and self.has_focus and (r, c) == self.cursor:
                        style += Style(bold=True)
                        shown = shown if self._typed else f"[{shown}]"
                    line.append(shown.center(cell), style)
                lines.append(line)
        lines.append(self._footer())
        for line in lines:
            line.truncate(width, overflow="ellipsis")
            line.align("center", width)
        return Text("\n", no_wrap=True).join(lines)

    def _footer(self) -> Text:
        """The error about bad input, else where the cursor is, else the kernel's shape."""
        if self._error:
            return Text(self._error, self.get_component_rich_style("kernel-grid--error"))
        style = self.get_component_rich_style("kernel-grid--footer")
        row, col = self.cursor
        where = f"row {row + 1}, col {col + 1}"
        if not self.editable:
            return Text("{}×{} kernel".format(*self.kernel.shape), style)
        if self._typed:
            return Text(f"{where} ← {self._typed}", style)
        return Text(f"{where} = {format_value(float(self.kernel[row, col]))}", style)
