"""The Keras callbacks a training session adds to `model.fit`, and the control object they share.

The callbacks know nothing of the session: they read and write one `Control` (flags any thread may
set, counters the training thread keeps) and publish through it. Keras' own EarlyStopping decides
when to stop and which weights are best; CSVLogger writes history.csv.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from . import events
from .checkpoint import BACKUP_EVERY_S, RunFilesWriter, Weights, take_resume_state


class RunWriteError(OSError):
    """The run folder could not be written (a full disk, a folder made read-only)."""


class Control:
    """What the callbacks share with the session that runs them.

    `stop`, `pause` and `resume` may be called from any thread; the counters belong to the
    training thread.
    """

    def __init__(self, publish: Callable[[events.Event], None]):
        self.publish = publish
        self.stop_requested = threading.Event()
        self.pause_requested = threading.Event()
        self.released = threading.Event()
        self.steps_per_epoch = 0
        self.epoch = 0
        """The epoch in progress, counted from 1."""
        self.epoch_started = 0.0
        self.stopped_at = 0
        self.nan: tuple[int, int] | None = None
        """(epoch, batch) where the loss first became NaN or infinite."""
        self.want_weights = False
        """Set by a screen that shows the weights: each epoch's end then hands them over."""
        self.latest_weights: Weights | None = None
        """The newest weights handed over: an immutable snapshot, replaced whole, never changed."""

    def stop(self) -> None:
        self.stop_requested.set()
        self.released.set()

    def pause(self) -> None:
        self.released.clear()
        self.pause_requested.set()

    def resume(self) -> None:
        self.pause_requested.clear()
        self.released.set()


class Pacing(keras.callbacks.Callback):
    """Pause and stop between batches; time and announce each epoch."""

    def __init__(self, control: Control):
        super().__init__()
        self.control = control

    def on_epoch_begin(self, epoch, logs=None):
        control = self.control
        control.epoch = epoch + 1
        control.epoch_started = time.perf_counter()
        control.publish(events.EpochStarted(control.epoch))

    def on_train_batch_begin(self, batch, logs=None):
        control = self.control
        if control.pause_requested.is_set() and not control.stop_requested.is_set():
            control.publish(events.Paused(control.epoch))
            while control.pause_requested.is_set() and not control.stop_requested.is_set():
                control.released.wait(0.1)
            control.publish(events.Resumed(control.epoch))
        if control.stop_requested.is_set():
            self.model.stop_training = True
            control.stopped_at = control.epoch


class BatchReports(keras.callbacks.Callback):
    """Reports each batch's loss and ends the run on a NaN or infinite loss (TerminateOnNaN's test,
    with the place it happened kept for the event)."""

    # Off the training loop only under TensorFlow: JAX may free a step's outputs (donated
    # buffers) before a callback running beside the next step reads them.
    async_safe = keras.backend.backend() == "tensorflow"

    def __init__(self, control: Control):
        super().__init__()
        self.control = control

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", math.nan))
        control = self.control
        if not math.isfinite(loss):
            if control.nan is None:
                control.nan = (control.epoch, batch + 1)
                control.publish(events.NanDetected(control.epoch, batch + 1))
            self.model.stop_training = True
            return
        control.publish(events.BatchEnded(control.epoch, batch + 1, control.steps_per_epoch, loss))


class Minibatches(keras.callbacks.Callback):
    """A linear unit's minibatch and line after each step, at most `per_second` times a second:
    the SGD lesson's picture, live. `feed` is the PyDataset fit reads (its batch order tells
    which rows a step used)."""

    def __init__(self, control: Control, feed: Any, x: Any, y: Any, per_second: float = 10.0):
        super().__init__()
        self.control, self.feed, self.x, self.y = control, feed, x, y
        self.every = 1.0 / per_second
        self.last = 0.0

    def on_train_batch_end(self, batch, logs=None):
        now = time.monotonic()
        if now - self.last < self.every:
            return
        self.last = now
        size = self.feed.batch_size
        rows = self.feed.order[batch * size : (batch + 1) * size]
        w, b = _line(self.model)
        self.control.publish(
            events.Minibatch(
                self.control.epoch,
                batch + 1,
                [float(v) for v in np.asarray(self.x)[rows].ravel()],
                [float(v) for v in np.asarray(self.y)[rows].ravel()],
                w,
                b,
            )
        )


def _line(model: keras.Model) -> tuple[float, float]:
    """The (w, b) a one-unit Dense holds now. Under JAX the newest values live in the trainer's
    state while an epoch runs, not in the variables: they are read from there."""
    layer = model.layers[-1]
    values = []
    state = getattr(model, "_jax_state", None) or {}
    trainable = (
        state.get("trainable_variables") if not getattr(model, "_jax_state_synced", True) else None
    )
    for variable in (layer.kernel, layer.bias):
        value = variable
        if trainable:
            for i, known in enumerate(model.trainable_variables):
                if known is variable:
                    value = trainable[i]
        values.append(float(np.asarray(keras.ops.convert_to_numpy(value)).ravel()[0]))
    return values[0], values[1]


class EarlyStopping(keras.callbacks.EarlyStopping):
    """Keras' EarlyStopping that remembers whether it restored, and can pick up a resumed run."""

    def __init__(
        self, *args, resume_state: dict[str, Any] | None = None, resume_weights=None, **kwargs
    ):
        super().__init__(*args, **kwargs)
        self.resume_state = resume_state
        self.resume_weights = resume_weights
        self.restored = False

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        if self.resume_state:
            if "best" in self.resume_state:
                self.best = self.resume_state["best"]
            self.best_epoch = self.resume_state.get("best_epoch", 0)
            self.wait = self.resume_state.get("wait", 0)
            if self.restore_best_weights:
                self.best_weights = self.resume_weights

    def on_train_end(self, logs=None):
        super().on_train_end(logs)
        self.restored = self.restore_best_weights and self.best_weights is not None

    def state(self) -> dict[str, Any]:
        best = None if self.best is None or not math.isfinite(self.best) else float(self.best)
        return {"best": best, "best_epoch": self.best_epoch, "wait": self.wait}


def maximised(monitor: str) -> bool:
    """Whether a bigger monitored value is better (accuracy, AUC…), as Keras' mode="auto" decides.

    EarlyStopping asks Keras itself (mode="auto"); BestEpoch, which tracks the best epoch when early
    stopping is off, asks this. tests/test_errors.py checks both agree for every metric a spec takes.
    """
    name = monitor.removeprefix("val_")
    return "acc" in name or name in ("auc", "precision", "recall")


class BestEpoch(keras.callbacks.Callback):
    """Tracks the best epoch and its weights, and publishes each epoch's end.

    "Best" is the epoch early stopping would restore when it is on (its min_delta counts),
    otherwise the best monitored value.
    """

    def __init__(
        self,
        control: Control,
        history: list[dict[str, float]],
        monitor: str,
        early: EarlyStopping | None,
        *,
        resumed: dict[str, Any] | None = None,
        best_weights: Weights | None = None,
    ):
        super().__init__()
        self.control, self.history, self.monitor, self.early = control, history, monitor, early
        resumed = resumed or {}
        self.best_epoch: int = resumed.get("best_epoch_1", 0)
        self.best_logs: dict[str, float] = resumed.get("best_logs", {})
        self.best_value = resumed.get("best_value", math.inf)
        self.best_value = math.inf if self.best_value is None else self.best_value
        self._own_weights: Weights | None = best_weights
        self.sign = -1.0 if maximised(monitor) else 1.0

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self.history.append(logs)
        seconds = time.perf_counter() - self.control.epoch_started
        if self.early is not None:
            if self.early.best is not None and self.early.best_epoch + 1 != self.best_epoch:
                self.best_epoch = self.early.best_epoch + 1
                self.best_logs = self.history[self.early.best_epoch]
                if not self.early.restore_best_weights:
                    self._own_weights = Weights(self.best_epoch, self.model.get_weights())
        else:
            value = logs.get(self.monitor)
            if value is not None and math.isfinite(value) and self.sign * value < self.best_value:
                self.best_value = self.sign * value
                self.best_epoch = epoch + 1
                self.best_logs = logs
                self._own_weights = Weights(self.best_epoch, self.model.get_weights())
        wait = self.early.wait if self.early is not None else epoch + 1 - self.best_epoch
        patience = self.early.patience if self.early is not None else 0
        if self.control.want_weights:  # before the event, so a screen it wakes finds them
            self.control.latest_weights = Weights(epoch + 1, self.model.get_weights())
        self.control.publish(
            events.EpochEnded(epoch + 1, logs, seconds, self.best_epoch, wait, patience)
        )

    @property
    def best_weights(self) -> Weights | None:
        """The best epoch's weights as numpy arrays (early stopping's own copy where it keeps one)."""
        if self.early is not None and self.early.restore_best_weights:
            arrays = self.early.best_weights
            return (
                Weights(self.best_epoch, arrays) if arrays is not None and self.best_epoch else None
            )
        return self._own_weights

    def state(self) -> dict[str, Any]:
        value = self.best_value if math.isfinite(self.best_value) else None
        return {"best_epoch_1": self.best_epoch, "best_logs": self.best_logs, "best_value": value}


class SaveProgress(keras.callbacks.Callback):
    """Hands the best weights and, every few seconds, the resume state to the run's file writer.

    Runs after BestEpoch. A write that failed stops training with RunWriteError: the best weights
    are still in memory, and the session tries to write them once more.
    """

    def __init__(
        self,
        files: RunFilesWriter,
        best: BestEpoch,
        early: EarlyStopping | None,
        offered_epoch: int = 0,
    ):
        super().__init__()
        self.files, self.best, self.early = files, best, early
        self.offered_epoch = offered_epoch
        self.last_backup = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        if self.files.error is not None:
            raise RunWriteError(
                self.files.error.errno, self.files.error.strerror, self.files.error.filename
            )
        best = self.best.best_weights
        if best is not None and best.epoch != self.offered_epoch:
            self.offered_epoch = best.epoch
            self.files.offer_best(best)
        now = time.monotonic()
        if now - self.last_backup >= BACKUP_EVERY_S:
            self.last_backup = now
            self.files.offer_resume(self.resume_state(epoch + 1))

    def resume_state(self, epoch: int):
        state = {
            "tracker": self.best.state(),
            "early_stopping": self.early.state() if self.early else None,
        }
        return take_resume_state(self.model, epoch, self.best.best_weights, state)


class CaptureLast(keras.callbacks.Callback):
    """Keeps the last epoch's weights and resume state as training ends, before early stopping
    puts the best weights back (so it goes before EarlyStopping in the callback list)."""

    def __init__(self, control: Control, save: SaveProgress):
        super().__init__()
        self.control, self.save = control, save
        self.last: Weights | None = None
        self.resume = None

    def on_train_end(self, logs=None):
        done = len(self.save.best.history)
        if done and self.control.nan is None:
            self.last = Weights(done, self.model.get_weights())
            self.resume = self.save.resume_state(done)


class HistoryCSV(keras.callbacks.CSVLogger):
    """Keras' CSVLogger with epochs counted from 1, like every other place in layerlab."""

    def on_epoch_end(self, epoch, logs=None):
        super().on_epoch_end(epoch + 1, logs)
