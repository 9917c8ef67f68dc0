"""The Runs screen: every run folder under RUNS, its curves and summary, and runs compared side by side.

The course's capacity lesson compares a wide and a deep model by their validation curves: mark
runs with space and their curves share one plot. A sweep's runs are listed together under their
sweep, each named by its settings, and g overlays them all (the SGD lesson's learning rate ×
batch size exercise). While the screen is shown it follows RUNS (a follower, tui.following and
core.follow): a run another process writes gains its epochs as they end, and reads "killed" once
its process is gone; enter opens a run on the Train screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

from layerlab.core import events, runs, words
from layerlab.core import spec as specs
from layerlab.core.errors import log_failure
from layerlab.core.follow import follow_runs
from layerlab.screens.runs_table import (
    COLORS,
    MARK_STYLES,
    Column,
    Row,
    SweepGroup,
    arrange,
    best_label,
    cells,
    ellipsized,
    plan_columns,
    row_key,
    sweep_summary,
)
from layerlab.tui.following import Following
from layerlab.tui.messages import TrainRequested
from layerlab.tui.screen import ShellScreen
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

LEGEND_WIDTH = 22
"""A curve's name in the plot's legend is cut to this many characters."""


class RunsScreen(ShellScreen):
    """Every training run, newest first."""

    MODE = "runs"
    TITLE = "Runs"
    BINDINGS = [
        Binding(
            "enter",
            "open_run",
            "Open",
            tooltip="Show the run on the Train screen (following it while its process writes it)",
            priority=True,  # before the table's own (hidden) enter, so the footer shows it
        ),
        Binding(
            "space", "mark", "Compare", tooltip="Mark or unmark the run: marked runs share the plot"
        ),
        Binding(
            "g",
            "mark_sweep",
            "Sweep",
            tooltip="Mark or unmark every run of the cursor's sweep: their curves overlay, named by their settings",
        ),
        Binding("m", "next_metric", "Metric"),
        Binding("o", "open_spec", "Open spec"),
        Binding(
            "R",
            "resume",
            "Resume",
            tooltip="Continue a stopped, killed or failed run from its last saved epoch",
        ),
        Binding("f5", "refresh", "Refresh", tooltip="Read every run folder again"),
    ]

    @dataclass
    class RunsRead(Message):
        """Every run under RUNS, newest first, read again because one changed (from the follower)."""

        records: list[runs.RunRecord]

        def can_replace(self, message: Message) -> bool:
            return isinstance(message, RunsScreen.RunsRead)  # the newer list has it all

    @dataclass
    class RunsUnreadable(Message):
        """RUNS itself cannot be read, in words."""

        error: str

    def __init__(self) -> None:
        super().__init__()
        self.records: list[runs.RunRecord] = []
        """Every run under RUNS, newest first."""
        self.rows: list[Row] = []
        """The list's rows: the runs, each sweep's together under a group row."""
        self.marked: list[str] = []
        """Folder names of the runs compared in the plot (the cursor's run when empty)."""
        self.metric = "val_loss"
        self._columns: list[Column] = []
        self._follower = Following(self, "runs")

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="runs-main"):
            with Vertical(id="runs-left"):
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="runs-summary")
            yield PlotextPlot(id="runs-plot")

    def on_mount(self) -> None:
        self.query_one("#runs-plot", PlotextPlot).border_title = "runs"

    def on_resize(self) -> None:
        self.call_after_refresh(self._fill)  # the name column takes what the pane's width leaves

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def on_screen_suspend(self) -> None:
        self._follower.stop()  # nobody looks: the folders are read again on the way back

    def on_unmount(self) -> None:
        self._follower.stop()

    def action_refresh(self) -> None:
        """Read every run folder, then follow RUNS while the screen is shown."""
        root = runs.runs_root()
        self._follower.start(
            partial(follow_runs, root),
            f"reading the runs folder {root}",
            self.RunsRead,
            self.RunsUnreadable,
        )

    @on(RunsRead)
    def _runs_read(self, message: RunsRead) -> None:
        self._show(message.records)

    @on(RunsUnreadable)
    def _runs_unreadable(self, message: RunsUnreadable) -> None:
        self._show([], f"Cannot read {message.error.removeprefix('reading ')}")

    def _show(self, records: list[runs.RunRecord], error: str = "") -> None:
        self.records = records
        self._fill()
        if not records:
            self.query_one("#runs-summary", Static).update(
                error or f"No runs yet in {runs.runs_root()}.\nPress t to train the current spec."
            )
        self._draw()

    def _fill(self) -> None:
        """(Re)write the list from self.records, the cursor staying on its row as others come."""
        table = self.query_one("#runs-table", DataTable)
        current = self._row()
        keep = table.cursor_row
        self.rows = arrange(self.records)
        keys = [row_key(row) for row in self.rows]
        if current is not None and row_key(current) in keys:
            keep = keys.index(row_key(current))
        header = best_label(self.records)
        width = table.scrollable_content_region.width or self.size.width // 2
        columns = plan_columns(width, header)
        if columns != self._columns:
            table.clear(columns=True)
            for column in columns:
                table.add_column(column.label, width=column.width, key=column.key)
            self._columns = columns
        else:
            table.clear()
        for row in self.rows:
            table.add_row(*self._cells(row, header), key=row_key(row))
        if self.rows and keep is not None:
            table.move_cursor(row=min(keep, len(self.rows) - 1))

    def _cells(self, row: Row, header: str) -> list:
        if isinstance(row, SweepGroup):
            return cells(row, self._columns, row.name, None, header)
        name = row.path.name
        mark = (
            MARK_STYLES[COLORS[self.marked.index(name) % len(COLORS)]]
            if name in self.marked
            else None
        )
        return cells(row, self._columns, self._label(row), mark, header)

    def _label(self, record: runs.RunRecord) -> str:
        """What the list and the legend call a run: its settings within a sweep, else its name."""
        group = self._group(record)
        return group.labels.get(record.path.name, record.name) if group else record.name

    def _group(self, record: runs.RunRecord) -> SweepGroup | None:
        if record.sweep is None:
            return None
        return next(
            (r for r in self.rows if isinstance(r, SweepGroup) and r.name == record.sweep.name),
            None,
        )

    def _row(self) -> Row | None:
        """The row under the cursor: a run or a sweep's group row."""
        table = self.query_one("#runs-table", DataTable)
        if not self.rows or table.cursor_row is None:
            return None
        return self.rows[min(table.cursor_row, len(self.rows) - 1)]

    def _current(self) -> runs.RunRecord | None:
        """The run under the cursor (None on a sweep's group row)."""
        row = self._row()
        return row if isinstance(row, runs.RunRecord) else None

    def _cursor_sweep(self) -> SweepGroup | None:
        """The sweep of the cursor's row: the group row itself, or the sweep a run belongs to."""
        row = self._row()
        if isinstance(row, SweepGroup):
            return row
        return self._group(row) if row is not None else None

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        row = self._row()
        if row is None:
            return
        if isinstance(row, SweepGroup):
            text = sweep_summary(row)
        elif row.problem:
            text = f"damaged: {row.problem}\n{len(row.history)} epochs readable\nrun folder: {row.path}\n"
        elif done := row.finished:
            text = words.summary_text(events.from_dict(done))
        else:
            text = f"{row.status}: {len(row.history)} epochs written\nrun folder: {row.path}\n"
        if isinstance(row, runs.RunRecord) and row.sweep is not None:
            seed = f" seed {row.sweep.seed}" if row.sweep.seed is not None else ""
            text = f"sweep {row.sweep.name}: {row.sweep.label(seed=False)}{seed}\n{text}"
        self.query_one("#runs-summary", Static).update(text.rstrip())
        self._draw()

    def action_mark(self) -> None:
        """Mark or unmark the cursor's run (on a sweep's row: all its runs)."""
        record = self._current()
        if record is None:
            self.action_mark_sweep()
            return
        name = record.path.name
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        self._marks_changed()

    def action_mark_sweep(self) -> None:
        """Mark every run of the cursor's sweep, or unmark them all when they all are marked."""
        group = self._cursor_sweep()
        if group is None:
            self.notify(
                "This run is not part of a sweep (layerlab sweep SPEC --set KEY=V1,V2 makes one).",
                severity="warning",
            )
            return
        names = [r.path.name for r in group.records]
        if all(n in self.marked for n in names):
            self.marked = [n for n in self.marked if n not in names]
        else:
            self.marked += [n for n in names if n not in self.marked]
        self._marks_changed()

    def _marks_changed(self) -> None:
        """Redraw the marks (their colours follow the order of marking) and the plot."""
        table = self.query_one("#runs-table", DataTable)
        header = best_label(self.records)
        for row in self.rows:
            if isinstance(row, runs.RunRecord):
                table.update_cell(row.path.name, "name", self._cells(row, header)[self._name_at()])
        self._draw()

    def _name_at(self) -> int:
        return next(i for i, c in enumerate(self._columns) if c.key == "name")

    def action_next_metric(self) -> None:
        names = sorted({k for r in self._shown() for row in r.history for k in row if k != "epoch"})
        if names:
            self.metric = (
                names[(names.index(self.metric) + 1) % len(names)]
                if self.metric in names
                else names[0]
            )
            self._draw()

    def _shown(self) -> list[runs.RunRecord]:
        """The runs in the plot: the marked ones, else the cursor's run or sweep."""
        by_name = {r.path.name: r for r in self.records}
        shown = [by_name[n] for n in self.marked if n in by_name]
        if not shown:
            row = self._row()
            shown = row.records if isinstance(row, SweepGroup) else [row] if row else []
        return shown

    def _draw(self) -> None:
        plot = self.query_one("#runs-plot", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.theme("clear")
        shown = self._shown()
        metric = self.metric
        if shown and not any(metric in row for r in shown for row in r.history):
            metric = "loss"
        for i, record in enumerate(shown):
            points = [
                (row.get("epoch", n + 1), row[metric])
                for n, row in enumerate(record.history)
                if metric in row and math.isfinite(row[metric])
            ]
            if points:
                xs, ys = zip(*points, strict=True)
                plt.plot(
                    list(xs),
                    list(ys),
                    label=ellipsized(self._label(record), LEGEND_WIDTH),
                    color=COLORS[i % len(COLORS)],
                    marker="braille",
                )
        plt.xlabel("epoch")
        row = self._row()
        what = (
            "compared"
            if self.marked
            else f"sweep {row.name}"
            if isinstance(row, SweepGroup)
            else "selected run"
        )
        plot.border_title = f"{metric} · {what} (space marks, g sweep, m metric)"
        plot.refresh()

    def _run_to(self, doing: str) -> runs.RunRecord | None:
        """The run under the cursor; on a sweep's group row, None after saying to pick a run."""
        row = self._row()
        if isinstance(row, SweepGroup):
            self.notify(
                f"This row is sweep {row.name} ({len(row.records)} runs): move to one of its runs "
                f"to {doing} it; g overlays them all.",
                severity="warning",
            )
            return None
        return row

    def action_open_spec(self) -> None:
        """Work on the spec a run used (its exact copy), keeping unsaved work safe."""
        record = self._run_to("open the spec of")
        if record is None:
            return
        spec = self._run_spec(record, "open")
        if spec is None:
            return
        if self.workspace.dirty:
            self.notify(
                "Save or undo your changes first (ctrl+s): the current spec has unsaved edits.",
                severity="warning",
            )
            return
        self.workspace.replace(spec, None, saved=False)
        self.notify(
            f"Working on the spec of run {record.path.name}; ctrl+s saves it.", title="Spec opened"
        )

    def _run_spec(self, record: runs.RunRecord, doing: str) -> specs.Spec | None:
        """The spec a run used, or None after saying why it cannot be read."""
        try:
            return specs.load(record.path / "spec.toml")
        except specs.SpecError as exc:
            log_failure(f"reading the spec of run {record.path.name} to {doing} it", exc)
            self.notify(exc.message, title=f"Cannot {doing} this run", severity="error")
            return None

    async def action_open_run(self) -> None:
        """Show the run under the cursor on the Train screen, following it while it is written.

        On a sweep's group row, overlay (or take away) the curves of all its runs instead.
        """
        if isinstance(self._row(), SweepGroup):
            self.action_mark_sweep()
            return
        record = self._current()
        if record is None:
            return
        if self.app.training:
            self.notify(
                "Training is running: s on the Train screen stops it first.", severity="warning"
            )
            return
        await self.app.follow(record.path)

    @on(DataTable.RowSelected, "#runs-table")
    async def _row_selected(self) -> None:
        await self.action_open_run()  # enter on the table, or a click on a row

    async def action_resume(self) -> None:
        """Continue the run under the cursor, in its own folder, on the Train screen."""
        record = self._run_to("resume")
        if record is None:
            return
        if record.status not in RESUMABLE:
            why = {
                "running": "it is still being written by another process",
                "damaged": "its folder is damaged",
            }
            self.notify(
                f"Run {record.path.name} cannot be resumed: {why.get(record.status, f'it ended ({record.status})')}.",
                severity="warning",
            )
            return
        if self.app.training:
            self.notify(
                "Training is running: s on the Train screen stops it first.", severity="warning"
            )
            return
        spec = self._run_spec(record, "resume")
        if spec is None:
            return
        await self.app.switch_mode("train")
        self.app.screen.post_message(TrainRequested(spec, None, resume=record.path))


RESUMABLE = ("stopped", "killed", "failed")
"""Statuses a run can be continued from: it ended before its epochs ran."""
