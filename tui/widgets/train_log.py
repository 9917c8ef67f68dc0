"""The training event log: one line per event (start, each epoch, NaN, pause, stop, the end, errors).

`event_line` words each core event without any UI, so the log, its tests and any other view say
the same thing; `TrainLog` is a RichLog that keeps lines and writes them a few times a second.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import RichLog

from core import events
from tui.widgets.train_progress import duration, number

MAX_LINES = 5000
QUIET = (events.EpochStarted, events.BatchEnded, events.EpochEnded)
"""Events that come many times a run: their lines may wait; any other's is `urgent`."""


def logs_text(logs: dict[str, float]) -> str:
    """An epoch's logs, loss first, each value beside its val_ twin: loss 0.31 val 0.35  mae …"""
    names = sorted({key.removeprefix("val_") for key in logs}, key=lambda k: (k != "loss", k))
    parts = []
    for name in names:
        part = f"{name} {number(logs[name])}" if name in logs else name
        if f"val_{name}" in logs:
            part += f" val {number(logs[f'val_{name}'])}"
        parts.append(part)
    return "  ".join(parts)


def event_line(event: events.Event, epochs: int = 0) -> Text | None:
    """The log's line for one event, or None for events the log leaves out (batches, epoch starts).

    Args:
        event: A core event.
        epochs: The run's planned epoch count, shown as ``epoch 3/40``.
    """
    match event:
        case events.RunStarted(run_dir=run_dir, spec=spec, epochs=n, steps_per_epoch=steps):
            early = "early stopping on" if spec.get("early_stopping") else "early stopping off"
            text = (
                f"▶ training {spec.get('name', '')}: {n} epochs × {steps} batches of "
                f"{spec.get('batch_size', '?')}, {event.train_samples} training / "
                f"{event.valid_samples} validation samples, {early}"
            )
            line = Text(text, style="bold")
            if run_dir:
                line.append(f"\n  run folder {run_dir}", style="dim")
            return line
        case events.EpochEnded(epoch=epoch, logs=logs, seconds=seconds):
            of = f"/{epochs}" if epochs else ""
            line = Text(f"epoch {epoch}{of}  ", style="bold")
            line.append(logs_text(logs))
            line.append(f"  {seconds:.2f}s", style="dim")
            if event.patience and event.wait:
                line.append(f"  no improvement {event.wait}/{event.patience}", style="dim")
            if event.best_epoch == epoch:
                line.append("  ★ best", style="green")
            return line
        case events.NanDetected(epoch=epoch, batch=batch):
            return Text(
                f"✗ the loss became NaN (or infinite) at epoch {epoch}, batch {batch}: training "
                "diverged — lower the learning rate",
                style="bold red",
            )
        case events.Paused(epoch=epoch):
            return Text(f"⏸ paused in epoch {epoch} (space resumes)", style="yellow")
        case events.Resumed(epoch=epoch):
            return Text(f"▶ resumed in epoch {epoch}", style="yellow")
        case events.EarlyStopped(stopped_epoch=stopped, best_epoch=best, restored=restored):
            value = "" if event.best_value is None else f" ({event.monitor} {number(event.best_value)})"
            kept = (
                f"weights restored to epoch {best}{value}"
                if restored
                else f"best epoch {best}{value}; the model keeps epoch {stopped}'s weights "
                "(restore_best_weights is off)"
            )
            return Text(
                f"■ early stopping at epoch {stopped}: {event.monitor} did not improve by "
                f"min_delta within patience; {kept}",
                style="bold magenta",
            )
        case events.Stopped(epoch=epoch, restored_epoch=restored):
            kept = (
                f"weights restored to epoch {restored}"
                if restored
                else "the model keeps its last weights"
            )
            return Text(f"■ stopped by you in epoch {epoch}; {kept}", style="bold yellow")
        case events.Finished(epochs_run=run, best_epoch=best, reason=reason, seconds=seconds):
            why = {
                "completed": "ran every epoch",
                "early_stopping": "early stopping",
                "stopped": "stopped by you",
                "nan": "diverged (NaN)",
            }.get(reason, reason)
            return Text(
                f"✓ finished: {why}; {run} epochs in {duration(seconds)}, best epoch {best}",
                style="bold green" if reason != "nan" else "bold red",
            )
        case events.Failed(error=error):
            return Text(f"✗ training failed: {error}", style="bold red")
    return None


class TrainLog(RichLog):
    """Every training event, one line each, scrolling; `feed()` queues, `flush()` writes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(max_lines=MAX_LINES, min_width=20, wrap=True, markup=False, **kwargs)
        self.epochs = 0
        self._pending: list[Text] = []
        self.urgent = False
        """Whether a queued line should be written at the next flush (not an epoch line)."""
        self.plain: list[str] = []
        """Every line written, unwrapped, as plain text."""
        self.border_title = "events"

    def feed(self, event: events.Event) -> None:
        """Queue the line for a core event (written at the next flush)."""
        if isinstance(event, events.RunStarted):
            self.epochs = event.epochs
        line = event_line(event, self.epochs)
        if line is not None:
            self._pending.append(line)
            self.urgent = self.urgent or not isinstance(event, QUIET)

    def say(self, text: str, style: str = "") -> None:
        """Queue a line of the screen's own (a failed start, a hint), written at the next flush."""
        self._pending.append(Text(text, style=style))
        self.urgent = True

    @property
    def pending(self) -> bool:
        """Whether lines wait for the next flush."""
        return bool(self._pending)

    def flush(self) -> None:
        """Write the queued lines, following them unless the user scrolled up to read."""
        if not self._pending:
            return
        follow = self.is_vertical_scroll_end
        pending, self._pending, self.urgent = self._pending, [], False
        for line in pending:
            self.plain.append(line.plain)
            self.write(line, scroll_end=False)
        del self.plain[:-MAX_LINES]
        if follow:  # now, so the scroll joins this frame instead of making its own
            self.scroll_end(animate=False, immediate=True, x_axis=False)

    @property
    def text(self) -> str:
        """Everything written so far, as plain text, one line per event."""
        return "\n".join(self.plain)
