"""The end of a run in a panel: best epoch and metrics, epochs run, why it stopped, time, run folder.

The words are core.words.summary_text's, the same the command prints and summary.txt holds; the
panel adds where to go next (Inspect, Runs, train again).
"""

from __future__ import annotations

from layerlab.core import events, words
from rich.text import Text
from textual.widgets import Static

NEXT_KEYS = "5 inspect the trained model · 6 runs · r or t trains again"


class TrainSummary(Static):
    """Hidden while training; after a run, what it achieved and the keys to go on."""

    def __init__(self, **kwargs) -> None:
        super().__init__("", markup=False, **kwargs)
        self.border_title = "summary"

    def show_finished(self, done: events.Finished) -> None:
        """Show a finished run (completed, early stopping, stopped, or diverged)."""
        title = "diverged" if done.reason == "nan" else "finished"
        text = Text()
        for line in words.summary_text(done).splitlines():
            name, _, value = line.partition(": ")
            text.append(f"{name}: ", style="bold")
            text.append(value + "\n")
        text.append(NEXT_KEYS, style="italic")
        self.border_title = title
        self.set_class(done.reason == "nan", "-bad")
        self.update(text)

    def show_killed(self, run_dir: str, epochs: int) -> None:
        """Show a run whose writer died without ending it (another process's, followed here)."""
        text = Text("The process writing this run is gone: it did not end the run.\n", style="bold")
        text.append(f"epochs kept: {epochs} (model.keras holds the best so far)\n")
        text.append(f"run folder: {run_dir}\n")
        text.append(f"layerlab train --resume {run_dir} continues it.", style="italic")
        self.border_title = "killed"
        self.set_class(True, "-bad")
        self.update(text)

    def show_failed(self, error: str, run_dir: str = "") -> None:
        """Show a run that could not start, or broke down while training."""
        text = Text(error + "\n", style="bold")
        if run_dir:
            text.append(f"run folder: {run_dir}\n")
        text.append("Fix it (1 data, 2 build, 3 device), then press t.", style="italic")
        self.border_title = "not trained"
        self.set_class(True, "-bad")
        self.update(text)
