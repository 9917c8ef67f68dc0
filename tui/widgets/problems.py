"""The builder's problem panel: why the stack cannot be built and how to fix it, and head warnings."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class ProblemPanel(Static):
    """Empty and hidden while all is well; never blocks further edits."""

    def __init__(self) -> None:
        super().__init__(id="problems")
        self.border_title = "Problems"

    def refresh_from(self, workspace) -> None:
        text = Text()
        status = workspace.status
        data_error = status.data.error
        if data_error:
            text.append("data: ", style="bold")
            text.append(data_error + "\n")
        check = status.check.result
        if check is not None and check.error:
            text.append(check.error + "\n", style="bold")
        report = check.report if check is not None else None
        error = report.error if report is not None else None
        if error is not None:
            where = (
                f"layers[{error.index}] {workspace.spec.layers[error.index].type}: "
                if _valid(error.index, workspace)
                else ""
            )
            text.append("✗ " + where, style="bold")
            text.append(error.problem + "\n")
            if error.fix:
                text.append("  fix: ", style="bold")
                text.append(error.fix + "\n")
        for warning in check.warnings if check is not None else []:
            text.append("⚠ ", style="bold")
            text.append(warning + "\n")
        text.rstrip()
        self.update(text)
        self.set_class(bool(text.plain), "-shown")
        self.set_class(
            error is not None or bool(data_error) or bool(check and check.error), "-error"
        )


def _valid(index: int | None, workspace) -> bool:
    return index is not None and 0 <= index < len(workspace.spec.layers)
