"""The Runs screen: every run folder under RUNS, its curves and summary, and runs compared side by side.

The course's capacity lesson compares a wide and a deep model by their validation curves: mark
runs with space and their curves share one plot. While the screen is shown it follows RUNS (a
follower, tui.following and core.follow): a run another process writes gains its epochs as they
end, and reads "killed" once its process is gone; enter opens a run on the Train screen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial

from layerlab.core import events, runs, words
from layerlab.core import spec as specs
from layerlab.core.errors import log_failure
from layerlab.core.follow import follow_runs
from layerlab.tui.following import Following
from layerlab.tui.messages import TrainRequested
from layerlab.tui.screen import ShellScreen
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Static
from textual_plotext import PlotextPlot

COLORS = ("cyan+", "orange+", "green+", "magenta+", "yellow+", "blue+")


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
        Binding("space", "mark", "Compare"),
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
        self.marked: list[str] = []
        """Folder names of the runs compared in the plot (the cursor's run when empty)."""
        self.metric = "val_loss"
        self._follower = Following(self, "runs")

    def compose_body(self) -> ComposeResult:
        with Horizontal(id="runs-main"):
            with Vertical(id="runs-left"):
                yield DataTable(id="runs-table", cursor_type="row", zebra_stripes=True)
                yield Static(id="runs-summary")
            yield PlotextPlot(id="runs-plot")

    def on_mount(self) -> None:
        table = self.query_one("#runs-table", DataTable)
        table.add_columns(" ", "started", "name", "status", "epochs", "best")
        self.query_one("#runs-plot", PlotextPlot).border_title = "runs"

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
        current = self._current()
        self.records = records
        table = self.query_one("#runs-table", DataTable)
        keep = table.cursor_row
        names = [r.path.name for r in records]
        if current is not None and current.path.name in names:
            keep = names.index(current.path.name)  # the cursor stays on its run as others come
        table.clear()
        for record in records:
            best = _short(record.problem) if record.problem else _best(record)
            s = record.started  # YYYYmmdd-HHMMSS
            started = f"{s[4:6]}-{s[6:8]} {s[9:11]}:{s[11:13]}" if s else ""
            table.add_row(
                "●" if record.path.name in self.marked else " ",
                started,
                record.name,
                _status(record.status),
                str(len(record.history)),
                best,
                key=record.path.name,
            )
        if not records:
            self.query_one("#runs-summary", Static).update(
                error or f"No runs yet in {runs.runs_root()}.\nPress t to train the current spec."
            )
        elif keep is not None:
            table.move_cursor(row=min(keep, len(records) - 1))
        self._draw()

    def _current(self) -> runs.RunRecord | None:
        table = self.query_one("#runs-table", DataTable)
        if not self.records or table.cursor_row is None:
            return None
        return self.records[min(table.cursor_row, len(self.records) - 1)]

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        record = self._current()
        if record is None:
            return
        done = record.finished
        if record.problem:
            text = f"damaged: {record.problem}\n{len(record.history)} epochs readable\nrun folder: {record.path}\n"
        elif done:
            text = words.summary_text(events.from_dict(done))
        else:
            text = f"{record.status}: {len(record.history)} epochs written\nrun folder: {record.path}\n"
        self.query_one("#runs-summary", Static).update(text.rstrip())
        self._draw()

    def action_mark(self) -> None:
        record = self._current()
        if record is None:
            return
        name = record.path.name
        if name in self.marked:
            self.marked.remove(name)
        else:
            self.marked.append(name)
        table = self.query_one("#runs-table", DataTable)
        table.update_cell(name, table.ordered_columns[0].key, "●" if name in self.marked else " ")
        self._draw()

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
        by_name = {r.path.name: r for r in self.records}
        shown = [by_name[n] for n in self.marked if n in by_name]
        if not shown:
            current = self._current()
            shown = [current] if current else []
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
                    label=record.name[:24],
                    color=COLORS[i % len(COLORS)],
                    marker="braille",
                )
        plt.xlabel("epoch")
        plot.border_title = (
            f"{metric} · {'compared' if self.marked else 'selected run'} (space marks, m metric)"
        )
        plot.refresh()

    def action_open_spec(self) -> None:
        """Work on the spec a run used (its exact copy), keeping unsaved work safe."""
        record = self._current()
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
        """Show the run under the cursor on the Train screen, following it while it is written."""
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
        record = self._current()
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


def _status(status: str) -> Text:
    """A run's status for the list: a live one stands out."""
    if status == "running":
        return Text("▶ running", style="bold green")
    return Text(status, style="red" if status in ("killed", "damaged", "failed") else "")


RESUMABLE = ("stopped", "killed", "failed")
"""Statuses a run can be continued from: it ended before its epochs ran."""


def _best(record: runs.RunRecord) -> str:
    """The run's best validation values, e.g. "val_loss 0.4211, val_accuracy 0.8800"."""
    shown = [
        (k, v)
        for k, v in record.best.items()
        if k.startswith("val_") and isinstance(v, int | float)
    ]
    return ", ".join(f"{k} {v:.4f}" for k, v in shown[:2]) or "—"


def _short(text: str, width: int = 48) -> str:
    """A damaged run's reason, cut to fit the list (the summary below shows it whole)."""
    return text if len(text) <= width else text[: width - 1] + "…"
