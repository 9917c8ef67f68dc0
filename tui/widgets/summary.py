"""The builder's summary: data and task, input and output shapes, parameters, loss and metrics."""

from __future__ import annotations

from layerlab.tui.widgets.layer_table import shape_text
from rich.table import Table
from textual.widgets import Static


class SummaryPanel(Static):
    """Totals of the last shape check, and what the task resolves loss and metrics to."""

    def __init__(self) -> None:
        super().__init__(id="summary")
        self.border_title = "Summary"

    def refresh_from(self, workspace) -> None:
        spec, status = workspace.spec, workspace.status
        dataset, check = status.data.dataset, status.check.result
        grid = Table.grid(padding=(0, 1))
        grid.add_column(style="bold", no_wrap=True)
        grid.add_column()
        data = spec.data.source()
        if dataset is not None:
            classes = f", {dataset.n_classes} classes" if dataset.n_classes > 2 else ""
            grid.add_row("data", f"{data} · {dataset.task}{classes}")
            grid.add_row("input", shape_text(tuple(dataset.input_shape)))
        else:
            grid.add_row("data", f"{data} · {status.data_words}")
            grid.add_row("input", "?")
        report = status.report
        if check is not None and report is not None and report.ok:
            grid.add_row("output", shape_text(report.output_shape))
            trainable = report.trainable_params
            frozen = (
                "all trainable" if trainable == report.total_params else f"{trainable:,} trainable"
            )
            grid.add_row("params", f"{report.total_params:,} · {frozen}")
            grid.add_row("loss", check.loss + (" (auto)" if spec.compile.loss == "auto" else ""))
            grid.add_row("metrics", ", ".join(check.metrics) or "none")
        else:
            waiting = "…" if status.pending else "—"
            for name in ("output", "params", "loss", "metrics"):
                grid.add_row(name, waiting)
        self.update(grid)
