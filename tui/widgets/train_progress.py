"""Training progress: bars for epochs and for the running epoch's batches, speed, time left, patience.

`ProgressTracker` turns core events into a `ProgressView` without any UI (so it can be tested
alone); `TrainProgress` shows the latest view. Events may come dozens of times a second: the
widget only records them, and `flush()` (called a few times a second) repaints what changed.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace

from layerlab.core import events
from layerlab.core.words import duration, number
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar, Static

RECENT_EPOCHS = 5
"""Speed and time left come from the mean of this many recent epochs."""

STATES = {
    "idle": "press t to train",
    "preparing": "preparing: data, model…",
    "running": "▶ training",
    "pausing": "⏸ pausing…",
    "paused": "⏸ paused",
    "stopping": "■ stopping…",
    "finished": "✓ finished",
    "failed": "✗ failed",
    "following": "waiting for the run's first event…",
    "killed": "✗ killed: its process is gone",
}


@dataclass(frozen=True)
class ProgressView:
    """Everything the progress panel shows, as plain values."""

    state: str = "idle"
    """One of STATES' keys."""
    epoch: int = 0
    """The running (or last) epoch, counted from 1."""
    epochs: int = 0
    epochs_done: int = 0
    batch: int = 0
    steps: int = 0
    samples_per_s: float | None = None
    seconds_left: float | None = None
    at_most: bool = False
    """Early stopping is on: the time left is an upper bound."""
    wait: int = 0
    patience: int = 0
    best_epoch: int = 0
    best_text: str = ""


class ProgressTracker:
    """Follows one run's events; `view(now)` says where it stands."""

    def __init__(self) -> None:
        self.begin("idle")

    def begin(
        self, state: str = "preparing", history: list[dict[str, float]] | None = None
    ) -> None:
        """A new run was asked for: forget the last one.

        Args:
            state: What the panel says until the run's first event.
            history: The run's epoch logs (the run handle's list, which it alone fills).
        """
        self.view_state = ProgressView(state=state)
        self.train_samples = 0
        self.seconds: list[float] = []
        """Each finished epoch's seconds, as the training thread timed it."""
        self.epoch_began = 0.0
        self.history: list[dict[str, float]] = [] if history is None else history

    @property
    def epochs_done(self) -> int:
        return self.view_state.epochs_done

    def set_state(self, state: str) -> None:
        self.view_state = replace(self.view_state, state=state)

    def feed(self, event: events.Event, now: float | None = None) -> None:
        """Take one core event; `now` is when it arrived (time.monotonic())."""
        now = time.monotonic() if now is None else now
        v = self.view_state
        match event:
            case events.RunStarted(
                epochs=epochs, steps_per_epoch=steps, train_samples=n, spec=spec
            ):
                self.train_samples = n
                at_most = bool(spec.get("early_stopping"))
                state = "stopping" if v.state == "stopping" else "running"
                self.view_state = replace(
                    v, state=state, epochs=epochs, steps=steps, at_most=at_most
                )
            case events.EpochStarted(epoch=epoch):
                self.epoch_began = now
                self.view_state = replace(v, epoch=epoch, batch=0)
            case events.BatchEnded(epoch=epoch, batch=batch, steps=steps):
                self.view_state = replace(v, epoch=epoch, batch=batch, steps=steps or v.steps)
            case events.EpochEnded(epoch=epoch, seconds=seconds):
                self.seconds.append(seconds)
                best = event.best_epoch
                self.view_state = replace(
                    v,
                    epoch=epoch,
                    epochs_done=epoch,
                    batch=v.steps,
                    wait=event.wait,
                    patience=event.patience,
                    best_epoch=best,
                    best_text=self._best_text(best),
                )
            case events.Paused() if v.state != "stopping":
                self.set_state("paused")
            case events.Resumed() if v.state in ("paused", "pausing"):
                self.set_state("running")
            case events.EarlyStopped(best_epoch=best):
                self.view_state = replace(v, best_epoch=best, best_text=self._best_text(best))
            case events.Finished():
                self.set_state("finished")
            case events.Failed():
                self.set_state("failed")

    def view(self, now: float | None = None) -> ProgressView:
        """The view with speed and time left worked out as of `now`."""
        now = time.monotonic() if now is None else now
        v = self.view_state
        per_epoch = self._per_epoch(now)
        if per_epoch is None or v.state not in ("running", "pausing", "stopping"):
            left = 0.0 if v.state == "finished" else None
            rate = self.train_samples / per_epoch if per_epoch else v.samples_per_s
            return replace(v, seconds_left=left, samples_per_s=rate)
        running = v.batch / v.steps if v.steps and v.epoch > v.epochs_done else 0.0
        left = max(0.0, (v.epochs - v.epochs_done - running) * per_epoch)
        rate = self.train_samples / per_epoch if self.train_samples else None
        return replace(v, seconds_left=left, samples_per_s=rate)

    def _per_epoch(self, now: float) -> float | None:
        """Seconds an epoch takes: recent epochs (not the first, which traces), or this one so far."""
        done = self.seconds[1:] if len(self.seconds) > 1 else self.seconds
        if done:
            recent = done[-RECENT_EPOCHS:]
            return sum(recent) / len(recent)
        v = self.view_state
        if v.batch and v.steps and self.epoch_began:
            return (now - self.epoch_began) * v.steps / v.batch
        return None

    def _best_text(self, best: int) -> str:
        if not best or best > len(self.history):
            return ""
        logs = self.history[best - 1]
        key = "val_loss" if "val_loss" in logs else "loss"
        return f"{key} {number(logs.get(key, math.nan))}" if key in logs else ""


class TrainProgress(Vertical):
    """The side panel while training: state, two bars, speed and time left, patience, best epoch."""

    view: reactive[ProgressView] = reactive(ProgressView, init=False)
    """What the panel shows; set by `flush()`, repainted only when it changes."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.tracker = ProgressTracker()
        self.border_title = "training"

    def compose(self) -> ComposeResult:
        yield Static(STATES["idle"], id="progress-state", markup=False)
        with Horizontal(classes="progress-row"):
            yield Label("epochs", id="epochs-label", markup=False)
            yield ProgressBar(total=1, show_percentage=False, show_eta=False, id="epoch-bar")
        with Horizontal(classes="progress-row"):
            yield Label("batches", id="batches-label", markup=False)
            yield ProgressBar(total=1, show_percentage=False, show_eta=False, id="batch-bar")
        yield Static("", id="progress-facts", markup=False)

    def flush(self) -> None:
        """Show the tracker's latest view (a no-op when nothing visible changed)."""
        self.view = self.tracker.view()

    def watch_view(self, old: ProgressView, v: ProgressView) -> None:
        # Every line has a fixed size: updates repaint, never re-layout the screen.
        state = STATES.get(v.state, v.state)
        if v.state in ("running", "paused", "pausing", "stopping") and v.epochs:
            running = min(max(v.epoch, v.epochs_done + 1), v.epochs)  # its start may be on its way
            state += f" · epoch {running}/{v.epochs}"
        self.query_one("#progress-state", Static).update(state, layout=False)
        if (old.epochs_done, old.epochs) != (v.epochs_done, v.epochs):
            self.query_one("#epochs-label", Label).update(
                f"epochs {v.epochs_done}/{v.epochs or '?'}", layout=False
            )
            self.query_one("#epoch-bar", ProgressBar).update(
                total=max(v.epochs, 1), progress=v.epochs_done
            )
        if (old.batch, old.steps) != (v.batch, v.steps):
            self.query_one("#batches-label", Label).update(
                f"batches {v.batch}/{v.steps or '?'}", layout=False
            )
            self.query_one("#batch-bar", ProgressBar).update(
                total=max(v.steps, 1), progress=v.batch
            )
        self.query_one("#progress-facts", Static).update(facts(v), layout=False)


def facts(v: ProgressView) -> str:
    """The panel's last three lines: speed and time left, patience, the best epoch."""
    speed = f"{v.samples_per_s:,.0f} samples/s" if v.samples_per_s else "— samples/s"
    if v.seconds_left is not None:
        bound = "≤ " if v.at_most and v.state != "finished" else ""
        speed += f" · {bound}{duration(v.seconds_left)} left"
    if v.patience:
        patience = f"no improvement {v.wait}/{v.patience}"
    else:
        patience = "early stopping off" if v.epochs else ""
    best = f"best epoch {v.best_epoch}" + (f" · {v.best_text}" if v.best_text else "")
    return "\n".join((speed, patience, best if v.best_epoch else ""))
