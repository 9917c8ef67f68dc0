"""The Data screen's preview: the first rows, each column's statistics (checked = a feature),
the target's class balance or distribution, or an image set's classes and a few of its images.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import DataTable, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual_plotext import PlotextPlot

if TYPE_CHECKING:
    from screens.data_facts import ColumnFacts, Preview

NAME_WIDTH = 20
STAT_WIDTH = 8


def _stat(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def column_line(facts: ColumnFacts, width: int, target: bool = False) -> Text:
    """One column's statistics as a fixed-width line; the target is marked."""
    name = facts.name if len(facts.name) <= width else facts.name[: width - 1] + "…"
    line = Text(f"{name:<{width}} {facts.kind:<5} {facts.missing:>7} ")
    line.append(" ".join(f"{_stat(v):>{STAT_WIDTH}}" for v in (facts.low, facts.high, facts.mean)))
    if target:
        line.append("  ← target", style="bold")
    return line


def header_line(width: int) -> str:
    stats = " ".join(f"{h:>{STAT_WIDTH}}" for h in ("min", "max", "mean"))
    return f"    {'column':<{width}} {'type':<5} {'missing':>7} {stats}"


class DataPreview(VerticalScroll):
    """What a data source holds, shown before and after it is used."""

    def __init__(self) -> None:
        super().__init__(id="data-preview")
        self.border_title = "Preview"
        self.preview: Preview | None = None
        self._width = NAME_WIDTH

    def compose(self) -> ComposeResult:
        yield Static("", id="data-summary")
        yield DataTable(id="data-rows", zebra_stripes=True, cursor_type="none", show_cursor=False)
        yield Static("", id="data-columns-head")
        yield SelectionList[str](id="data-columns")
        yield Horizontal(id="data-samples")
        yield PlotextPlot(id="data-balance")
        yield Static("", id="data-notes")

    def clear(self, text: str) -> None:
        """Nothing to preview: say why (loading, or the error)."""
        self.preview = None
        self.border_title = "Preview"
        self.query_one("#data-summary", Static).update(text)
        self.query_one("#data-notes", Static).update("")
        self.remove_class("-table", "-images")

    def show(self, preview: Preview, target: str | None, drop: list[str]) -> None:
        """Show a preview; in a table, `drop`'s columns are unchecked and `target` is marked."""
        self.preview = preview
        self.border_title = f"Preview · {preview.title} · {preview.size}"
        self.set_class(preview.kind == "table", "-table")
        self.set_class(preview.kind == "images", "-images")
        self.query_one("#data-summary", Static).update("\n".join(preview.notes[-2:]) if preview.kind == "images" else "")
        if preview.kind == "table":
            self._show_rows(preview)
            self._show_columns(preview, target, drop)
        else:
            self._show_samples(preview)
            self.draw_bars("images per class", preview.classes)

    def _show_rows(self, preview: Preview) -> None:
        table = self.query_one("#data-rows", DataTable)
        table.clear(columns=True)
        table.add_columns(*preview.header)
        table.add_rows(preview.rows)

    def _show_columns(self, preview: Preview, target: str | None, drop: list[str]) -> None:
        self._width = max(6, min(NAME_WIDTH, max((len(c.name) for c in preview.columns), default=6)))
        self.query_one("#data-columns-head", Static).update(header_line(self._width))
        columns = self.query_one("#data-columns", SelectionList)
        columns.clear_options()
        columns.add_options(
            Selection(column_line(c, self._width, c.name == target), c.name, c.name not in drop, disabled=c.name == target)
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
                columns.replace_option_prompt_at_index(index, column_line(facts, self._width, is_target))
                if is_target:
                    columns.disable_option_at_index(index)
                else:
                    columns.enable_option_at_index(index)
        facts = preview.column(target)
        if facts is None or not facts.bars:
            self.draw_bars("", [])
            return
        classified = (task or facts.task) in ("binary", "multiclass")
        self.draw_bars(f"class balance of {target}" if classified else f"distribution of {target}", facts.bars)

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
        """A horizontal bar per class (or bin), or nothing."""
        plot = self.query_one("#data-balance", PlotextPlot)
        plot.display = bool(bars)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        if bars:
            labels = [label[:12] for label, _ in bars]
            plt.bar(labels, [value for _, value in bars], orientation="horizontal", width=0.6)
            plot.border_title = title
        plot.refresh()

    def _show_samples(self, preview: Preview) -> None:
        # Imported here: textual-image loads only when there are pictures to draw.
        from tui.widgets.picture import Picture

        box = self.query_one("#data-samples", Horizontal)
        box.remove_children()
        box.mount_all(Picture(image, title=name[:14]) for name, image in preview.samples)
