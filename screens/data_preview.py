"""The Data screen's preview: the first rows, each column's statistics (checked = a feature),
the target's class balance or distribution, or an image set's classes and a few of its images.

A big table's statistics are first estimates from its first rows, said so above them, with a bar
showing how far the reading of the whole file has got; the exact figures replace them in place.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.reactive import reactive
from textual.widgets import DataTable, Label, ProgressBar, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual_plotext import PlotextPlot

if TYPE_CHECKING:
    from layerlab.screens.data_facts import ColumnFacts, Preview

NAME_WIDTH = 20
SIDEWAYS_BARS = 8
"""Up to this many bars lie sideways, one labelled row each; more stand up."""


@dataclass(frozen=True)
class Layout:
    """Widths of a column line's fields; `compact` (narrow terminals) leaves out the type."""

    name: int = NAME_WIDTH
    compact: bool = False

    @property
    def stat(self) -> int:
        return 6 if self.compact else 7

    @property
    def kind(self) -> int:
        return 0 if self.compact else 5

    @property
    def missing(self) -> tuple[int, str]:
        return (4, "NA") if self.compact else (7, "missing")

    @property
    def fixed(self) -> int:
        """Cells besides the name: check box, type, missing, min, max and mean."""
        return 4 + 1 + (self.kind + 1 if self.kind else 0) + self.missing[0] + 3 * (self.stat + 1)

    @classmethod
    def fit(cls, room: int, longest: int) -> Layout:
        """The full layout if names keep 14 cells or more in `room`, else the compact one."""
        wide = cls(min(NAME_WIDTH, longest, room - cls().fixed))
        if wide.name >= min(longest, 14):
            return wide
        return cls(max(6, min(NAME_WIDTH, longest, room - cls(compact=True).fixed)), compact=True)


def _stat(value: float | None, width: int) -> str:
    if value is None:
        return ""
    for digits in (4, 3, 2, 1):
        text = f"{value:.{digits}g}"
        if len(text) <= width:
            break
    return text


def _fields(layout: Layout, name: str, kind: str, missing: str, stats: list[str]) -> str:
    kind = f"{kind:<{layout.kind}} " if layout.kind else ""
    return f"{name:<{layout.name}} {kind}{missing:>{layout.missing[0]}} " + " ".join(
        f"{s:>{layout.stat}}" for s in stats
    )


def column_line(facts: ColumnFacts, layout: Layout, target: bool = False) -> Text:
    """One column's statistics as a fixed-width line; the target is marked."""
    width = layout.name
    name = facts.name if len(facts.name) <= width else facts.name[: width - 1] + "…"
    stats = [_stat(v, layout.stat) for v in (facts.low, facts.high, facts.mean)]
    line = Text(_fields(layout, name, facts.kind, str(facts.missing), stats))
    if target:
        line.append("  ← target", style="bold")
    return line


def header_line(layout: Layout) -> str:
    return "    " + _fields(layout, "column", "type", layout.missing[1], ["min", "max", "mean"])


class ReadingBar(Horizontal):
    """How far the reading of a whole table for its exact statistics has got."""

    DEFAULT_CSS = """
    ReadingBar {
        display: none;
        height: 1;
    }
    ReadingBar Label {
        width: auto;
        color: $text-muted;
    }
    ReadingBar ProgressBar, ReadingBar Bar {
        width: 1fr;
    }
    ReadingBar PercentageStatus {
        min-width: 5;
    }
    """

    def compose(self) -> ComposeResult:
        yield Label("reading all rows for exact figures ")
        yield ProgressBar(total=1.0, show_eta=False)


class DataPreview(VerticalScroll):
    """What a data source holds, shown before and after it is used."""

    reading: reactive[float | None] = reactive(None, init=False)
    """The fraction of a big table read for its exact statistics; None when nothing is read."""

    def __init__(self) -> None:
        super().__init__(id="data-preview")
        self.border_title = "Preview"
        self.preview: Preview | None = None
        self._layout = Layout()

    def compose(self) -> ComposeResult:
        yield Static("", id="data-summary")
        yield ReadingBar(id="data-reading")
        yield Horizontal(id="data-samples")
        with Horizontal(id="data-top"):
            yield DataTable(
                id="data-rows", zebra_stripes=True, cursor_type="none", show_cursor=False
            )
            yield PlotextPlot(id="data-balance")
        yield Static("", id="data-columns-head")
        yield SelectionList[str](id="data-columns")
        yield Static("", id="data-notes")

    def clear(self, text: str) -> None:
        """Nothing to preview: say why (loading, or the error)."""
        self.preview = None
        self.reading = None
        self.border_title = "Preview"
        self._summary(text)
        self.query_one("#data-notes", Static).update("")
        self.remove_class("-table", "-images")
        self.draw_bars("", [])

    def _summary(self, text: str) -> None:
        summary = self.query_one("#data-summary", Static)
        summary.update(text)
        summary.display = bool(text)

    def show(self, preview: Preview, target: str | None, drop: list[str]) -> None:
        """Show a preview; in a table, `drop`'s columns are unchecked and `target` is marked."""
        self.preview = preview
        self.border_title = f"Preview · {preview.title} · {preview.size}"
        self.set_class(preview.kind == "table", "-table")
        self.set_class(preview.kind == "images", "-images")
        folder = preview.kind == "images" and preview.dataset is None
        self._summary("\n".join(preview.notes) if folder else _estimate_words(preview))
        if preview.kind == "table":
            self._show_rows(preview)
            self._show_columns(preview, target, drop)
        else:
            self._show_samples(preview)
            self.draw_bars("images per class", preview.classes)

    def show_exact(self, preview: Preview) -> None:
        """Put a big table's exact figures where its estimates were; checks and target kept."""
        if self.preview is None or self.preview.kind != "table":
            return
        self.preview = preview
        self.border_title = f"Preview · {preview.title} · {preview.size}"
        self._summary(f"Exact figures from all {preview.total_rows:,} rows.")
        columns = self.query_one("#data-columns", SelectionList)
        for index, facts in enumerate(preview.columns):
            target = columns.get_option_at_index(index).disabled
            columns.replace_option_prompt_at_index(index, column_line(facts, self._layout, target))

    def show_unfinished(self, error: str) -> None:
        """The whole table could not be read: the estimates stay, and the summary says why."""
        if self.preview is not None:
            words = self.preview.estimate_words()
            self._summary(f"Estimates {words}: the rest could not be read ({error}).")

    def watch_reading(self, fraction: float | None) -> None:
        self.query_one(ReadingBar).display = fraction is not None
        self.query_one(ReadingBar).query_one(ProgressBar).update(progress=fraction or 0.0)

    def _show_rows(self, preview: Preview) -> None:
        table = self.query_one("#data-rows", DataTable)
        table.clear(columns=True)
        table.add_columns(*preview.header)
        table.add_rows(preview.rows)

    def _show_columns(self, preview: Preview, target: str | None, drop: list[str]) -> None:
        longest = max((len(c.name) for c in preview.columns), default=6)
        # Room for the list's own scroll bar and the preview's, either of which may appear.
        self._layout = Layout.fit(self.scrollable_content_region.width - 2, longest)
        self.query_one("#data-columns-head", Static).update(header_line(self._layout))
        columns = self.query_one("#data-columns", SelectionList)
        columns.clear_options()
        columns.add_options(
            Selection(
                column_line(c, self._layout, c.name == target),
                c.name,
                c.name not in drop,
                disabled=c.name == target,
            )
            for c in preview.columns
        )
        self.show_target(target)

    def show_target(self, target: str | None, task: str | None = None) -> None:
        """Mark `target` in the column list (it cannot be a feature) and draw its balance."""
        preview = self.preview
        if preview is None or preview.kind != "table":
            return
        columns = self.query_one("#data-columns", SelectionList)
        for index, facts in enumerate(preview.columns):
            option = columns.get_option_at_index(index)
            is_target = facts.name == target
            if option.disabled != is_target:
                columns.replace_option_prompt_at_index(
                    index, column_line(facts, self._layout, is_target)
                )
                if is_target:
                    columns.disable_option_at_index(index)
                else:
                    columns.enable_option_at_index(index)
        facts = preview.column(target)
        if facts is None or not facts.bars:
            self.draw_bars("", [])
            return
        classified = (task or facts.task) in ("binary", "multiclass")
        title = f"balance of {target}" if classified else f"distribution of {target}"
        if classified and facts.bars_exact:
            title = "class " + title
        elif not facts.bars_exact:  # first: a long title is cut at its end
            title = "estimated " + title
        self.draw_bars(title, facts.bars)

    def show_notes(self, notes: list[str]) -> None:
        """How the data in use was prepared, step by step."""
        text = Text("How the data is prepared:\n", style="bold") if notes else Text()
        for note in notes:
            text.append(f"• {note}\n", style="")
        self.query_one("#data-notes", Static).update(text)

    def dropped(self) -> list[str]:
        """Table columns left unchecked (not the target): the drop list."""
        if self.preview is None or self.preview.kind != "table":
            return []
        columns = self.query_one("#data-columns", SelectionList)
        chosen = set(columns.selected)
        return [
            c.name
            for i, c in enumerate(self.preview.columns)
            if c.name not in chosen and not columns.get_option_at_index(i).disabled
        ]

    def draw_bars(self, title: str, bars: list[tuple[str, float]]) -> None:
        """A bar per class (or bin), sideways while each label gets its own row; or nothing."""
        plot = self.query_one("#data-balance", PlotextPlot)
        plot.display = bool(bars)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        if bars:
            labels, values = [label[:12] for label, _ in bars], [value for _, value in bars]
            sideways = len(bars) <= SIDEWAYS_BARS
            plt.bar(labels, values, orientation="horizontal" if sideways else "vertical", width=0.6)
            top = int(max(values))
            ticks = sorted({0, top // 2, top})
            (plt.xticks if sideways else plt.yticks)(ticks, [str(t) for t in ticks])
            plot.styles.height = len(bars) + 5 if sideways else 10
            plot.border_title = title
        plot.refresh()

    def _show_samples(self, preview: Preview) -> None:
        picture, renderer = picture_class(self.app.is_headless)
        box = self.query_one("#data-samples", Horizontal)
        box.remove_children()
        box.mount_all(
            picture(image, title=name[:14], renderer=renderer) for name, image in preview.samples
        )


def _estimate_words(preview: Preview) -> str:
    words = preview.estimate_words()
    if not words:
        return ""
    return f"Estimates {words}, until all are read."


def picture_class(headless: bool) -> tuple[type, str]:
    """tui.widgets.picture's Picture and the renderer to use, imported without asking the terminal.

    textual-image asks the terminal about its graphics when first imported. Once Textual reads
    stdin, the terminal's answer lands in the focused input as typed text, so the app should
    import it before it starts (tui/widgets/picture.py says so). Where that has not happened, it
    is imported here with stdout looking like a file, which skips the questions; half-cell blocks
    are drawn then.
    """
    if headless or "textual_image.widget" in sys.modules:
        from layerlab.tui.widgets.picture import Picture

        return Picture, "auto"
    terminal = sys.__stdout__
    try:
        sys.__stdout__ = io.StringIO()  # not a tty: textual-image sends no query
        from layerlab.tui.widgets.picture import Picture
    finally:
        sys.__stdout__ = terminal
    return Picture, "halfcell"
