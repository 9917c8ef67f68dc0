"""ChannelGrid widget: a stack of 2-D arrays (kernels, feature maps) as a paged grid of heatmaps."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from layerlab.core.pictures import ChannelPage, grid
from layerlab.tui.widgets.heatmap import Heatmap
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget


class ChannelGrid(Widget, can_focus=True):
    """One heatmap per channel of a (height, width, channels) stack, as many as fit, a page at a time.

    Arrows move the selected channel (turning pages at the edges); page up and page down turn
    pages. The page size follows the widget's size and the cell size.
    """

    DEFAULT_CSS = """
    ChannelGrid {
        layout: grid;
        grid-gutter: 0;
        width: 1fr;
        height: 1fr;
    }
    ChannelGrid > Heatmap {
        width: 1fr;
        height: 1fr;
        min-height: 3;
    }
    ChannelGrid > Heatmap.-selected {
        background: $boost;
    }
    ChannelGrid:focus > Heatmap.-selected {
        background: $primary 30%;
    }
    """

    BINDINGS = [
        Binding("left", "select(-1, 0)", "Previous", show=False),
        Binding("right", "select(1, 0)", "Next", show=False),
        Binding("up", "select(0, -1)", "Row up", show=False),
        Binding("down", "select(0, 1)", "Row down", show=False),
        Binding("pageup", "page(-1)", "Previous page", show=False),
        Binding("pagedown", "page(1)", "Next page", show=False),
    ]

    @dataclass
    class Selected(Message):
        """The selected channel changed (by a key, a page turn or a new stack)."""

        channel_grid: ChannelGrid
        """The grid."""
        channel: int
        """The selected channel, counted from 0."""

        @property
        def control(self) -> ChannelGrid:
            """The grid."""
            return self.channel_grid

    stack: reactive[np.ndarray | None] = reactive(None, always_update=True)
    """The arrays, shape (height, width, channels); None for an empty grid."""
    label: reactive[str] = reactive("channel")
    """The word before each cell's number, e.g. "filter"."""
    selected: reactive[int] = reactive(0)
    """The selected channel, counted from 0."""
    cmap: reactive[str] = reactive("auto")
    """The heatmaps' colour map (see Heatmap.cmap)."""
    caption: reactive[str] = reactive("")
    """What the page shows, e.g. "filters 1–9 of 16 · page 1/2" (kept up to date, read-only)."""

    def __init__(
        self,
        *,
        label: str = "channel",
        cell: tuple[int, int] = (16, 6),
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        """Create an empty grid.

        Args:
            label: The word before each cell's number.
            cell: The smallest (width, height) of one heatmap, in cells.
            id: ID of the widget in the DOM.
            classes: CSS classes.
        """
        super().__init__(id=id, classes=classes)
        self.cell = cell
        self.set_reactive(ChannelGrid.label, label)
        self._shape = (1, 1)

    @property
    def count(self) -> int:
        """How many channels the stack has."""
        return 0 if self.stack is None else int(self.stack.shape[-1])

    @property
    def per_page(self) -> int:
        """How many heatmaps fit on one page at the current size."""
        return self._shape[0] * self._shape[1]

    @property
    def page(self) -> ChannelPage:
        """The current page, as a core.pictures ChannelPage."""
        return grid(self.count, self.selected // self.per_page, self.per_page)

    @property
    def shown(self) -> list[int]:
        """The channels on the current page."""
        return self.page.channels if self.count else []

    def page_text(self) -> str:
        """E.g. "filters 1–9 of 16 · page 1/2"."""
        if not self.count:
            return ""
        page = self.page
        first, last = page.channels[0] + 1, page.channels[-1] + 1
        words = f"{self.label}s {first}–{last} of {self.count}"
        return words + (f" · page {page.page + 1}/{page.pages}" if page.pages > 1 else "")

    def validate_selected(self, value: int) -> int:
        return min(max(value, 0), max(self.count - 1, 0))

    def watch_stack(self) -> None:
        self.selected = self.selected  # clamp into the new range
        self._show()

    def watch_selected(self, channel: int) -> None:
        self._show()
        self.post_message(self.Selected(self, channel))

    def watch_label(self) -> None:
        self._show()

    def on_resize(self) -> None:
        width, height = self.size
        shape = (max(1, width // self.cell[0]), max(1, height // self.cell[1]))
        if shape != self._shape:
            self._shape = shape
            self._show()

    def action_select(self, step: int, rows: int) -> None:
        """Move the selection by `step` cells, or `rows` rows of the grid."""
        self.selected = self.selected + step + rows * self._shape[0]

    def action_page(self, pages: int) -> None:
        """Turn `pages` pages, keeping the selection's place on the page."""
        target = self.selected + pages * self.per_page
        if 0 <= target < self.count:
            self.selected = target
        elif pages > 0 and self.page.page + 1 < self.page.pages:
            self.selected = self.count - 1  # the last page is not full

    def _show(self) -> None:
        """Make one heatmap per channel on the page, reusing the ones already mounted."""
        if not self.is_mounted:
            return
        channels = self.shown
        columns, rows = self._shape
        self.styles.grid_size_columns = columns
        self.styles.grid_size_rows = rows
        self.styles.grid_rows = str(self.cell[1])
        self.caption = self.page_text()
        heatmaps = list(self.query_children(Heatmap))
        if len(heatmaps) > len(channels):
            for extra in heatmaps[len(channels) :]:
                extra.remove()
            heatmaps = heatmaps[: len(channels)]
        new = []
        for n, channel in enumerate(channels):
            data = self.stack[..., channel]
            title = f"{self.label} {channel + 1}"
            if n < len(heatmaps):
                heatmaps[n].data, heatmaps[n].title = data, title
                heatmaps[n].cmap = self.cmap
            else:
                heatmap = Heatmap(data, title=title, cmap=self.cmap)  # type: ignore[arg-type]
                heatmaps.append(heatmap)
                new.append(heatmap)
        if new:
            self.mount(*new)
        for channel, heatmap in zip(channels, heatmaps, strict=True):
            heatmap.set_class(channel == self.selected, "-selected")
