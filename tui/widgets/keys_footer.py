"""Textual's footer, on two rows when its keys do not fit on one (an 80-column terminal)."""

from __future__ import annotations

import math

from textual.app import ComposeResult
from textual.widgets import Footer

ROWS_MOST = 3


class KeysFooter(Footer):
    """The footer of every screen: every key it shows stays readable at any width from 80."""

    DEFAULT_CSS = """
    KeysFooter.-rows { layout: grid; grid-columns: auto; grid-gutter: 0 1; }
    KeysFooter.-rows.-compact FooterKey { margin: 0; }
    """

    def compose(self) -> ComposeResult:
        yield from super().compose()
        self.call_after_refresh(self.fit)

    def on_resize(self) -> None:
        self.fit()

    def fit(self) -> None:
        """One row when the keys fit the width, else as few rows as they need (grid columns)."""
        shown = [
            binding for (_, binding, _, _) in self.screen.active_bindings.values() if binding.show
        ]
        actions = list(dict.fromkeys(b.action for b in shown))
        widths = {}
        for binding in shown:  # a key, a space, its description and a space between keys
            widths.setdefault(
                binding.action,
                len(self.app.get_key_display(binding)) + len(binding.description) + 2,
            )
        width = max(self.size.width, 1)
        rows = 1
        while rows < ROWS_MOST and _widest(actions, widths, rows) > width:
            rows += 1
        columns = max(1, math.ceil(len(actions) / rows))
        if self.styles.grid_size_columns != columns or self.styles.height != rows:
            self.set_class(rows > 1, "-rows")
            self.styles.grid_size_columns = columns
            self.styles.height = rows
            self.screen.refresh(layout=True)  # the status bar above moves with it


def _widest(actions: list[str], widths: dict[str, int], rows: int) -> int:
    """The grid's width with `rows` rows: each column as wide as its widest key."""
    columns = math.ceil(len(actions) / rows)
    return sum(max(widths[a] for a in actions[c::columns] if a in widths) for c in range(columns))
